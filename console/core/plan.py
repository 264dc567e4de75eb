"""What each statement does to a running database: its kind, the tables it touches, the
table lock it takes (per the PostgreSQL documentation), what that lock blocks, and whether
it may run inside a transaction block. Read from pglast's syntax tree, never from text.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator
from enum import Enum
from typing import Any

from pglast import ast, parser
from pglast.enums import AlterTableType as AT
from pglast.enums import ConstrType, ObjectType, ReindexObjectType, SortByDir, VariableSetKind
from pglast.stream import RawStream, maybe_double_quote_name
from pglast.visitors import ReferencedRelations

from console.core.lint import lint_file
from console.core.locks import AS, AX, EX, LOCK_MODES, RS, RX, SH, SRX, SUE
from console.core.migration_file import refuse_transaction_control, transaction_control
from console.core.model import (
    DOWN,
    UP,
    IndexColumn,
    IndexSpec,
    LintFinding,
    Migration,
    MigrationPlan,
    Section,
    SectionPlan,
    Statement,
    StatementPlan,
)
from console.errors import BadInput, MigrationSyntaxError

# What each table lock mode blocks. "DDL" for the lighter modes means ACCESS EXCLUSIVE DDL
# (DROP, most ALTER TABLE) and, from SHARE UPDATE EXCLUSIVE on, index builds and VACUUM too.
LOCK_BLOCKS: dict[str, tuple[str, ...]] = {
    AS: ("DDL",),
    RS: ("DDL",),
    RX: ("DDL",),
    SUE: ("DDL",),
    SH: ("writes", "DDL"),
    SRX: ("writes", "DDL"),
    EX: ("writes", "DDL"),
    AX: ("reads", "writes", "DDL"),
}
_DESCRIPTIONS = {
    AS: "reads and writes continue; only ACCESS EXCLUSIVE DDL (DROP, most ALTER TABLE) waits",
    RS: "reads and writes continue; EXCLUSIVE and ACCESS EXCLUSIVE locks wait",
    RX: "reads and writes continue; index builds without CONCURRENTLY and most DDL wait",
    SUE: "reads and writes continue; other DDL, VACUUM and index builds on the table wait",
    SH: "reads continue; writes (INSERT, UPDATE, DELETE) and DDL on the table wait",
    SRX: "reads continue; writes, DDL and other trigger or foreign key changes wait",
    EX: "plain reads continue; writes, SELECT FOR UPDATE and DDL on the table wait",
    AX: "everything on the table waits, even plain SELECTs",
}
# Findings about timeouts the runner sets itself (lock_timeout, statement_timeout).
RUNNER_HANDLED_RULES = ("require-lock-timeout", "require-statement-timeout")

# fmt: off
_ALTER_LOCKS = {  # ALTER TABLE subcommands lighter than ACCESS EXCLUSIVE
    **dict.fromkeys((AT.AT_SetStatistics, AT.AT_SetOptions, AT.AT_ResetOptions,
                     AT.AT_SetRelOptions, AT.AT_ResetRelOptions, AT.AT_ValidateConstraint,
                     AT.AT_ClusterOn, AT.AT_DropCluster, AT.AT_DetachPartitionFinalize), SUE),
    **dict.fromkeys((AT.AT_EnableTrig, AT.AT_EnableAlwaysTrig, AT.AT_EnableReplicaTrig,
                     AT.AT_DisableTrig, AT.AT_EnableTrigAll, AT.AT_DisableTrigAll,
                     AT.AT_EnableTrigUser, AT.AT_DisableTrigUser), SRX),
}
_TABLE_LIKE = {ObjectType.OBJECT_TABLE, ObjectType.OBJECT_VIEW, ObjectType.OBJECT_MATVIEW,
               ObjectType.OBJECT_FOREIGN_TABLE, ObjectType.OBJECT_SEQUENCE}
# Objects named (table..., name): their lock falls on the table.
_ON_TABLE = {ObjectType.OBJECT_TRIGGER, ObjectType.OBJECT_RULE, ObjectType.OBJECT_POLICY,
             ObjectType.OBJECT_COLUMN, ObjectType.OBJECT_TABCONSTRAINT}
_NO_TRANSACTION_NODES = {
    "CreatedbStmt": "CREATE DATABASE", "DropdbStmt": "DROP DATABASE",
    "AlterSystemStmt": "ALTER SYSTEM",
    "CreateTableSpaceStmt": "CREATE TABLESPACE", "DropTableSpaceStmt": "DROP TABLESPACE",
}
_KINDS = {  # where the node's name, as words, is not the SQL
    "CreateSeqStmt": "CREATE SEQUENCE", "AlterSeqStmt": "ALTER SEQUENCE",
    "CreateEnumStmt": "CREATE TYPE", "CompositeTypeStmt": "CREATE TYPE",
    "AlterEnumStmt": "ALTER TYPE", "VariableShowStmt": "SHOW", "CreatePLangStmt": "CREATE LANGUAGE",
}
# fmt: on


def describe_lock(mode: str | None) -> str:
    """One line for people: what a table lock mode lets through and what waits."""
    if mode is None:
        return "no lock on existing tables: nothing waits"
    return f"{mode}: {_DESCRIPTIONS.get(mode, 'see the PostgreSQL documentation')}"


def heaviest(modes: Iterable[str | None]) -> str | None:
    """The strongest of some table lock modes (None when there is none)."""
    known = [m for m in modes if m is not None]
    return max(known, key=LOCK_MODES.index) if known else None


def plan_statement(stmt: Statement) -> StatementPlan:
    """Plan one statement from its syntax tree."""
    try:
        raws = parser.parse_sql(stmt.sql)
    except parser.ParseError as exc:
        index = exc.args[1] if len(exc.args) > 1 and isinstance(exc.args[1], int) else 0
        before = stmt.sql[:index]
        line = stmt.line + before.count("\n")
        column = index - before.rfind("\n") if "\n" in before else stmt.column + index
        raise MigrationSyntaxError("<statement>", line, column, str(exc.args[0])) from None
    if len(raws) != 1 or raws[0].stmt is None:
        raise ValueError(f"expected one SQL statement, got {len(raws)}: {stmt.first_line}")
    control = transaction_control(stmt.sql, raws[0].stmt)
    if control is not None:  # parse_migration refuses these; a Statement made by hand too
        raise refuse_transaction_control(control, "<statement>", stmt.line, stmt.column)
    return _plan(stmt, raws[0].stmt)


def _plan(stmt: Statement, node: ast.Node) -> StatementPlan:
    name = type(node).__name__
    handler = _HANDLERS.get(name)
    if handler is not None:
        return handler(stmt, node)
    if name in _NO_TRANSACTION_NODES:
        return _make(stmt, _NO_TRANSACTION_NODES[name], (), None, transactional=False)
    words = _KINDS.get(name) or re.sub(r"(?<!^)(?=[A-Z])", " ", name.removesuffix("Stmt"))
    return _make(stmt, words.upper(), (), None)


def _make(
    stmt: Statement,
    kind: str,
    targets: Iterable[str],
    lock: str | None,
    *,
    transactional: bool = True,
    index: IndexSpec | None = None,
    drops_index: str | None = None,
    creates_table: str | None = None,
    concurrent: bool = False,
) -> StatementPlan:
    blocks = LOCK_BLOCKS.get(lock, ()) if lock else ()
    return StatementPlan(
        stmt, kind, tuple(dict.fromkeys(t for t in targets if t)), lock, blocks, transactional,
        index, drops_index, creates_table, concurrent,
    )  # fmt: skip


# -- reading the tree ----------------------------------------------------------------------


def _rel(rv: ast.Node | None) -> str:
    """A RangeVar as SQL (schema-qualified when written so, quoted where needed)."""
    if not isinstance(rv, ast.RangeVar):
        return ""
    parts = (rv.catalogname, rv.schemaname, rv.relname)
    return ".".join(maybe_double_quote_name(p) for p in parts if p)


def _dotted(names: object) -> str:
    """A qualified name given as a tuple of String nodes, as SQL."""
    items = names if isinstance(names, tuple) else ()
    return ".".join(
        maybe_double_quote_name(n.sval or "") for n in items if isinstance(n, ast.String)
    )


def _word(value: Enum | None, prefix: str) -> str:
    """An enum member's name without its prefix, as words: OBJECT_MATVIEW -> MATVIEW."""
    return value.name.removeprefix(prefix).replace("_", " ") if value is not None else ""


