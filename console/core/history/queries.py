"""Questions asked of history.toml's content: which runs are still open, which to follow."""

from __future__ import annotations

from console.core.history.records import RUNNING, HistoryData, RunRecord


def open_runs(history: HistoryData, migration: str | None = None) -> list[RunRecord]:
    """Records still marked ``running`` (the latest of each migration)."""
    latest: dict[str, RunRecord] = {}
    for r in history.runs:
        if migration is None or r.migration == migration:
            latest[r.migration] = r
    return [r for r in latest.values() if r.status == RUNNING]


def latest(history: HistoryData, migration: str | None = None) -> RunRecord | None:
    """The run to attach to: one still running, else the most recent one."""
    runs = [r for r in history.runs if migration is None or r.migration == migration]
    running = [r for r in runs if r.status == RUNNING]
    chosen = running or runs
    return chosen[-1] if chosen else None
