"""Planning statements and sections: kinds, targets, locks, what they block, transactions."""

from __future__ import annotations

from pathlib import Path

import pytest

from console.core import plan as plan_module
from console.core.lint import squawk_executable
from console.core.locks import LOCK_BLOCKS, describe_lock, heaviest
from console.core.migration_file import parse_migration, parse_migration_text
from console.core.model import IndexColumn, IndexSpec, Section, Statement, StatementPlan
from console.core.plan import (
    plan_migration,
    plan_section,
    plan_statement,
    section_indexes,
)
from console.errors import BadInput, TransactionControl

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = ROOT / "migrations" / "add_composite_indexes_20251123.sql"

AS, RS, RX, SUE = "ACCESS SHARE", "ROW SHARE", "ROW EXCLUSIVE", "SHARE UPDATE EXCLUSIVE"
SH, SRX, EX, AX = "SHARE", "SHARE ROW EXCLUSIVE", "EXCLUSIVE", "ACCESS EXCLUSIVE"


def stmt(sql: str, line: int = 1) -> Statement:
    return Statement(sql=sql, line=line, column=1, number=1)


def section(sql: str, transaction: bool = True) -> Section:
    marker = "-- migrate:up" + ("" if transaction else " transaction:false")
    up = parse_migration_text(f"{marker}\n{sql}", Path("s.sql")).up
    assert up is not None
    return up