def _object_word(objtype: Enum | None) -> str:
    word = _word(objtype, "OBJECT_")
    return {"MATVIEW": "MATERIALIZED VIEW", "TABCONSTRAINT": "CONSTRAINT"}.get(word, word)


def _walk(node: ast.Node) -> Iterator[ast.Node]:
    """Every node under node (itself included), in no particular order."""
    stack: list[object] = [node]
    while stack:
        item = stack.pop()
        if isinstance(item, tuple):
            stack.extend(item)
        elif isinstance(item, ast.Node):
            yield item
            stack.extend(getattr(item, member) for member in item)


def _relations(node: ast.Node | None) -> list[str]:
    """Relations a query reads or writes, in order of appearance, without CTE names."""
    if node is None:
        return []
    wanted = ReferencedRelations()(node)
    found = [n for n in _walk(node) if isinstance(n, ast.RangeVar)]
    found.sort(key=lambda rv: rv.location if rv.location is not None else -1)
    return [name for name in map(_rel, found) if name in wanted]


def _referenced_tables(node: ast.Node) -> list[str]:
    """Tables named by FOREIGN KEY ... REFERENCES inside node."""
    return [
        _rel(n.pktable)
        for n in _walk(node)
        if isinstance(n, ast.Constraint) and n.contype == ConstrType.CONSTR_FOREIGN
    ]


