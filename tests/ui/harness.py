"""Build the console app against a test database and wait for things without sleeping blindly."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import replace
from pathlib import Path

import asyncpg
from textual.pilot import Pilot
from textual.widgets import DataTable

from console.connection import LOCK, MONITOR, RUN, application_name
from console.core.run import RunOptions
from console.core.service import ConsoleService, Overview
from console.settings import ConnectionSettings, resolve_connection
from console.tui.app import MigrationConsoleApp
from console.tui.dialogs.confirm import ConfirmModal
from tests.helpers import MIGRATIONS

# A fixed, plausible URL shown on screen in snapshots (the real one has a random
# database name and a temporary socket folder).
SNAPSHOT_DISPLAY = "postgresql://app:***@db.example.internal:5432/app"


class SnapshotService(ConsoleService):
    """The real service, with the server's minor version cut to the major one, so
    snapshots survive a PostgreSQL patch release of the embedded server."""

    async def overview(self) -> Overview:
        o = await super().overview()
        return replace(o, version=o.version.split(".")[0])


def make_app(
    db_url: str,
    tmp_path: Path,
    *,
    options: RunOptions | None = None,
    refresh_s: float = 0.2,
    start_refresh: bool = True,
    display: str | None = None,
    history: Path | None = None,
    read_only: bool = False,
    doctor: bool | None = None,
    rehearsals: Path | None = None,
) -> MigrationConsoleApp:
    settings = resolve_connection(db_url, env={})
    if display is not None:
        settings = ConnectionSettings(settings.dsn, settings.source, display, settings.secrets)
    service = (SnapshotService if display is not None else ConsoleService)(
        settings,
        MIGRATIONS,
        history or tmp_path / "history.toml",
        "tester@ci",
        environment={},
        read_only=read_only,
    )
    app = MigrationConsoleApp(
        service,
        options=options,
        refresh_s=refresh_s,
        start_refresh=start_refresh,
        doctor=display is None if doctor is None else doctor,  # snapshots: no toasts
        rehearsals=rehearsals,
    )
    app.animation_level = "none"  # screenshots never catch a colour mid-fade
    return app


async def until(predicate: Callable[[], object], limit_s: float = 30.0) -> None:
    """Wait until predicate() holds; fails the test if it never does (bounds a wait only)."""
    loop = asyncio.get_running_loop()
    end = loop.time() + limit_s
    while not predicate():
        if loop.time() > end:
            raise AssertionError("the console never reached the expected state")
        await asyncio.sleep(0.05)


async def loaded(app: MigrationConsoleApp) -> None:
    """The migrations table has the shipped migration's row from the database."""
    await until(lambda: app.query_one("#migrations-table", DataTable).row_count == 1)


async def press_and_confirm(pilot: Pilot[int], *keys: str) -> None:
    """Press keys that open a confirmation, and answer yes."""
    await pilot.press(*keys)
    await until(lambda: isinstance(pilot.app.screen, ConfirmModal))
    await pilot.press("y")


async def answer(pilot: Pilot[int], key: str, group: str) -> None:
    """Answer the open confirmation with key, then wait until the app has done all it does
    with the answer: the workers of `group` (the one that asked among them) have ended.
    A No ends the asking worker at once; a Yes only once what it started is done."""
    assert isinstance(pilot.app.screen, ConfirmModal)
    asking = [w for w in pilot.app.workers if w.group == group and not w.is_finished]
    assert asking, f"no {group} worker is waiting for the answer"
    await pilot.press(key)
    await until(lambda: all(w.is_finished for w in asking))


def events_logged(log: Path, kind: str) -> int:
    """How many events of that kind a run's event log holds so far (its whole lines: the
    runner may be writing the last one)."""
    if not log.exists():
        return 0
    lines = log.read_text(encoding="utf-8").split("\n")[:-1]
    return sum(1 for line in lines if line.strip() and json.loads(line).get("event") == kind)


def migration_sessions(migration: str) -> list[str]:
    """The application_name of every session the console opens for one migration: the
    runner's (its run lock, monitor and migration session) and the checks before a launch."""
    return [application_name(role, migration) for role in (RUN, MONITOR, LOCK)]


@asynccontextmanager
async def sessions_seen(conn: asyncpg.Connection, names: list[str]) -> AsyncIterator[set[str]]:
    """Watch pg_stat_activity (on a session of its own: conn is the watcher's alone) while
    the block runs; yields the set of the sessions named `names` it saw, filled in as it
    goes ("application_name pid"). It looks every 10 ms: a runner's sessions last as long
    as its run (a process start, a lock, the statements), far longer than that."""
    seen: set[str] = set()
    stop = asyncio.Event()

    async def watch() -> None:
        while True:
            rows = await conn.fetch(
                "SELECT application_name, pid FROM pg_stat_activity "
                "WHERE application_name = ANY($1::text[]) AND datname = current_database()",
                names,
            )
            seen.update(f"{r['application_name']} {r['pid']}" for r in rows)
            if stop.is_set():
                return  # one last look after the block ended
            try:
                await asyncio.wait_for(stop.wait(), 0.01)
            except TimeoutError:
                pass

    task = asyncio.ensure_future(watch())
    try:
        yield seen
    finally:
        stop.set()
        await task
