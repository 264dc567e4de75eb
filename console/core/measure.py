"""Before/after query performance, measured: the migration's ``compare`` queries under
``EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON)``, their access paths, and the comparison.

Every compare query runs in a READ ONLY transaction that is always rolled back, with a
30 s ``statement_timeout``, and only when it is a plain query (SELECT, WITH ... SELECT,
VALUES, TABLE) without data-modifying CTEs, SELECT INTO or row locks: EXPLAIN ANALYZE
executes its statement. A query the server refuses (a timeout, a missing table, a write
the READ ONLY transaction blocks) is kept with its ``error`` instead of failing the rest.

Measurements are stored in history.toml as ``[[measurements]]``.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import asyncpg
from pglast import ast, parser

from console.core.history import fold_sql
from console.core.history.tables import (
    Measurement,
    QueryMeasurement,
    latest_measurement,
    measurements,
    save_measurement,
)
from console.core.model import COMPARE, Migration, Statement
from console.core.plan import plan_statement
from console.db.connect import MONITOR, close_quietly, connect
from console.db.explain import explain_analyze
from console.errors import BadInput
from console.settings import ConnectionSettings

__all__ = [
    "AFTER",
    "BASELINE",
    "Measurement",
    "QueryComparison",
    "QueryMeasurement",
    "compare",
    "latest_measurement",
    "measure",
    "measure_database",
    "measurements",
    "save_measurement",
]
BASELINE, AFTER = "baseline", "after"
PHASES = (BASELINE, AFTER)
_MODIFYING = (ast.InsertStmt, ast.UpdateStmt, ast.DeleteStmt, ast.MergeStmt)


@dataclass(frozen=True)
class QueryComparison:
    line: int
    sql: str
    before_ms: float | None
    after_ms: float | None
    change_pct: float | None  # negative = faster; None when either side is missing
    before_paths: tuple[str, ...]
    after_paths: tuple[str, ...]
    uses_index_after: bool
    seq_scan_before: bool


# -- checking and measuring ------------------------------------------------------------


def compare_statements(migration: Migration) -> tuple[Statement, ...]:
    """The compare section's statements; BadInput if one could change anything."""
    section = migration.section(COMPARE)
    if section is None or not section.statements:
        raise BadInput(
            f"{migration.path}: the migration has no `-- migrate:compare` queries to measure.",
            "Add the queries the migration should speed up under `-- migrate:compare`.",
        )
    for stmt in section.statements:
        check_compare_statement(stmt, str(migration.path))
    return section.statements


def check_compare_statement(stmt: Statement, path: str = "<compare>") -> None:
    """Refuse anything but a plain query: EXPLAIN ANALYZE runs what it explains."""
    kind = plan_statement(stmt).kind
    why = f"is {kind}" if kind != "SELECT" else _refusal(parser.parse_sql(stmt.sql)[0].stmt)
    if why:
        raise BadInput(
            f"{path}:{stmt.line}: the compare query {why}; compare queries must be "
            "plain SELECT, WITH ... SELECT, VALUES or TABLE queries.",
            "EXPLAIN ANALYZE executes the query: move it to another section.",
        )


def _refusal(tree: ast.Node | None) -> str | None:
    """Why a SELECT statement may still write or lock, or None."""
    stack: list[object] = [tree]
    while stack:
        item = stack.pop()
        if isinstance(item, tuple):
            stack.extend(item)
        elif isinstance(item, ast.Node):
            if isinstance(item, _MODIFYING):
                return "modifies data in a WITH query"
            if isinstance(item, ast.SelectStmt) and item.intoClause is not None:
                return "is SELECT INTO, which creates a table"
            if isinstance(item, ast.SelectStmt) and item.lockingClause:
                return "locks rows (FOR UPDATE/SHARE)"
            stack.extend(getattr(item, member) for member in item)
    return None


async def measure(
    conn: asyncpg.Connection, migration: Migration, *, repeat: int = 3, phase: str = BASELINE
) -> Measurement:
    """Run every compare query ``repeat`` times under EXPLAIN ANALYZE; keep the medians."""
    if phase not in PHASES:
        raise ValueError(f"phase must be one of {PHASES}, not {phase!r}")
    statements = compare_statements(migration)  # all checked before any runs
    at = datetime.now(UTC)
    queries = [await measure_query(conn, stmt, repeat=repeat) for stmt in statements]
    return Measurement(migration.name, phase, at, queries)