def _option(options: tuple[ast.Node, ...] | None, name: str) -> bool:
    """Whether a DefElem list turns `name` on, as in VACUUM (FULL) or REINDEX (CONCURRENTLY)."""
    for opt in options or ():
        if isinstance(opt, ast.DefElem) and opt.defname == name:
            arg = opt.arg
            if isinstance(arg, ast.String):
                return (arg.sval or "").lower() not in ("false", "off", "0", "no")
            if isinstance(arg, ast.Boolean):
                return bool(arg.boolval)
            if isinstance(arg, ast.Integer):
                return arg.ival != 0
            return True
    return False


# -- one handler per statement node --------------------------------------------------------


def _index(stmt: Statement, node: ast.IndexStmt) -> StatementPlan:
    columns = tuple(
        IndexColumn(
            expression=maybe_double_quote_name(e.name)
            if e.name
            else str(RawStream()(e.expr or ())),
            descending=e.ordering == SortByDir.SORTBY_DESC,
            nulls=_word(e.nulls_ordering, "SORTBY_NULLS_") if e.nulls_ordering else None,
        )
        for e in node.indexParams or ()
        if isinstance(e, ast.IndexElem) and (e.name or e.expr is not None)
    )
    table = _rel(node.relation)
    spec = IndexSpec(
        name=maybe_double_quote_name(node.idxname) if node.idxname else "",
        table=table,
        columns=columns,
        unique=bool(node.unique),
        method=node.accessMethod or "btree",
        predicate=str(RawStream()(node.whereClause)) if node.whereClause else None,
        concurrent=bool(node.concurrent),
        if_not_exists=bool(node.if_not_exists),
        statement_sql=stmt.sql,
    )
    kind = "CREATE INDEX CONCURRENTLY" if node.concurrent else "CREATE INDEX"
    lock = SUE if node.concurrent else SH
    return _make(
        stmt, kind, [table], lock, transactional=not node.concurrent, index=spec,
        concurrent=bool(node.concurrent),
    )  # fmt: skip