@pytest.mark.parametrize(
    ("sql", "kind", "targets", "lock", "transactional"),
    [
        ("CREATE INDEX i ON t (a)", "CREATE INDEX", ("t",), SH, True),
        (
            "CREATE INDEX CONCURRENTLY i ON s.t (a)",
            "CREATE INDEX CONCURRENTLY",
            ("s.t",),
            SUE,
            False,
        ),
        ("DROP INDEX i", "DROP INDEX", (), AX, True),
        ("DROP INDEX CONCURRENTLY IF EXISTS i", "DROP INDEX CONCURRENTLY", (), SUE, False),
        ("ANALYZE t", "ANALYZE", ("t",), SUE, True),
        ("ANALYZE", "ANALYZE", (), SUE, True),
        ("VACUUM t", "VACUUM", ("t",), SUE, False),
        ("VACUUM (ANALYZE) t", "VACUUM", ("t",), SUE, False),
        ("VACUUM FULL t", "VACUUM FULL", ("t",), AX, False),
        ("VACUUM (FULL false) t", "VACUUM", ("t",), SUE, False),
        ("CLUSTER t USING i", "CLUSTER", ("t",), AX, True),
        ("CLUSTER", "CLUSTER", (), AX, False),
        ("TRUNCATE a, b", "TRUNCATE", ("a", "b"), AX, True),
        ("DROP TABLE a, s.b", "DROP TABLE", ("a", "s.b"), AX, True),
        ("ALTER TABLE t ADD COLUMN x bigint", "ALTER TABLE", ("t",), AX, True),
        ("ALTER TABLE t VALIDATE CONSTRAINT c", "ALTER TABLE", ("t",), SUE, True),
        ("ALTER TABLE t ALTER COLUMN a SET STATISTICS 500", "ALTER TABLE", ("t",), SUE, True),
        ("ALTER TABLE t SET (fillfactor = 70)", "ALTER TABLE", ("t",), SUE, True),
        ("ALTER TABLE t RESET (autovacuum_enabled)", "ALTER TABLE", ("t",), SUE, True),
        (
            "ALTER TABLE t ADD CONSTRAINT fk FOREIGN KEY (u_id) REFERENCES u (id) NOT VALID",
            "ALTER TABLE",
            ("t", "u"),
            SRX,
            True,
        ),
        # the heaviest subcommand wins
        ("ALTER TABLE t VALIDATE CONSTRAINT c, ADD COLUMN y int", "ALTER TABLE", ("t",), AX, True),
        ("ALTER TABLE t DISABLE TRIGGER ALL", "ALTER TABLE", ("t",), SRX, True),
        ("ALTER TABLE p DETACH PARTITION p1 CONCURRENTLY", "ALTER TABLE", ("p", "p1"), SUE, False),
        ("ALTER TABLE p DETACH PARTITION p1", "ALTER TABLE", ("p", "p1"), AX, True),
        ("ALTER TABLE t RENAME COLUMN a TO b", "ALTER TABLE", ("t",), AX, True),
        ("ALTER INDEX i RENAME TO j", "ALTER INDEX", (), SUE, True),
        ("INSERT INTO t (a) SELECT a FROM u", "INSERT", ("t", "u"), RX, True),
        ("UPDATE t SET a = 1 FROM u WHERE u.id = t.id", "UPDATE", ("t", "u"), RX, True),
        ("DELETE FROM t WHERE a = 1", "DELETE", ("t",), RX, True),
        ("SELECT * FROM t JOIN s.u ON true", "SELECT", ("t", "s.u"), AS, True),
        ("WITH c AS (SELECT * FROM t) SELECT * FROM c", "SELECT", ("t",), AS, True),
        ("WITH u AS (SELECT 1 AS a) INSERT INTO t SELECT a FROM u", "INSERT", ("t",), RX, True),
        ("INSERT INTO t (a) VALUES (1), ((SELECT max(a) FROM u))", "INSERT", ("t", "u"), RX, True),
        ("SELECT * FROM t FOR UPDATE", "SELECT", ("t",), RS, True),
        ("SELECT 1", "SELECT", (), None, True),
        ("DO $$ BEGIN PERFORM 1; END $$", "DO", (), None, True),
        ("REINDEX TABLE t", "REINDEX", ("t",), SH, True),
        ("REINDEX INDEX CONCURRENTLY i", "REINDEX CONCURRENTLY", (), SUE, False),
        ("REINDEX (CONCURRENTLY) TABLE t", "REINDEX CONCURRENTLY", ("t",), SUE, False),
        ("REINDEX SCHEMA s", "REINDEX", (), SH, False),
        ("REINDEX DATABASE d", "REINDEX", (), SH, False),
        (
            "CREATE TRIGGER tr AFTER INSERT ON t FOR EACH ROW EXECUTE FUNCTION f()",
            "CREATE TRIGGER",
            ("t",),
            SRX,
            True,
        ),
        ("COMMENT ON TABLE t IS 'x'", "COMMENT", ("t",), SUE, True),
        ("COMMENT ON COLUMN s.t.a IS 'x'", "COMMENT", ("s.t",), SUE, True),
        ("SET lock_timeout = '5s'", "SET", (), None, True),
        ("RESET ALL", "RESET", (), None, True),
        ("REFRESH MATERIALIZED VIEW mv", "REFRESH MATERIALIZED VIEW", ("mv",), AX, True),
        (
            "REFRESH MATERIALIZED VIEW CONCURRENTLY mv",
            "REFRESH MATERIALIZED VIEW CONCURRENTLY",
            ("mv",),
            EX,
            True,
        ),
        ("CREATE TABLE n (id bigint)", "CREATE TABLE", ("n",), None, True),
        ("CREATE TABLE n (u_id bigint REFERENCES u)", "CREATE TABLE", ("n", "u"), SRX, True),
        ("CREATE TABLE p1 PARTITION OF p FOR VALUES IN (1)", "CREATE TABLE", ("p1", "p"), AX, True),
        ("LOCK TABLE t IN SHARE ROW EXCLUSIVE MODE", "LOCK TABLE", ("t",), SRX, True),
        ("CREATE DATABASE d", "CREATE DATABASE", (), None, False),
        ("DROP DATABASE d", "DROP DATABASE", (), None, False),
        ("ALTER SYSTEM SET work_mem = '64MB'", "ALTER SYSTEM", (), None, False),
        ("CREATE TABLESPACE ts LOCATION '/x'", "CREATE TABLESPACE", (), None, False),
        ("DROP TABLESPACE ts", "DROP TABLESPACE", (), None, False),
        ("CREATE EXTENSION pg_trgm", "CREATE EXTENSION", (), None, True),
        ("CREATE SEQUENCE sq", "CREATE SEQUENCE", (), None, True),
        ('SELECT * FROM s."MixedCase"', "SELECT", ('s."MixedCase"',), AS, True),
    ],
)
def test_plan_statement(
    sql: str, kind: str, targets: tuple[str, ...], lock: str | None, transactional: bool
) -> None:
    plan = plan_statement(stmt(sql))
    assert (plan.kind, plan.targets, plan.lock, plan.transactional) == (
        kind,
        targets,
        lock,
        transactional,
    )
    assert plan.blocks == (LOCK_BLOCKS[lock] if lock else ())


def test_lock_blocks_table() -> None:
    assert LOCK_BLOCKS == {
        AS: ("DDL",),
        RS: ("DDL",),
        RX: ("DDL",),
        SUE: ("DDL",),
        SH: ("writes", "DDL"),
        SRX: ("writes", "DDL"),
        EX: ("writes", "DDL"),
        AX: ("reads", "writes", "DDL"),
    }


def test_blocks_follow_the_lock() -> None:
    assert plan_statement(stmt("CREATE INDEX i ON t (a)")).blocks == ("writes", "DDL")
    assert plan_statement(stmt("DROP INDEX i")).blocks == ("reads", "writes", "DDL")
    assert plan_statement(stmt("CREATE INDEX CONCURRENTLY i ON t (a)")).blocks == ("DDL",)
    assert plan_statement(stmt("CREATE TABLE x (a int)")).blocks == ()


