"""Verification: the indexes the up section builds exist, are valid and match the file;
the file's own verification queries hold."""

from __future__ import annotations

from dataclasses import dataclass, field

import asyncpg
from pglast import ast

from console.connection import MONITOR
from console.core import sqltree
from console.core.model import VERIFY, IndexSpec, Migration, Statement
from console.core.plan import plan_section
from console.core.words import IndexVerdict
from console.db import catalog
from console.db.connect import close_quietly, connect
from console.settings import ConnectionSettings


@dataclass(frozen=True)
class IndexCheck:
    spec: IndexSpec
    state: catalog.IndexState
    verdict: str  # ok, missing, invalid, different
    detail: str = ""
    expected: str | None = None  # the file's index as the server renders it


@dataclass(frozen=True)
class QueryCheck:
    statement: Statement
    ok: bool
    result: str
    error: str | None = None


@dataclass(frozen=True)
class VerifyReport:
    migration: str
    database: str
    indexes: list[IndexCheck] = field(default_factory=list)
    queries: list[QueryCheck] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(c.verdict == IndexVerdict.OK for c in self.indexes) and all(
            q.ok for q in self.queries
        )


def probe_sql(spec: IndexSpec, table: str, index: str) -> str:
    """The file's CREATE INDEX, aimed at a temporary table, without CONCURRENTLY."""
    stmt = sqltree.parse(spec.statement_sql)[0]
    assert isinstance(stmt, ast.IndexStmt)
    stmt.idxname = index
    stmt.relation = ast.RangeVar(relname=table, inh=True, relpersistence="t")
    stmt.concurrent = False
    stmt.if_not_exists = False
    return sqltree.deparse(stmt)


def _shape(definition: str) -> tuple[bool, str]:
    """(unique, everything from USING on) of a pg_get_indexdef string."""
    head, _, tail = definition.partition(" USING ")
    return head.startswith("CREATE UNIQUE"), tail


async def check_index(
    conn: asyncpg.Connection, spec: IndexSpec, state: catalog.IndexState
) -> IndexCheck:
    if not state.exists:
        return IndexCheck(spec, state, IndexVerdict.MISSING, f"index {spec.name} does not exist")
    if state.valid is False:
        return IndexCheck(
            spec,
            state,
            IndexVerdict.INVALID,
            f"index {state.qualified} is INVALID (a failed or cancelled build); "
            "run the migration again: the console drops it and rebuilds it",
        )
    (table,) = await catalog.tables(conn, [spec.table])
    if table.qualified != state.table:
        return IndexCheck(
            spec,
            state,
            IndexVerdict.DIFFERENT,
            f"index {state.qualified} is on {state.table}, not {spec.table}",
        )
    try:
        expected = await catalog.normalized_index_definition(
            conn, spec.table, lambda t, i: probe_sql(spec, t, i)
        )
    except asyncpg.PostgresError as exc:
        return IndexCheck(spec, state, IndexVerdict.OK, f"definition not compared ({exc})")
    if expected is None or state.definition is None:
        return IndexCheck(spec, state, IndexVerdict.OK, "definition not compared")
    if _shape(expected) != _shape(state.definition):
        return IndexCheck(
            spec,
            state,
            IndexVerdict.DIFFERENT,
            f"index {state.qualified} differs from the file: the database has "
            f"{_shape(state.definition)[1]!r}, the file says {_shape(expected)[1]!r}",
            expected,
        )
    return IndexCheck(spec, state, IndexVerdict.OK, "", expected)


def _truthy(rows: list[asyncpg.Record]) -> tuple[bool, str]:
    if not rows:
        return False, "no rows"
    first = rows[0]
    if len(rows) == 1 and len(first) == 1:
        value = first[0]
        if value is None:
            return False, "NULL"
        if isinstance(value, bool):
            return value, str(value).lower()
        return True, str(value)
    return True, f"{len(rows)} row{'s' if len(rows) != 1 else ''}"


async def run_query(conn: asyncpg.Connection, stmt: Statement) -> QueryCheck:
    """A verification query, in a read-only transaction that is rolled back."""
    try:
        async with conn.transaction(readonly=True):
            rows = await conn.fetch(stmt.sql)
    except asyncpg.PostgresError as exc:
        return QueryCheck(stmt, False, "error", f"{exc} (SQLSTATE {exc.sqlstate})")
    ok, text = _truthy(rows)
    return QueryCheck(stmt, ok, text)


async def verify(settings: ConnectionSettings, migration: Migration) -> VerifyReport:
    conn = await connect(settings, MONITOR, migration.name)
    try:
        await conn.execute("SET statement_timeout = '60s'")
        return await verify_on(conn, migration, settings.display)
    finally:
        await close_quietly(conn)


async def verify_on(conn: asyncpg.Connection, migration: Migration, database: str) -> VerifyReport:
    report = VerifyReport(migration.name, database)
    up = migration.up
    specs = plan_section(up).indexes if up is not None else ()
    if specs:
        states = await catalog.indexes(conn, [s.lookup_name for s in specs])
        for spec, state in zip(specs, states, strict=True):
            report.indexes.append(await check_index(conn, spec, state))
    section = migration.section(VERIFY)
    for stmt in section.statements if section else ():
        report.queries.append(await run_query(conn, stmt))
    return report