def _drop(stmt: Statement, node: ast.DropStmt) -> StatementPlan:
    objtype, objects = node.removeType, node.objects or ()
    kind = f"DROP {_object_word(objtype)}" + (" CONCURRENTLY" if node.concurrent else "")
    if objtype == ObjectType.OBJECT_INDEX:
        names = ", ".join(_dotted(o) for o in objects) or None
        lock = SUE if node.concurrent else AX
        return _make(
            stmt, kind, (), lock, transactional=not node.concurrent, drops_index=names,
            concurrent=bool(node.concurrent),
        )  # fmt: skip
    if objtype in _TABLE_LIKE:
        return _make(stmt, kind, [_dotted(o) for o in objects], AX)
    if objtype in _ON_TABLE:
        return _make(stmt, kind, [_dotted(o[:-1]) for o in objects if isinstance(o, tuple)], AX)
    return _make(stmt, kind, (), None)


def _vacuum(stmt: Statement, node: ast.VacuumStmt) -> StatementPlan:
    tables = [_rel(r.relation) for r in node.rels or () if isinstance(r, ast.VacuumRelation)]
    if not node.is_vacuumcmd:
        return _make(stmt, "ANALYZE", tables, SUE)
    if _option(node.options, "full"):
        return _make(stmt, "VACUUM FULL", tables, AX, transactional=False)
    return _make(stmt, "VACUUM", tables, SUE, transactional=False)


def _alter_table(stmt: Statement, node: ast.AlterTableStmt) -> StatementPlan:
    on_index = node.objtype == ObjectType.OBJECT_INDEX
    tables, locks, transactional = [] if on_index else [_rel(node.relation)], [], True
    concurrent = False
    for cmd in node.cmds or ():
        if not isinstance(cmd, ast.AlterTableCmd):
            continue
        lock = _ALTER_LOCKS.get(cmd.subtype, AX) if cmd.subtype is not None else AX
        part = cmd.def_
        if isinstance(part, ast.PartitionCmd):
            tables.append(_rel(part.name))
            if cmd.subtype == AT.AT_DetachPartition and part.concurrent:
                lock, transactional, concurrent = SUE, False, True
        if isinstance(part, ast.Constraint) and part.contype == ConstrType.CONSTR_FOREIGN:
            lock = SRX if cmd.subtype == AT.AT_AddConstraint else lock
        tables.extend(_referenced_tables(cmd))
        locks.append(lock)
    kind = f"ALTER {_object_word(node.objtype)}"
    return _make(
        stmt, kind, tables, heaviest(locks), transactional=transactional, concurrent=concurrent
    )


def _rename(stmt: Statement, node: ast.RenameStmt) -> StatementPlan:
    objtype = node.renameType
    if objtype == ObjectType.OBJECT_INDEX:
        return _make(stmt, "ALTER INDEX", (), SUE)
    on_relation = objtype in (ObjectType.OBJECT_COLUMN, ObjectType.OBJECT_TABCONSTRAINT)
    kind = f"ALTER {_object_word(node.relationType if on_relation else objtype)}"
    if node.relation is not None and (objtype in _TABLE_LIKE or objtype in _ON_TABLE):
        return _make(stmt, kind, [_rel(node.relation)], AX)
    return _make(stmt, kind, (), None)


def _create_table(stmt: Statement, node: ast.CreateStmt) -> StatementPlan:
    table = _rel(node.relation)
    parents = [_rel(r) for r in node.inhRelations or ()]
    referenced = _referenced_tables(node)
    locks = [SRX if referenced else None]
    if parents:  # PARTITION OF takes ACCESS EXCLUSIVE on the parent; INHERITS a lighter lock
        locks.append(AX if node.partbound is not None else SUE)
    targets = [table, *parents, *referenced]
    return _make(stmt, "CREATE TABLE", targets, heaviest(locks), creates_table=table)