def test_describe_lock() -> None:
    assert describe_lock(SUE) == (
        "SHARE UPDATE EXCLUSIVE: reads and writes continue; "
        "other DDL, VACUUM and index builds on the table wait"
    )
    assert describe_lock(AX).startswith("ACCESS EXCLUSIVE: ")
    assert "SELECT" in describe_lock(AX)
    assert "writes" in describe_lock(SH)
    assert describe_lock(None).startswith("no lock")
    for mode in LOCK_BLOCKS:
        assert describe_lock(mode).startswith(mode + ": ")


def test_heaviest() -> None:
    assert heaviest([SUE, None, AX, SH]) == AX
    assert heaviest([AS, SUE]) == SUE
    assert heaviest([None]) is None


def test_unknown_nodes_fall_back_to_their_name_as_words() -> None:
    plan = plan_statement(stmt("CREATE FUNCTION f() RETURNS int LANGUAGE sql AS 'SELECT 1'"))
    assert (plan.kind, plan.lock, plan.transactional) == ("CREATE FUNCTION", None, True)


@pytest.mark.parametrize(
    "sql", ["BEGIN", "COMMIT", "ROLLBACK TO SAVEPOINT s", "SET TRANSACTION READ ONLY"]
)
def test_transaction_control_is_never_planned(sql: str) -> None:
    # parse_migration refuses these with the file's name; a Statement made by hand too
    with pytest.raises(TransactionControl) as caught:
        plan_statement(Statement(sql=sql, line=7, column=3, number=1))
    assert (caught.value.line, caught.value.column) == (7, 3)
    assert "controls the transaction, which the console owns" in caught.value.message


# -- index specs ----------------------------------------------------------------------------


def test_shipped_index_specs_exactly() -> None:
    m = parse_migration(SHIPPED)
    assert m.up is not None
    specs = plan_section(m.up).indexes
    assert [(s.name, s.table) for s in specs] == [
        ("idx_conversation_messages_user_contact_date", "conversation_messages"),
        ("idx_conversation_messages_user_type_date", "conversation_messages"),
        ("idx_call_costs_user_billing_date", "call_costs"),
        ("idx_scheduled_tasks_active", "scheduled_tasks"),
    ]
    assert [tuple((c.expression, c.descending) for c in s.columns) for s in specs] == [
        (("user_id", False), ("contact_id", False), ("created_at", True)),
        (("user_id", False), ("message_type", False), ("created_at", True)),
        (("user_id", False), ("billing_date", True)),
        (("user_id", False), ("scheduled_for", False)),
    ]
    assert all(s.concurrent and s.if_not_exists and s.method == "btree" for s in specs)
    assert all(not s.unique for s in specs)
    assert [s.predicate for s in specs[:3]] == [None, None, None]
    assert specs[3].predicate == "status IN ('pending', 'scheduled', 'running')"
    assert specs[3].statement_sql == m.up.statements[3].sql
    assert "'pending'" in specs[3].statement_sql


def test_index_spec_details() -> None:
    sql = (
        'CREATE UNIQUE INDEX IF NOT EXISTS "Idx" ON s.t USING gin '
        "(a DESC NULLS LAST, lower(b), (c + 1), d NULLS FIRST) WHERE deleted_at IS NULL"
    )
    plan = plan_statement(stmt(sql))
    assert plan.index == IndexSpec(
        name='"Idx"',
        table="s.t",
        columns=(
            IndexColumn("a", descending=True, nulls="LAST"),
            IndexColumn("lower(b)"),
            IndexColumn("c + 1"),
            IndexColumn("d", nulls="FIRST"),
        ),
        unique=True,
        method="gin",
        predicate="deleted_at IS NULL",
        concurrent=False,
        if_not_exists=True,
        statement_sql=sql,
    )


def test_unnamed_index_has_empty_name() -> None:
    plan = plan_statement(stmt("CREATE INDEX ON t (a)"))
    assert plan.index is not None
    assert plan.index.name == ""


def test_drop_index_names_the_index_not_the_table() -> None:
    plan = plan_statement(stmt("DROP INDEX CONCURRENTLY IF EXISTS s.idx_a"))
    assert plan.drops_index == "s.idx_a"
    assert plan.targets == ()
    assert plan.index is None
    assert plan_statement(stmt("DROP INDEX a, b")).drops_index == "a, b"


def test_create_table_is_not_a_table_the_section_needs() -> None:
    sp = plan_section(
        section(
            "CREATE TABLE n (id bigint, u_id bigint REFERENCES u);\n"
            "CREATE INDEX n_u ON n (u_id);\nINSERT INTO n SELECT 1, id FROM u;"
        )
    )
    assert sp.statements[0].creates_table == "n"
    assert sp.tables == ("u",)
    assert [i.name for i in sp.indexes] == ["n_u"]


