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
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import asyncpg
from pglast import ast, parser

from console.core.errors import BadInput
from console.core.history import HistoryData, HistoryStore, fold_sql
from console.core.model import COMPARE, Migration, Statement
from console.core.plan import plan_statement
from console.core.settings import ConnectionSettings
from console.db.connect import MONITOR, close_quietly, connect
from console.db.explain import explain_analyze

BASELINE, AFTER = "baseline", "after"
PHASES = (BASELINE, AFTER)
_MODIFYING = (ast.InsertStmt, ast.UpdateStmt, ast.DeleteStmt, ast.MergeStmt)


@dataclass(frozen=True)
class QueryMeasurement:
    line: int  # where the query starts in the migration file
    sql: str
    execution_ms: float | None  # median over the repeats; None when the query failed
    planning_ms: float | None
    access_paths: tuple[str, ...] = ()  # e.g. "Index Scan using idx_a on t", "Seq Scan on t"
    shared_hit: int = 0  # shared buffers found in cache (the median run's)
    shared_read: int = 0  # shared buffers read from disk or the OS cache
    rows: int = 0  # rows the query returned
    error: str | None = None  # the server's refusal, e.g. a statement timeout

    @property
    def uses_index(self) -> bool:
        return any(_is_index_path(p) for p in self.access_paths)

    @property
    def seq_scan(self) -> bool:
        return any("Seq Scan" in p for p in self.access_paths)


@dataclass(frozen=True)
class Measurement:
    migration: str
    phase: str  # "baseline" (before the migration) or "after"
    at: datetime  # UTC
    queries: list[QueryMeasurement] = field(default_factory=list)


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


def _is_index_path(path: str) -> bool:
    return " using " in path or "Bitmap Index Scan on " in path


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


# -- history.toml ----------------------------------------------------------------------


def save_measurement(store: HistoryStore, m: Measurement) -> None:
    """Append a ``[[measurements]]`` table to history.toml."""
    record = {
        "migration": m.migration,
        "phase": m.phase,
        "at": _utc(m.at),
        "queries": [_query_to_toml(q) for q in m.queries],
    }
    store.append("measurements", record)


def latest_measurement(data: HistoryData, migration: str, phase: str) -> Measurement | None:
    """The newest stored measurement of a migration in a phase (malformed entries skipped)."""
    found = [m for m in measurements(data) if m.migration == migration and m.phase == phase]
    return max(found, key=lambda m: m.at) if found else None


def measurements(data: HistoryData) -> list[Measurement]:
    """Every well-formed ``[[measurements]]`` entry, in file order."""
    rows = data.raw.get("measurements", [])
    out = []
    for row in rows if isinstance(rows, list) else ():
        m = _from_toml(row)
        if m is not None:
            out.append(m)
    return out


def _query_to_toml(q: QueryMeasurement) -> dict[str, Any]:
    out: dict[str, Any] = {"line": q.line, "sql": fold_sql(q.sql)}
    if q.execution_ms is not None:
        out["execution_ms"] = q.execution_ms
    if q.planning_ms is not None:
        out["planning_ms"] = q.planning_ms
    out.update(
        access_paths=list(q.access_paths),
        shared_hit=q.shared_hit,
        shared_read=q.shared_read,
        rows=q.rows,
    )
    if q.error:
        out["error"] = q.error
    return out


def _from_toml(row: Any) -> Measurement | None:
    if not isinstance(row, dict):
        return None
    at, queries = row.get("at"), row.get("queries", [])
    if not isinstance(at, datetime) or at.tzinfo is None or not isinstance(queries, list):
        return None
    try:
        parsed = [
            QueryMeasurement(
                line=int(q.get("line", 0)),
                sql=str(q.get("sql", "")),
                execution_ms=_float(q.get("execution_ms")),
                planning_ms=_float(q.get("planning_ms")),
                access_paths=tuple(str(p) for p in q.get("access_paths", [])),
                shared_hit=int(q.get("shared_hit", 0)),
                shared_read=int(q.get("shared_read", 0)),
                rows=int(q.get("rows", 0)),
                error=str(q["error"]) if q.get("error") else None,
            )
            for q in queries
        ]
    except (AttributeError, TypeError, ValueError):
        return None
    return Measurement(
        str(row.get("migration", "")), str(row.get("phase", "")), at.astimezone(UTC), parsed
    )


def _float(value: Any) -> float | None:
    return None if value is None else float(value)


def _utc(value: datetime) -> datetime:
    if value.tzinfo is None:
        raise ValueError("measurement timestamps must be timezone-aware")
    value = value.astimezone(UTC)
    return value.replace(microsecond=value.microsecond // 1000 * 1000)


def main_access_path(paths: tuple[str, ...]) -> str:
    """The access path that matters for people: an index scan if any, else the first scan."""
    for want in ("Index", "Scan"):
        found = [p for p in paths if want in p]
        if found:
            return found[0]
    return paths[0] if paths else "?"
