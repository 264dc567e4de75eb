"""Acting on blockers from the console: confirmation, privileges, read-only, history."""

from __future__ import annotations

import tomllib
from pathlib import Path

import asyncpg
from textual.widgets import DataTable

from console.core.run import RunOptions
from console.tui.dialogs.confirm import ConfirmModal
from console.tui.widgets.blockers import BlockersPanel
from tests.helpers import OTHER_ROLE, hold_write, with_user
from tests.ui.harness import loaded, make_app, press_and_confirm, until


def _select(app, pid: int) -> None:  # type: ignore[no-untyped-def]
    table = app.query_one("#blockers-table", DataTable)
    table.move_cursor(row=table.get_row_index(str(pid)))


async def test_terminate_blocker_after_confirmation_then_migration_finishes(
    db_url: str, helper: asyncpg.Connection, tmp_path: Path
) -> None:
    await hold_write(helper)
    pid = helper.get_server_pid()
    app = make_app(db_url, tmp_path, options=RunOptions(lock_timeout_s=120, lock_retries=0))
    async with app.run_test(size=(120, 40)) as pilot:
        await loaded(app)
        await press_and_confirm(pilot, "r")
        await pilot.press("4")
        table = app.query_one("#blockers-table", DataTable)
        await until(
            lambda: (
                str(pid) in [str(k.value) for k in table.rows]
                and "▲1" in str(table.get_row(str(pid))[0])
            )
        )
        explain = str(app.query_one("#blockers-explain").render())
        assert "waiting for writers before build" in explain
        _select(app, pid)
        await pilot.press("t")
        await until(lambda: isinstance(app.screen, ConfirmModal))
        body = str(app.screen.query_one(".dialog-body Static").render())
        assert f"pid {pid}" in body and "test-helper" in body and "idle in transaction" in body
        assert "rolled back" in body
        await pilot.press("y")
        await until(lambda: app.runs.last_result is not None)
        assert app.runs.last_result is not None and app.runs.last_result.status == "succeeded"
    assert helper.is_closed() or not await _alive(helper)
    data = tomllib.loads((tmp_path / "history.toml").read_text())
    action = data["runs"][-1]["actions"][0]
    assert (action["what"], action["pid"], action["by"]) == ("terminate", pid, "tester@ci")
    assert action["application"] == "test-helper"


async def _alive(conn: asyncpg.Connection) -> bool:
    try:
        await conn.fetchval("SELECT 1")
    except (asyncpg.PostgresError, asyncpg.InterfaceError, OSError):
        return False
    return True


async def test_actions_disabled_without_privilege(
    db_url: str, helper: asyncpg.Connection, tmp_path: Path
) -> None:
    await helper.execute("BEGIN; SELECT count(*) FROM call_costs")
    app = make_app(with_user(db_url, OTHER_ROLE), tmp_path, start_refresh=True)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("4")
        panel = app.query_one(BlockersPanel)
        table = app.query_one("#blockers-table", DataTable)
        await until(lambda: str(helper.get_server_pid()) in [str(k.value) for k in table.rows])
        _select(app, helper.get_server_pid())
        await pilot.pause()
        assert panel.check_action("act", ("terminate",)) is None  # shown, disabled
        explain = str(app.query_one("#blockers-explain").render())
        assert "c/t disabled" in explain and "superuser" in explain
        await pilot.press("t")
        await pilot.pause()
        assert not isinstance(app.screen, ConfirmModal)
    assert await _alive(helper)


async def test_read_only_hides_actions_and_connects_read_only(
    db_url: str, helper: asyncpg.Connection, tmp_path: Path
) -> None:
    await helper.execute("BEGIN; SELECT count(*) FROM call_costs")
    app = make_app(db_url, tmp_path, read_only=True)
    async with app.run_test(size=(120, 40)) as pilot:
        await loaded(app)
        assert app.check_action("run", ()) is False
        assert app.check_action("rollback", ()) is False
        await pilot.press("r")
        await pilot.pause()
        assert not isinstance(app.screen, ConfirmModal)
        await pilot.press("4")
        panel = app.query_one(BlockersPanel)
        table = app.query_one("#blockers-table", DataTable)
        await until(lambda: str(helper.get_server_pid()) in [str(k.value) for k in table.rows])
        _select(app, helper.get_server_pid())
        assert panel.check_action("act", ("cancel",)) is False  # hidden
        bindings = {b.binding.key for b in app.active_bindings.values() if b.binding.show}
        assert "c" not in bindings and "r" not in bindings
        read_only = await app.service.with_monitor(
            lambda c: c.fetchval("SHOW default_transaction_read_only")
        )
        assert read_only == "on"
    assert await _alive(helper)
