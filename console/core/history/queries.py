"""Questions asked of history.toml's content: which runs are still open, which to follow."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from console.core.history.records import HistoryData, RunRecord
from console.core.words import Outcome


def open_runs(history: HistoryData, migration: str | None = None) -> list[RunRecord]:
    """Records still marked ``running`` (the latest of each migration)."""
    latest: dict[str, RunRecord] = {}
    for r in history.runs:
        if migration is None or r.migration == migration:
            latest[r.migration] = r
    return [r for r in latest.values() if r.status == Outcome.RUNNING]


def latest(history: HistoryData, migration: str | None = None) -> RunRecord | None:
    """The run to attach to: one still running, else the most recent one."""
    runs = [r for r in history.runs if migration is None or r.migration == migration]
    running = [r for r in runs if r.status == Outcome.RUNNING]
    chosen = running or runs
    return chosen[-1] if chosen else None


@dataclass(frozen=True)
class OperatorAction:
    """Something an operator did: to a session (cancel, terminate) or to a run (cancel,
    keep waiting, give up), with the run it happened in."""

    at: datetime | None
    what: str
    by: str
    pid: int | None = None
    migration: str = ""  # the run's migration ("" outside a run)
    detail: str = ""  # the session acted on: application, state; or "was already gone"


def actions(history: HistoryData) -> list[OperatorAction]:
    """Every action recorded, newest first: those in runs' records and the top-level ones."""
    found = [
        _action(a, r.migration) for r in history.runs for a in r.actions if isinstance(a, dict)
    ]
    top = history.raw.get("actions", [])
    found += [_action(a, "") for a in (top if isinstance(top, list) else ()) if isinstance(a, dict)]
    oldest = datetime.min.replace(tzinfo=UTC)
    return sorted(found, key=lambda a: a.at or oldest, reverse=True)


def _action(a: dict[str, Any], migration: str) -> OperatorAction:
    at = a.get("at")
    pid = a.get("pid")
    parts = [str(a[k]) for k in ("application", "state") if a.get(k)]
    if a.get("signalled") is False:
        parts.append("it was already gone")
    return OperatorAction(
        at if isinstance(at, datetime) else None,
        str(a.get("what", "?")),
        str(a.get("by", "")),
        pid if isinstance(pid, int) else None,
        migration,
        ", ".join(parts),
    )