def _create_table_as(stmt: Statement, node: ast.CreateTableAsStmt) -> StatementPlan:
    table = _rel(node.into.rel) if node.into is not None else ""
    matview = node.objtype == ObjectType.OBJECT_MATVIEW
    kind = "CREATE MATERIALIZED VIEW" if matview else "CREATE TABLE AS"
    sources = _relations(node.query)
    lock = AS if sources else None
    return _make(stmt, kind, [table, *sources], lock, creates_table=table or None)


def _view(stmt: Statement, node: ast.ViewStmt) -> StatementPlan:
    sources = _relations(node.query)
    return _make(stmt, "CREATE VIEW", sources, AS if sources else None)


def _reindex(stmt: Statement, node: ast.ReindexStmt) -> StatementPlan:
    concurrent = _option(node.params, "concurrently")
    table = _rel(node.relation) if node.kind == ReindexObjectType.REINDEX_OBJECT_TABLE else ""
    one_relation = node.kind in (
        ReindexObjectType.REINDEX_OBJECT_TABLE,
        ReindexObjectType.REINDEX_OBJECT_INDEX,
    )
    kind = "REINDEX CONCURRENTLY" if concurrent else "REINDEX"
    lock = SUE if concurrent else SH
    return _make(
        stmt, kind, [table], lock, transactional=one_relation and not concurrent,
        concurrent=concurrent,
    )  # fmt: skip


def _cluster(stmt: Statement, node: ast.ClusterStmt) -> StatementPlan:
    table = _rel(node.relation)
    return _make(stmt, "CLUSTER", [table], AX, transactional=bool(table))


def _comment(stmt: Statement, node: ast.CommentStmt) -> StatementPlan:
    obj = node.object if isinstance(node.object, tuple) else ()
    if node.objtype in _TABLE_LIKE:
        return _make(stmt, "COMMENT", [_dotted(obj)], SUE)
    if node.objtype in _ON_TABLE:
        return _make(stmt, "COMMENT", [_dotted(obj[:-1])], SUE)
    return _make(stmt, "COMMENT", (), SUE)


def _dml(kind: str) -> _Handler:
    def handler(stmt: Statement, node: ast.Node) -> StatementPlan:
        return _make(stmt, kind, _relations(node), RX)

    return handler


def _select(stmt: Statement, node: ast.SelectStmt) -> StatementPlan:
    tables = _relations(node)
    lock = (RS if node.lockingClause else AS) if tables else None
    return _make(stmt, "SELECT", tables, lock)


def _explain(stmt: Statement, node: ast.ExplainStmt) -> StatementPlan:
    inner = _plan(stmt, node.query) if node.query is not None else None
    kind = "EXPLAIN ANALYZE" if _option(node.options, "analyze") else "EXPLAIN"
    if inner is None:
        return _make(stmt, kind, (), None)
    return _make(stmt, f"{kind} {inner.kind}", inner.targets, inner.lock)


def _copy(stmt: Statement, node: ast.CopyStmt) -> StatementPlan:
    if node.relation is not None:
        return _make(stmt, "COPY", [_rel(node.relation)], RX if node.is_from else AS)
    tables = _relations(node.query)
    return _make(stmt, "COPY", tables, AS if tables else None)


def _lock(stmt: Statement, node: ast.LockStmt) -> StatementPlan:
    mode = node.mode or 0
    lock = LOCK_MODES[mode - 1] if 1 <= mode <= len(LOCK_MODES) else AX
    return _make(stmt, "LOCK TABLE", [_rel(r) for r in node.relations or ()], lock)


def _set(stmt: Statement, node: ast.VariableSetStmt) -> StatementPlan:
    resets = (VariableSetKind.VAR_RESET, VariableSetKind.VAR_RESET_ALL)
    return _make(stmt, "RESET" if node.kind in resets else "SET", (), None)


def _trigger(stmt: Statement, node: ast.CreateTrigStmt) -> StatementPlan:
    tables = [_rel(node.relation), _rel(node.constrrel)]
    return _make(stmt, "CREATE TRIGGER", tables, SRX)


