"""Each migration file's state on the connected database: whether it is applied
(``applied``), what history.toml says of its last run, and a run in progress or
interrupted."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import asyncpg

from console.core.applied import migration_state
from console.core.history import HistoryData, open_runs
from console.core.migration_file import list_migrations, parse_migration
from console.core.run import recovery
from console.core.words import Standing
from console.errors import BadInput


@dataclass(frozen=True)
class MigrationStatus:
    name: str
    path: Path
    state: str
    detail: str
    last_run: str | None = None  # from history.toml, e.g. "run succeeded 2025-11-23 19:05 UTC"


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
            out.append(MigrationStatus(path.stem, path, Standing.UNREADABLE, exc.message, last))
            continue
        state, detail = await migration_state(conn, migration)
        if state in (Standing.PENDING, Standing.PARTIAL, Standing.UNKNOWN) and _last_run_failed(
            history, migration.name
        ):
            state = Standing.FAILED
        for record in open_runs(history, migration.name):
            run = await recovery.state_of(conn, record, directory)
            where = f"runner pid {record.runner_pid} on {record.host or '?'}"
            if run.in_progress:
                state, detail = Standing.RUNNING, f"{record.action} in progress ({where}); {detail}"
            else:
                state, detail = Standing.INTERRUPTED, " ".join(run.describe()[1:-1]) or detail
                last = f"{record.action} interrupted: its {where} went away"
        out.append(MigrationStatus(migration.name, path, state, detail, last))
    return out
