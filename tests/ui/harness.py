"""Build the console app against a test database and wait for things without sleeping blindly."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from textual.pilot import Pilot
from textual.widgets import DataTable

from console.core.run import RunOptions
from console.core.service import ConsoleService, Overview
from console.core.settings import ConnectionSettings, resolve_connection
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