def test_section_indexes_plans_only_create_statements(monkeypatch: pytest.MonkeyPatch) -> None:
    sp = section(
        "INSERT INTO t SELECT * FROM u;\ncreate index i ON t (a);\nANALYZE t;\n"
        "CREATE TABLE n (a int);\nCREATE UNIQUE INDEX CONCURRENTLY j ON s.n (a);\n"
    )
    every = plan_section(sp).indexes
    planned: list[str] = []

    def spy(statement: Statement) -> StatementPlan:
        planned.append(statement.sql)
        return plan_statement(statement)

    monkeypatch.setattr(plan_module, "plan_statement", spy)
    specs = section_indexes(sp)
    assert [(s.name, s.table) for s in specs] == [("i", "t"), ("j", "s.n")]
    assert specs == every
    assert [p.split()[1].upper() for p in planned] == ["INDEX", "TABLE", "UNIQUE"]


# -- sections ---------------------------------------------------------------------------------


def test_section_transaction_false_runs_in_autocommit() -> None:
    sp = plan_section(section("ANALYZE t;", transaction=False))
    assert sp.in_transaction is False
    assert sp.reason == (
        "runs statement by statement in autocommit: the file says transaction:false"
    )


def test_section_with_a_non_transactional_statement_runs_in_autocommit() -> None:
    sp = plan_section(section("ANALYZE t;\n\nCREATE INDEX CONCURRENTLY i ON t (a);\n"))
    assert sp.section.transaction is True
    assert sp.in_transaction is False
    assert sp.reason == (
        "runs statement by statement in autocommit: CREATE INDEX CONCURRENTLY cannot run "
        "inside a transaction block (line 4)"
    )


def test_transactional_section_runs_in_one_transaction() -> None:
    sp = plan_section(section("CREATE INDEX i ON t (a);\nANALYZE t;"))
    assert sp.in_transaction is True
    assert sp.reason == "runs in one transaction that rolls back whole on error"
    assert [p.statement.number for p in sp.statements] == [1, 2]


def test_shipped_sections() -> None:
    m = parse_migration(SHIPPED)
    assert m.up is not None
    assert m.down is not None
    up, down = plan_section(m.up), plan_section(m.down)
    assert not up.in_transaction
    assert not down.in_transaction
    assert up.tables == ("conversation_messages", "call_costs", "scheduled_tasks")
    assert [p.kind for p in up.statements] == ["CREATE INDEX CONCURRENTLY"] * 4 + ["ANALYZE"] * 3
    assert [p.kind for p in down.statements] == ["DROP INDEX CONCURRENTLY"] * 4 + ["ANALYZE"] * 3
    assert [p.drops_index for p in down.statements[:4]] == [s.name for s in up.indexes]
    assert all(p.lock == SUE and p.blocks == ("DDL",) for p in up.statements)


# -- migrations -------------------------------------------------------------------------------


def test_plan_migration_missing_section() -> None:
    m = parse_migration_text("-- migrate:up\nSELECT 1;\n", Path("no_down.sql"))
    with pytest.raises(BadInput, match="no `-- migrate:down` section"):
        plan_migration(m, "down")


def test_plan_migration_without_lint_or_without_a_file() -> None:
    m = parse_migration_text("-- migrate:up\nCREATE INDEX i ON t (a);\n", Path("/nowhere/x.sql"))
    assert plan_migration(m).findings == ()
    assert plan_migration(parse_migration(SHIPPED), "up", lint=False).findings == ()
    assert plan_migration(parse_migration(SHIPPED), "verify").findings == ()


needs_squawk = pytest.mark.skipif(squawk_executable() is None, reason="squawk is not installed")


@needs_squawk
def test_plan_migration_shipped_file_is_clean_by_default() -> None:
    plan = plan_migration(parse_migration(SHIPPED))
    assert plan.section.section.name == "up"
    assert plan.findings == ()


@needs_squawk
def test_plan_migration_keeps_findings_of_its_own_section_only(tmp_path: Path) -> None:
    path = tmp_path / "m.sql"
    path.write_text(
        "-- migrate:up\nCREATE INDEX i ON t (a);\n-- migrate:down\nDROP INDEX i;\n",
        encoding="utf-8",
    )
    m = parse_migration(path)
    up_rules = {f.rule for f in plan_migration(m, "up").findings}
    down_rules = {f.rule for f in plan_migration(m, "down").findings}
    assert "require-concurrent-index-creation" in up_rules
    assert "require-concurrent-index-deletion" not in up_rules
    assert "require-concurrent-index-deletion" in down_rules
    assert "require-concurrent-index-creation" not in down_rules
    assert all(f.line == 4 for f in plan_migration(m, "down").findings)
    assert "require-lock-timeout" not in up_rules
    assert "require-lock-timeout" in {f.rule for f in plan_migration(m, "up", ignore=()).findings}
