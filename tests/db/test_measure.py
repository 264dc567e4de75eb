"""Before/after measurement against a real server: plan shapes (never timings), refusals,
the READ ONLY transaction, history.toml round trips and index usage."""

from __future__ import annotations

from pathlib import Path

import asyncpg
import pytest

from console.connection import MONITOR
from console.core.history import HistoryStore
from console.core.measure import (
    AFTER,
    BASELINE,
    Measurement,
    check_compare_statement,
    compare,
    latest_measurement,
    measure,
    measure_database,
    save_measurement,
)
from console.core.migration_file import parse_migration, parse_migration_text
from console.core.model import Statement
from console.core.usage import index_usage, summary
from console.db.connect import close_quietly, connect
from console.errors import BadInput
from console.settings import resolve_connection
from tests.db.engine import run_migration
from tests.helpers import SHIPPED

INDEX = "idx_conversation_messages_user_contact_date"
UP = "-- migrate:up\nSELECT 1;\n"


def uses(paths: tuple[str, ...], index: str) -> bool:
    return any(
        p.startswith(("Index Scan", "Index Only Scan", "Bitmap Index Scan")) and index in p
        for p in paths
    )


def write(tmp_path: Path, compare_sql: str) -> Path:
    path = tmp_path / "m.sql"
    path.write_text(f"{UP}-- migrate:compare\n{compare_sql}")
    return path


async def test_baseline_seq_scan_then_index_scan_after_the_migration(db_url: str) -> None:
    settings = resolve_connection(db_url, env={})
    migration = parse_migration(SHIPPED)
    before = await measure_database(settings, migration, repeat=2)
    assert before.phase == BASELINE and len(before.queries) == 4
    first = before.queries[0]
    assert first.error is None and first.execution_ms is not None
    section = migration.section("compare")
    assert section is not None
    assert first.line == section.statements[0].line and "contact_id = 5" in first.sql
    assert not any("idx_" in p for p in first.access_paths), first.access_paths
    assert any("Seq Scan on conversation_messages" in p for p in first.access_paths)
    assert first.rows == 50

    result, _ = await run_migration(db_url)
    assert result.status == "succeeded", result.error

    after = await measure_database(settings, migration, repeat=2, phase=AFTER)
    assert uses(after.queries[0].access_paths, INDEX), after.queries[0].access_paths
    assert after.queries[0].rows == 50  # same answer, different path

    rows = compare(before, after)
    assert [r.line for r in rows] == [q.line for q in section.statements]
    assert rows[0].seq_scan_before and rows[0].uses_index_after
    assert rows[0].before_paths == first.access_paths
    assert all(r.change_pct is not None for r in rows)  # present; its value is never asserted

    conn = await connect(settings, MONITOR)
    try:
        usage = await index_usage(conn, migration)
    finally:
        await close_quietly(conn)
    assert [u.name for u in usage][0] == INDEX
    assert all(u.exists and u.valid for u in usage)
    assert usage[0].table == "conversation_messages"
    assert summary(usage).startswith("4 indexes: ")


async def test_index_usage_reports_missing_indexes(helper: asyncpg.Connection) -> None:
    usage = await index_usage(helper, parse_migration(SHIPPED))
    assert len(usage) == 4
    assert all(not u.exists and u.idx_scan is None and u.valid is None for u in usage)
    assert "missing: " + INDEX in summary(usage)


async def test_compare_section_with_dml_is_refused_before_anything_runs(
    helper: asyncpg.Connection, tmp_path: Path
) -> None:
    count = await helper.fetchval("SELECT count(*) FROM call_costs")
    migration = parse_migration(
        write(
            tmp_path,
            "SELECT 1;\nINSERT INTO call_costs (user_id, billing_date, amount_cents)"
            " VALUES (1, current_date, 1);\n",
        )
    )
    with pytest.raises(BadInput, match=r"m\.sql:5: the compare query is INSERT"):
        await measure(helper, migration)
    assert await helper.fetchval("SELECT count(*) FROM call_costs") == count


