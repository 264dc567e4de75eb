"""The other tables history.toml keeps: sign-offs and measurements, as records.

The checklist decides what a sign-off means and ``measure`` how to measure; what
the file holds, and how it reads back, is here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from console.core.history.records import HistoryData, fold_sql
from console.core.history.store import HistoryStore

SIGNOFF_STATES = ("done", "skipped", "failed", "pending")  # pending resets a manual item


@dataclass(frozen=True)
class SignOff:
    migration: str
    item: str
    state: str
    by: str
    at: datetime
    note: str = ""


def save_signoff(store: HistoryStore, s: SignOff) -> None:
    """Append a ``[[signoffs]]`` table."""
    row = {"migration": s.migration, "item": s.item, "state": s.state, "by": s.by}
    store.append("signoffs", {**row, "at": _utc(s.at), "note": s.note})


def signoffs(data: HistoryData, migration: str) -> dict[str, SignOff]:
    """The latest sign-off per item of one migration (malformed entries skipped)."""
    rows = data.raw.get("signoffs", [])
    found: list[SignOff] = []
    for row in rows if isinstance(rows, list) else ():
        if not isinstance(row, dict) or row.get("migration") != migration:
            continue
        at, item, state = row.get("at"), row.get("item"), row.get("state")
        if not isinstance(at, datetime) or at.tzinfo is None or not isinstance(item, str):
            continue
        if state not in SIGNOFF_STATES:
            continue
        found.append(
            SignOff(migration, item, state, str(row.get("by", "")), at, str(row.get("note", "")))
        )
    latest: dict[str, SignOff] = {}
    for s in sorted(found, key=lambda s: s.at):  # stable: file order breaks ties
        latest[s.item] = s
    return latest


# -- measurements ----------------------------------------------------------------------


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
        return any(is_index_path(p) for p in self.access_paths)

    @property
    def seq_scan(self) -> bool:
        return any("Seq Scan" in p for p in self.access_paths)


@dataclass(frozen=True)
class Measurement:
    migration: str
    phase: str  # "baseline" (before the migration) or "after"
    at: datetime  # UTC
    queries: list[QueryMeasurement] = field(default_factory=list)


def is_index_path(path: str) -> bool:
    return " using " in path or "Bitmap Index Scan on " in path


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
