"""Rehearsals in the console `demo` opened: started and stopped from the command palette,
what to look for in the banner, and the practice itself (the hang resolved from the
console ends the rehearsal)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import asyncpg
import pytest
from textual.command import CommandList, CommandPalette
from textual.pilot import Pilot
from textual.widgets import DataTable

from console.core.run import RunOptions
from console.demo import scenarios
from console.tui.app import MigrationConsoleApp
from console.tui.widgets.banner import Banner
from tests.helpers import poll_until
from tests.ui.harness import loaded, make_app, press_and_confirm, until

APP = scenarios.APP_PREFIX
GONE = f"SELECT count(*) = 0 FROM pg_stat_activity WHERE application_name LIKE '{APP}%'"


@pytest.fixture
def demo_dir(tmp_path: Path) -> Iterator[Path]:
    """Where the rehearsals keep their records; every one is stopped afterwards."""
    folder = tmp_path / "demo"
    folder.mkdir()
    yield folder
    scenarios.stop(state_dir=folder)


def rehearsing(
    db_url: str, tmp_path: Path, demo_dir: Path, **kwargs: object
) -> MigrationConsoleApp:
    """The console as `demo` opens it: its rehearsals recorded in the demo's folder."""
    return make_app(db_url, tmp_path, rehearsals=demo_dir, **kwargs)  # type: ignore[arg-type]


def titles(app: MigrationConsoleApp) -> list[str]:
    return [c.title for c in app.get_system_commands(app.screen)]


async def palette(pilot: Pilot[int], text: str, title: str) -> None:
    """Open the command palette, search, and run the command called `title`."""
    app = pilot.app
    await pilot.press("ctrl+p")
    await until(lambda: isinstance(app.screen, CommandPalette))
    await pilot.press(*text)
    commands = app.screen.query_one(CommandList)

    def highlighted() -> str:
        if commands.highlighted is None:
            return ""
        return str(commands.get_option_at_index(commands.highlighted).prompt)

    await until(lambda: title in highlighted())
    await pilot.press("enter")
    await until(lambda: not isinstance(app.screen, CommandPalette))


def banner(app: MigrationConsoleApp) -> str:
    return str(app.query_one(Banner).render())


async def test_no_rehearsal_is_offered_outside_the_demo(db_url: str, tmp_path: Path) -> None:
    """They hang the database they run on: only the console `demo` opened offers them."""
    app = make_app(db_url, tmp_path, start_refresh=False)
    async with app.run_test(size=(120, 40)):
        await loaded(app)
        assert "Show Blockers" in titles(app)
        assert not [t for t in titles(app) if "rehears" in t.lower()]


async def test_practise_a_writer_idle_in_transaction_from_the_palette(
    db_url: str, tmp_path: Path, demo_dir: Path, observer: asyncpg.Connection
) -> None:
    """The idle-writer rehearsal as its text says: the migration waits, Blockers names the
    writer, terminating it lets the build go on, and the rehearsal is over."""
    app = rehearsing(
        db_url, tmp_path, demo_dir, options=RunOptions(lock_timeout_s=120, lock_retries=0)
    )
    writer = scenarios.SCENARIOS["idle-writer"]
    async with app.run_test(size=(120, 40)) as pilot:
        await loaded(app)
        assert f"Rehearse: {writer.title}" in titles(app)
        await palette(pilot, "rehearse writer", f"Rehearse: {writer.title}")
        await until(lambda: "Rehearsal idle-writer" in banner(app))
        assert [r.name for r in scenarios.running(demo_dir)] == ["idle-writer"]
        assert f"Stop rehearsal: {writer.title}" in titles(app)
        await pilot.press("e")  # what to look for, in full
        await until(lambda: writer.look_for[0][:30] in banner(app))

        await press_and_confirm(pilot, "r")
        await pilot.press("4")
        pid = scenarios.running(demo_dir)[0].sessions[0]
        table = app.query_one("#blockers-table", DataTable)
        await until(lambda: str(pid) in [str(k.value) for k in table.rows])
        table.move_cursor(row=table.get_row_index(str(pid)))
        await press_and_confirm(pilot, "t")
        await until(lambda: app.runs.last_result is not None, limit_s=60)
        assert app.runs.last_result is not None and app.runs.last_result.status == "succeeded"
        await until(lambda: not scenarios.running(demo_dir))
        await until(lambda: "Rehearsal" not in banner(app))  # the banner follows it
        await poll_until(observer, GONE)


async def test_a_rehearsal_stops_from_the_palette(
    db_url: str, tmp_path: Path, demo_dir: Path, observer: asyncpg.Connection
) -> None:
    app = rehearsing(db_url, tmp_path, demo_dir, start_refresh=False)
    report = scenarios.SCENARIOS["long-query"]
    async with app.run_test(size=(80, 24)) as pilot:
        await loaded(app)
        await palette(pilot, "rehearse report", f"Rehearse: {report.title}")
        await until(lambda: "Rehearsal long-query" in banner(app))
        await poll_until(
            observer,
            f"SELECT count(*) = 1 FROM pg_stat_activity WHERE application_name LIKE '{APP}%' "
            "AND wait_event = 'PgSleep'",
        )
        await palette(pilot, "stop rehearsal", f"Stop rehearsal: {report.title}")
        await until(lambda: "Rehearsal" not in banner(app))
        assert scenarios.running(demo_dir) == []
        await poll_until(observer, GONE)
        assert f"Rehearse: {report.title}" in titles(app)