@pytest.mark.parametrize(
    ("sql", "why"),
    [
        ("WITH x AS (DELETE FROM call_costs RETURNING *) SELECT count(*) FROM x", "WITH"),
        ("SELECT * INTO copy_of_costs FROM call_costs", "SELECT INTO"),
        ("SELECT * FROM call_costs FOR UPDATE", "locks rows"),
        ("EXPLAIN ANALYZE DELETE FROM call_costs", "is EXPLAIN"),
        ("UPDATE call_costs SET amount_cents = 0", "is UPDATE"),
    ],
)
def test_only_plain_queries_may_be_explained(sql: str, why: str) -> None:
    with pytest.raises(BadInput, match=why):
        check_compare_statement(Statement(sql, 3, 1, 1), "m.sql")


@pytest.mark.parametrize("sql", ["VALUES (1), (2)", "TABLE users", "WITH u AS (SELECT 1) SELECT *"])
def test_plain_queries_pass(sql: str) -> None:
    check_compare_statement(Statement(sql, 3, 1, 1), "m.sql")


async def test_read_only_transaction_stops_a_writing_query(
    helper: asyncpg.Connection, tmp_path: Path
) -> None:
    await helper.execute("CREATE SEQUENCE mc_probe_seq")
    migration = parse_migration(
        write(tmp_path, "SELECT nextval('mc_probe_seq');\nSELECT count(*) FROM users;\n")
    )
    m = await measure(helper, migration, repeat=1)
    failed, fine = m.queries
    assert failed.execution_ms is None and failed.access_paths == ()
    assert failed.error is not None and "25006" in failed.error  # read_only_sql_transaction
    assert "read-only" in failed.error
    assert await helper.fetchval("SELECT is_called FROM mc_probe_seq") is False
    # the connection is usable again and the next query is measured
    assert fine.error is None and fine.rows == 1
    assert any("on users" in p for p in fine.access_paths)
    assert await helper.fetchval("SELECT current_setting('transaction_read_only')") == "off"


async def test_measurement_round_trips_through_history(
    helper: asyncpg.Connection, tmp_path: Path
) -> None:
    long_query = "SELECT count(*) FROM call_costs WHERE " + " OR ".join(
        f"user_id = {i}" for i in range(1, 60)
    )
    path = write(tmp_path, f"SELECT nextval('no_such_seq');\n{long_query};\n")
    m = await measure(helper, parse_migration(path), repeat=1)
    history = tmp_path / "history.toml"
    history.write_text('custom = "kept"\n\n[[signoffs]]\nmigration = "m"\nitem = "backup"\n')
    store = HistoryStore(history)
    save_measurement(store, m)
    data = store.load()
    assert data.raw["custom"] == "kept" and data.raw["signoffs"][0]["item"] == "backup"
    back = latest_measurement(data, "m", BASELINE)
    assert back is not None
    assert back.at == m.at.replace(microsecond=m.at.microsecond // 1000 * 1000)
    assert back.queries[0].error == m.queries[0].error and back.queries[0].execution_ms is None
    stored, measured = back.queries[1], m.queries[1]
    assert len(stored.sql) == 200 and stored.sql == " ".join(long_query.split())[:200]
    assert (stored.line, stored.access_paths, stored.rows) == (
        measured.line,
        measured.access_paths,
        measured.rows,
    )
    assert (stored.execution_ms, stored.planning_ms) == (
        measured.execution_ms,
        measured.planning_ms,
    )
    assert (stored.shared_hit, stored.shared_read) == (measured.shared_hit, measured.shared_read)
    assert latest_measurement(data, "m", AFTER) is None
    # a newer one wins
    newer = Measurement("m", BASELINE, m.at.replace(year=m.at.year + 1), [])
    save_measurement(store, newer)
    latest = latest_measurement(store.load(), "m", BASELINE)
    assert latest is not None and latest.queries == []


def test_compare_without_a_compare_section_is_bad_input(tmp_path: Path) -> None:
    from console.core.measure import compare_statements

    migration = parse_migration_text(UP, tmp_path / "m.sql")
    with pytest.raises(BadInput, match="no `-- migrate:compare` queries"):
        compare_statements(migration)