async def measure_database(
    settings: ConnectionSettings, migration: Migration, *, repeat: int = 3, phase: str = BASELINE
) -> Measurement:
    """``measure`` on a monitor connection of its own."""
    compare_statements(migration)  # refuse before connecting
    conn = await connect(settings, MONITOR, migration.name)
    try:
        return await measure(conn, migration, repeat=repeat, phase=phase)
    finally:
        await close_quietly(conn)


async def measure_query(
    conn: asyncpg.Connection, stmt: Statement, *, repeat: int = 3
) -> QueryMeasurement:
    check_compare_statement(stmt)
    try:
        docs = await explain_analyze(conn, stmt.sql, repeat=repeat)
    except asyncpg.PostgresError as exc:
        error = f"{exc} (SQLSTATE {exc.sqlstate})"
        return QueryMeasurement(stmt.line, stmt.sql, None, None, error=error)
    return from_explain(stmt, docs)


def from_explain(stmt: Statement, docs: list[dict[str, Any]]) -> QueryMeasurement:
    """One query's measurement from its EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) documents."""
    if not docs:
        raise ValueError("no EXPLAIN output to measure")
    ordered = sorted(docs, key=lambda d: float(d.get("Execution Time", 0.0)))
    middle = ordered[(len(ordered) - 1) // 2]
    top = middle.get("Plan", {})
    return QueryMeasurement(
        line=stmt.line,
        sql=stmt.sql,
        execution_ms=round(statistics.median(float(d.get("Execution Time", 0)) for d in docs), 3),
        planning_ms=round(statistics.median(float(d.get("Planning Time", 0)) for d in docs), 3),
        access_paths=access_paths(top),
        shared_hit=int(top.get("Shared Hit Blocks", 0)),
        shared_read=int(top.get("Shared Read Blocks", 0)),
        rows=round(float(top.get("Actual Rows", 0))),
    )


def access_paths(plan: dict[str, Any]) -> tuple[str, ...]:
    """How a plan reaches its tables, as EXPLAIN's text format says it, in plan order."""
    seen: dict[str, None] = {}
    stack = [plan]
    while stack:
        node = stack.pop()
        path = _describe(node)
        if path:
            seen.setdefault(path, None)
        stack.extend(reversed(node.get("Plans", [])))
    return tuple(seen)


def _describe(node: dict[str, Any]) -> str | None:
    kind = str(node.get("Node Type", ""))
    index, relation = node.get("Index Name"), node.get("Relation Name")
    if node.get("Parallel Aware"):
        kind = f"Parallel {kind}"
    if index and kind.endswith("Bitmap Index Scan"):
        return f"{kind} on {index}"
    if index:
        backward = " Backward" if node.get("Scan Direction") == "Backward" else ""
        return f"{kind}{backward} using {index}" + (f" on {relation}" if relation else "")
    if relation:
        return f"{kind} on {relation}"
    return None


# -- comparing -------------------------------------------------------------------------


def compare(before: Measurement, after: Measurement) -> list[QueryComparison]:
    """Each ``after`` query beside the ``before`` query with the same SQL (else line)."""
    by_sql = {fold_sql(q.sql): q for q in before.queries}
    by_line = {q.line: q for q in before.queries}
    out = []
    for q in after.queries:
        b = by_sql.get(fold_sql(q.sql)) or by_line.get(q.line)
        before_ms = b.execution_ms if b else None
        change = None
        if before_ms and q.execution_ms is not None:
            change = round((q.execution_ms - before_ms) / before_ms * 100, 1)
        out.append(
            QueryComparison(
                line=q.line,
                sql=q.sql,
                before_ms=before_ms,
                after_ms=q.execution_ms,
                change_pct=change,
                before_paths=b.access_paths if b else (),
                after_paths=q.access_paths,
                uses_index_after=q.uses_index,
                seq_scan_before=b.seq_scan if b else False,
            )
        )
    return out


def main_access_path(paths: tuple[str, ...]) -> str:
    """The access path that matters for people: an index scan if any, else the first scan."""
    for want in ("Index", "Scan"):
        found = [p for p in paths if want in p]
        if found:
            return found[0]
    return paths[0] if paths else "?"
