"""What one statement's syntax tree says it does to a running database: its kind, the
tables it touches, the table lock it takes (per the PostgreSQL documentation) and whether it
may run inside a transaction block. One handler per statement node.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from pglast import ast
from pglast.enums import AlterTableType as AT
from pglast.enums import ConstrType, ObjectType, ReindexObjectType, SortByDir, VariableSetKind

from console.core.locks import AS, AX, EX, LOCK_BLOCKS, LOCK_MODES, RS, RX, SH, SRX, SUE, heaviest
from console.core.model import IndexColumn, IndexSpec, Statement, StatementPlan
from console.core.sqltree import (
    DATA_CHANGING,
    deparse,
    enum_words,
    object_words,
    option,
    qualified_name,
    quote_name,
    referenced_tables,
    relation_name,
    relations,
    statement_words,
)

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
# Statements that never run inside a transaction block, whatever their options.
_NO_TRANSACTION = {"CreatedbStmt", "DropdbStmt", "AlterSystemStmt", "CreateTableSpaceStmt",
                   "DropTableSpaceStmt"}
# fmt: on


def classify(stmt: Statement, node: ast.Node) -> StatementPlan:
    """The plan of one statement from its syntax tree."""
    name = type(node).__name__
    handler = _HANDLERS.get(name)
    if handler is not None:
        return handler(stmt, node)
    return _make(stmt, statement_words(node), (), None, transactional=name not in _NO_TRANSACTION)


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


# -- one handler per statement node --------------------------------------------------------


def _index(stmt: Statement, node: ast.IndexStmt) -> StatementPlan:
    columns = tuple(
        IndexColumn(
            expression=quote_name(e.name) if e.name else deparse(e.expr or ()),
            descending=e.ordering == SortByDir.SORTBY_DESC,
            nulls=enum_words(e.nulls_ordering, "SORTBY_NULLS_") if e.nulls_ordering else None,
        )
        for e in node.indexParams or ()
        if isinstance(e, ast.IndexElem) and (e.name or e.expr is not None)
    )
    table = relation_name(node.relation)
    spec = IndexSpec(
        name=quote_name(node.idxname) if node.idxname else "",
        table=table,
        columns=columns,
        unique=bool(node.unique),
        method=node.accessMethod or "btree",
        predicate=deparse(node.whereClause) if node.whereClause else None,
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
    kind = f"DROP {object_words(objtype)}" + (" CONCURRENTLY" if node.concurrent else "")
    if objtype == ObjectType.OBJECT_INDEX:
        names = ", ".join(qualified_name(o) for o in objects) or None
        lock = SUE if node.concurrent else AX
        return _make(
            stmt, kind, (), lock, transactional=not node.concurrent, drops_index=names,
            concurrent=bool(node.concurrent),
        )  # fmt: skip
    if objtype in _TABLE_LIKE:
        return _make(stmt, kind, [qualified_name(o) for o in objects], AX)
    if objtype in _ON_TABLE:
        return _make(
            stmt, kind, [qualified_name(o[:-1]) for o in objects if isinstance(o, tuple)], AX
        )
    return _make(stmt, kind, (), None)


def _vacuum(stmt: Statement, node: ast.VacuumStmt) -> StatementPlan:
    tables = [
        relation_name(r.relation) for r in node.rels or () if isinstance(r, ast.VacuumRelation)
    ]
    if not node.is_vacuumcmd:
        return _make(stmt, "ANALYZE", tables, SUE)
    if option(node.options, "full"):
        return _make(stmt, "VACUUM FULL", tables, AX, transactional=False)
    return _make(stmt, "VACUUM", tables, SUE, transactional=False)


def _alter_table(stmt: Statement, node: ast.AlterTableStmt) -> StatementPlan:
    on_index = node.objtype == ObjectType.OBJECT_INDEX
    tables, locks, transactional = [] if on_index else [relation_name(node.relation)], [], True
    concurrent = False
    for cmd in node.cmds or ():
        if not isinstance(cmd, ast.AlterTableCmd):
            continue
        lock = _ALTER_LOCKS.get(cmd.subtype, AX) if cmd.subtype is not None else AX
        part = cmd.def_
        if isinstance(part, ast.PartitionCmd):
            tables.append(relation_name(part.name))
            if cmd.subtype == AT.AT_DetachPartition and part.concurrent:
                lock, transactional, concurrent = SUE, False, True
        if isinstance(part, ast.Constraint) and part.contype == ConstrType.CONSTR_FOREIGN:
            lock = SRX if cmd.subtype == AT.AT_AddConstraint else lock
        tables.extend(referenced_tables(cmd))
        locks.append(lock)
    kind = f"ALTER {object_words(node.objtype)}"
    return _make(
        stmt, kind, tables, heaviest(locks), transactional=transactional, concurrent=concurrent
    )


def _rename(stmt: Statement, node: ast.RenameStmt) -> StatementPlan:
    objtype = node.renameType
    if objtype == ObjectType.OBJECT_INDEX:
        return _make(stmt, "ALTER INDEX", (), SUE)
    on_relation = objtype in (ObjectType.OBJECT_COLUMN, ObjectType.OBJECT_TABCONSTRAINT)
    kind = f"ALTER {object_words(node.relationType if on_relation else objtype)}"
    if node.relation is not None and (objtype in _TABLE_LIKE or objtype in _ON_TABLE):
        return _make(stmt, kind, [relation_name(node.relation)], AX)
    return _make(stmt, kind, (), None)


def _create_table(stmt: Statement, node: ast.CreateStmt) -> StatementPlan:
    table = relation_name(node.relation)
    parents = [relation_name(r) for r in node.inhRelations or ()]
    referenced = referenced_tables(node)
    locks = [SRX if referenced else None]
    if parents:  # PARTITION OF takes ACCESS EXCLUSIVE on the parent; INHERITS a lighter lock
        locks.append(AX if node.partbound is not None else SUE)
    targets = [table, *parents, *referenced]
    return _make(stmt, "CREATE TABLE", targets, heaviest(locks), creates_table=table)


def _create_table_as(stmt: Statement, node: ast.CreateTableAsStmt) -> StatementPlan:
    table = relation_name(node.into.rel) if node.into is not None else ""
    matview = node.objtype == ObjectType.OBJECT_MATVIEW
    kind = "CREATE MATERIALIZED VIEW" if matview else "CREATE TABLE AS"
    sources = relations(node.query)
    lock = AS if sources else None
    return _make(stmt, kind, [table, *sources], lock, creates_table=table or None)


def _view(stmt: Statement, node: ast.ViewStmt) -> StatementPlan:
    sources = relations(node.query)
    return _make(stmt, "CREATE VIEW", sources, AS if sources else None)


def _reindex(stmt: Statement, node: ast.ReindexStmt) -> StatementPlan:
    concurrent = option(node.params, "concurrently")
    table = (
        relation_name(node.relation) if node.kind == ReindexObjectType.REINDEX_OBJECT_TABLE else ""
    )
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
    table = relation_name(node.relation)
    return _make(stmt, "CLUSTER", [table], AX, transactional=bool(table))


def _comment(stmt: Statement, node: ast.CommentStmt) -> StatementPlan:
    obj = node.object if isinstance(node.object, tuple) else ()
    if node.objtype in _TABLE_LIKE:
        return _make(stmt, "COMMENT", [qualified_name(obj)], SUE)
    if node.objtype in _ON_TABLE:
        return _make(stmt, "COMMENT", [qualified_name(obj[:-1])], SUE)
    return _make(stmt, "COMMENT", (), SUE)


def _dml(stmt: Statement, node: ast.Node) -> StatementPlan:
    return _make(stmt, DATA_CHANGING[type(node)], relations(node), RX)


def _select(stmt: Statement, node: ast.SelectStmt) -> StatementPlan:
    tables = relations(node)
    lock = (RS if node.lockingClause else AS) if tables else None
    return _make(stmt, "SELECT", tables, lock)


def _explain(stmt: Statement, node: ast.ExplainStmt) -> StatementPlan:
    inner = classify(stmt, node.query) if node.query is not None else None
    kind = "EXPLAIN ANALYZE" if option(node.options, "analyze") else "EXPLAIN"
    if inner is None:
        return _make(stmt, kind, (), None)
    return _make(stmt, f"{kind} {inner.kind}", inner.targets, inner.lock)


def _copy(stmt: Statement, node: ast.CopyStmt) -> StatementPlan:
    if node.relation is not None:
        return _make(stmt, "COPY", [relation_name(node.relation)], RX if node.is_from else AS)
    tables = relations(node.query)
    return _make(stmt, "COPY", tables, AS if tables else None)


def _lock(stmt: Statement, node: ast.LockStmt) -> StatementPlan:
    mode = node.mode or 0
    lock = LOCK_MODES[mode - 1] if 1 <= mode <= len(LOCK_MODES) else AX
    return _make(stmt, "LOCK TABLE", [relation_name(r) for r in node.relations or ()], lock)


def _set(stmt: Statement, node: ast.VariableSetStmt) -> StatementPlan:
    resets = (VariableSetKind.VAR_RESET, VariableSetKind.VAR_RESET_ALL)
    return _make(stmt, "RESET" if node.kind in resets else "SET", (), None)


def _trigger(stmt: Statement, node: ast.CreateTrigStmt) -> StatementPlan:
    tables = [relation_name(node.relation), relation_name(node.constrrel)]
    return _make(stmt, "CREATE TRIGGER", tables, SRX)


def _truncate(stmt: Statement, node: ast.TruncateStmt) -> StatementPlan:
    return _make(stmt, "TRUNCATE", [relation_name(r) for r in node.relations or ()], AX)


def _refresh(stmt: Statement, node: ast.RefreshMatViewStmt) -> StatementPlan:
    kind = "REFRESH MATERIALIZED VIEW" + (" CONCURRENTLY" if node.concurrent else "")
    return _make(stmt, kind, [relation_name(node.relation)], EX if node.concurrent else AX)


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
    **{kind.__name__: _dml for kind in DATA_CHANGING},
    "SelectStmt": _select,
    "ExplainStmt": _explain,
    "CopyStmt": _copy,
    "LockStmt": _lock,
    "VariableSetStmt": _set,
    "CreateTrigStmt": _trigger,
    "TruncateStmt": _truncate,
    "RefreshMatViewStmt": _refresh,
}
