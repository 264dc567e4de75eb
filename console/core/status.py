"""Each migration file's state on the connected database."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import asyncpg

from console.core.history import HistoryData, open_runs
from console.core.migration_file import list_migrations, parse_migration
from console.core.model import Migration
from console.core.plan import section_indexes
from console.core.run import recovery
from console.db import catalog
from console.errors import BadInput

PENDING, APPLIED, PARTIAL, INVALID, UNREADABLE, UNKNOWN = (
    "pending",
    "applied",
    "partial",
    "invalid index",
    "unreadable",
    "unknown",
)
FAILED = "failed"  # the last run failed and left nothing applied
RUNNING, INTERRUPTED = "running", "interrupted"  # a run in progress; one whose runner went away
BUILDING = "building"  # an index of it is being built right now (INVALID until it is done)


@dataclass(frozen=True)
class MigrationStatus:
    name: str
    path: Path
    state: str
    detail: str
    last_run: str | None = None  # from history.toml, e.g. "run succeeded 2025-11-23 19:05 UTC"


def index_names(migration: Migration) -> list[str]:
    """The indexes the up section creates; only its CREATE statements are planned."""
    up = migration.up
    if up is None:
        return []
    return [s.lookup_name for s in section_indexes(up)]


async def migration_state(conn: asyncpg.Connection, migration: Migration) -> tuple[str, str]:
    names = index_names(migration)
    if not names:
        return UNKNOWN, "no indexes to look for: see history"
    states = await catalog.indexes(conn, names)
    invalid = [s.qualified or s.name for s in states if s.invalid and not s.building_pid]
    building = [f"{s.qualified or s.name} (pid {s.building_pid})" for s in states if s.building_pid]
    present = [s for s in states if s.exists and not s.invalid]
    if invalid:
        return INVALID, f"INVALID: {', '.join(invalid)}"
    if building:
        return BUILDING, f"being built right now: {', '.join(building)}"
    if len(present) == len(states):
        return APPLIED, f"{len(states)} of {len(states)} indexes present"
    if present:
        missing = [s.name for s in states if not s.exists]
        return (
            PARTIAL,
            f"{len(present)} of {len(states)} indexes present; missing {', '.join(missing)}",
        )
    return PENDING, f"0 of {len(states)} indexes present"


def last_run(history: HistoryData, name: str) -> str | None:
    """The migration's latest run as a short phrase, else its history row's status."""
    runs = history.runs_of(name)
    if runs:
        run = runs[-1]
        when = f"{run.started_at:%Y-%m-%d %H:%M} UTC" if run.started_at else ""
        return f"{run.action} {run.status} {when}".strip()
    row = history.row(name)
    if row is None:
        return None
    return f"{row.status} ({row.date})" if row.date else row.status


def _last_run_failed(history: HistoryData, name: str) -> bool:
    runs = history.runs_of(name)
    return bool(runs) and runs[-1].action == "run" and runs[-1].status == "failed"


async def statuses(
    conn: asyncpg.Connection, directory: Path, history: HistoryData | None = None
) -> list[MigrationStatus]:
    history = history or HistoryData()
    out: list[MigrationStatus] = []
    for path in list_migrations(directory):
        last = last_run(history, path.stem)
        try:
            migration = parse_migration(path)
        except BadInput as exc:
            out.append(MigrationStatus(path.stem, path, UNREADABLE, exc.message, last))
            continue
        state, detail = await migration_state(conn, migration)
        if state in (PENDING, PARTIAL, UNKNOWN) and _last_run_failed(history, migration.name):
            state = FAILED
        for record in open_runs(history, migration.name):
            run = await recovery.state_of(conn, record, directory)
            where = f"runner pid {record.runner_pid} on {record.host or '?'}"
            if run.in_progress:
                state, detail = RUNNING, f"{record.action} in progress ({where}); {detail}"
            else:
                state, detail = INTERRUPTED, " ".join(run.describe()[1:-1]) or detail
                last = f"{record.action} interrupted: its {where} went away"
        out.append(MigrationStatus(migration.name, path, state, detail, last))
    return out