def _truncate(stmt: Statement, node: ast.TruncateStmt) -> StatementPlan:
    return _make(stmt, "TRUNCATE", [_rel(r) for r in node.relations or ()], AX)


def _refresh(stmt: Statement, node: ast.RefreshMatViewStmt) -> StatementPlan:
    kind = "REFRESH MATERIALIZED VIEW" + (" CONCURRENTLY" if node.concurrent else "")
    return _make(stmt, kind, [_rel(node.relation)], EX if node.concurrent else AX)


_Handler = Callable[[Statement, Any], StatementPlan]
_HANDLERS: dict[str, _Handler] = {
    "IndexStmt": _index,
    "DropStmt": _drop,
    "VacuumStmt": _vacuum,
    "AlterTableStmt": _alter_table,
    "RenameStmt": _rename,
    "CreateStmt": _create_table,
    "CreateTableAsStmt": _create_table_as,
    "ViewStmt": _view,
    "ReindexStmt": _reindex,
    "ClusterStmt": _cluster,
    "CommentStmt": _comment,
    "InsertStmt": _dml("INSERT"),
    "UpdateStmt": _dml("UPDATE"),
    "DeleteStmt": _dml("DELETE"),
    "MergeStmt": _dml("MERGE"),
    "SelectStmt": _select,
    "ExplainStmt": _explain,
    "CopyStmt": _copy,
    "LockStmt": _lock,
    "VariableSetStmt": _set,
    "CreateTrigStmt": _trigger,
    "TruncateStmt": _truncate,
    "RefreshMatViewStmt": _refresh,
}


# -- sections and migrations ---------------------------------------------------------------


def plan_section(section: Section) -> SectionPlan:
    """Plan every statement; decide whether the runner wraps the section in one transaction."""
    plans = tuple(plan_statement(s) for s in section.statements)
    outside = next((p for p in plans if not p.transactional), None)
    if not section.transaction:
        reason = "runs statement by statement in autocommit: the file says transaction:false"
    elif outside is not None:
        reason = (
            f"runs statement by statement in autocommit: {outside.kind} cannot run inside "
            f"a transaction block (line {outside.statement.line})"
        )
    else:
        reason = "runs in one transaction that rolls back whole on error"
    in_transaction = section.transaction and outside is None
    return SectionPlan(section, plans, in_transaction, reason)


def section_indexes(section: Section) -> tuple[IndexSpec, ...]:
    """The indexes a section creates, planning only the statements that may create one."""
    specs = (plan_statement(s).index for s in section.statements if _creates(s))
    return tuple(spec for spec in specs if spec is not None)


def _creates(stmt: Statement) -> bool:
    return stmt.sql[:6].upper() == "CREATE"  # the statement text starts at its first token


def plan_migration(
    migration: Migration,
    section_name: str = UP,
    lint: bool = True,
    ignore: Iterable[str] = RUNNER_HANDLED_RULES,
) -> MigrationPlan:
    """Plan one section of a migration, with squawk's findings located in that section.

    By default it leaves out squawk's findings about lock_timeout and statement_timeout:
    the runner sets both on its session before each run.
    """
    section = migration.section(section_name)
    if section is None:
        raise BadInput(
            f"{migration.path} has no `-- migrate:{section_name}` section.",
            "Add it to the file, or pick another migration.",
        )
    plan = plan_section(section)
    findings: tuple[LintFinding, ...] = ()
    if lint and section_name in (UP, DOWN) and migration.path.is_file():
        found = lint_file(migration.path, ignore, assume_in_transaction=plan.in_transaction)
        findings = tuple(f for f in found if _in_section(f, migration, section))
    return MigrationPlan(migration, plan, findings)


def _in_section(finding: LintFinding, migration: Migration, section: Section) -> bool:
    if finding.rule == "squawk-unavailable":
        return True
    later = [s.line for s in migration.sections.values() if s.line > section.line]
    end = min(later, default=None)
    return finding.line > section.line and (end is None or finding.line < end)
