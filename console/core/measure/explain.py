"""Measuring compare queries: each runs ``repeat`` times under
``EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON)`` on the server (``console.db.explain``), and the
plans are read for medians, buffers, rows and access paths."""

from __future__ import annotations

import statistics
from datetime import UTC, datetime
from typing import Any

import asyncpg

from console.connection import MONITOR
from console.core.history.tables import Measurement, QueryMeasurement
from console.core.measure.guard import check_compare_statement, compare_statements
from console.core.model import Migration, Statement
from console.db.connect import close_quietly, connect
from console.db.explain import explain_analyze
from console.settings import ConnectionSettings

BASELINE, AFTER = "baseline", "after"
PHASES = (BASELINE, AFTER)


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
