"""A measurement set beside another: each query's time before and after, the change, and
how each reaches its tables."""

from __future__ import annotations

from dataclasses import dataclass

from console.core.history import fold_sql
from console.core.history.tables import Measurement


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
