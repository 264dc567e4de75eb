"""Following a run from the database, for a face on another machine than its runner.

Without the runner's event log, the run shows itself on the server: its session
(``application_name`` "migration-console run NAME"), the build's progress, its
lock tree, and its run lock. Followed until the run lock is released.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg

from console.connection import MONITOR
from console.core import events as ev
from console.core import waits
from console.core.applied import migration_state
from console.core.migration_file import parse_migration, resolve_migration
from console.core.words import Standing
from console.db import runlock
from console.db.connect import close_quietly, connect
from console.settings import ConnectionSettings

POLL_S = 1.0


async def follow_from_database(
    settings: ConnectionSettings,
    migration: str,
    action: str = "run",
    migrations_dir: Path = Path("migrations"),
    *,
    poll_s: float = POLL_S,
) -> AsyncIterator[ev.Event]:
    conn = await connect(settings, MONITOR, migration)
    said: tuple[object, ...] = ()
    try:
        while True:
            report = await waits.analyse(conn, None)
            pid = waits.run_session_pid(report.sessions, migration)
            if pid is not None:
                report = await waits.analyse(conn, pid)
                p = report.progress
                if p is not None:
                    yield ev.IndexProgress(
                        0, p.index, p.table, p.phase, p.blocks_done, p.blocks_total,
                        p.tuples_done, p.tuples_total, p.lockers_done, p.lockers_total,
                        p.current_locker_pid,
                    )  # fmt: skip
                key = (report.direct_blockers, p.phase if p else None)
                if report.wait is not None and key != said:
                    said = key
                    yield ev.Waiting(0, settings.redact(report.reason), report.direct_blockers)
            elif await runlock.holder(conn, migration) is None:
                yield await _ended(conn, migration, action, migrations_dir)
                return
            await asyncio.sleep(poll_s)
    finally:
        await close_quietly(conn)


async def _ended(
    conn: asyncpg.Connection, name: str, action: str, migrations_dir: Path
) -> ev.RemoteEnded:
    migration = parse_migration(resolve_migration(name, migrations_dir))
    state, detail = await migration_state(conn, migration)
    goal = Standing.PENDING if action == "rollback" else Standing.APPLIED
    return ev.RemoteEnded(name, state, state == goal, detail)
