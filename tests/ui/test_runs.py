"""Runs from the console: they outlive it, it finds them again, it asks after --max-wait."""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import tomllib
from pathlib import Path

import asyncpg
from textual.widgets import DataTable, OptionList

from console.core.run import RunOptions
from console.tui.dialogs.choice import ChoiceModal
from console.tui.dialogs.confirm import ConfirmModal
from console.tui.widgets.run_log import RunPanel
from tests.helpers import ROOT, RUN_SESSION, hold_write, logged, poll_until, run_log, spawn_cli
from tests.ui.harness import loaded, make_app, press_and_confirm, until

NAME = "add_composite_indexes_20251123"


def runs(history: Path) -> list[dict]:
    return tomllib.loads(history.read_text()).get("runs", []) if history.exists() else []


async def test_quit_leaving_the_run_running_then_reopen_follows_it(
    db_url: str, helper: asyncpg.Connection, tmp_path: Path
) -> None:
    await hold_write(helper)
    history = tmp_path / "history.toml"
    app = make_app(db_url, tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await loaded(app)
        await press_and_confirm(pilot, "r")
        panel = app.query_one(RunPanel)
        await until(lambda: any("⏳ waiting" in line for line in panel.lines))
        await pilot.press("q")
        await until(lambda: isinstance(app.screen, ChoiceModal))
        await pilot.press("l")  # leave it running
        await until(lambda: app.return_value is not None)
    assert app.return_value == 0
    assert runs(history)[-1]["status"] == "running"  # the runner goes on without the console
    again = make_app(db_url, tmp_path)
    async with again.run_test(size=(80, 24)):
        await until(lambda: again.runs.active is not None)  # found at start, followed
        panel = again.query_one(RunPanel)
        await until(lambda: any(line.startswith("[1/7]") for line in panel.lines))  # log so far
        await helper.execute("ROLLBACK")
        await until(lambda: again.runs.last_result is not None)
        assert again.runs.last_result is not None and again.runs.last_result.status == "succeeded"
    assert runs(history)[-1]["status"] == "succeeded"


async def test_max_wait_asks_keep_waiting_then_terminate_the_holder(
    db_url: str, helper: asyncpg.Connection, tmp_path: Path
) -> None:
    await hold_write(helper)
    pid = helper.get_server_pid()
    options = RunOptions(lock_timeout_s=5, lock_retries=0, max_wait_s=0.5)
    app = make_app(db_url, tmp_path, options=options)
    async with app.run_test(size=(80, 24)) as pilot:
        await loaded(app)
        await press_and_confirm(pilot, "r")
        await until(
            lambda: isinstance(app.screen, ChoiceModal) and app.screen.query(".dialog-body Static")
        )
        body = str(app.screen.query_one(".dialog-body Static").render())
        # Who holds the build first: on a short terminal the rest is a scroll away.
        assert body.startswith(f"Holder: pid {pid} (test-helper") and "the build is kept" in body
        await pilot.press("k")  # keep waiting: asked again after another max-wait
        await until(lambda: not isinstance(app.screen, ChoiceModal))
        await until(lambda: isinstance(app.screen, ChoiceModal))
        await pilot.press("t")  # terminate the holder: the build goes on
        await until(lambda: app.runs.last_result is not None)
        assert app.runs.last_result is not None and app.runs.last_result.status == "succeeded"
    record = runs(tmp_path / "history.toml")[-1]
    assert record["statements"][0]["attempts"] == 1
    what = [(a["what"], a.get("pid")) for a in record["actions"]]
    assert ("keep waiting", None) in what and ("terminate", pid) in what


async def test_max_wait_give_up_the_build(
    db_url: str, helper: asyncpg.Connection, tmp_path: Path
) -> None:
    await hold_write(helper)
    options = RunOptions(lock_timeout_s=5, lock_retries=0, max_wait_s=0.3)
    app = make_app(db_url, tmp_path, options=options)
    try:
        async with app.run_test(size=(80, 24)) as pilot:
            await loaded(app)
            await press_and_confirm(pilot, "r")
            await until(lambda: isinstance(app.screen, ChoiceModal))
            await pilot.press("g")
            await until(lambda: app.runs.last_result is not None)
            result = app.runs.last_result
            assert result is not None and result.status == "failed"
            assert "gave up after waiting" in (result.error or "")
            assert result.invalid_indexes == ["idx_conversation_messages_user_contact_date"]
    finally:
        await helper.execute("ROLLBACK")
    record = runs(tmp_path / "history.toml")[-1]
    assert record["status"] == "failed"
    assert record["actions"][0]["what"] == "give up the build"


async def test_an_interrupted_run_is_offered_for_recovery_at_start(
    db_url: str, helper: asyncpg.Connection, tmp_path: Path
) -> None:
    shutil.copy(ROOT / "history.toml", tmp_path / "history.toml")
    await hold_write(helper)
    face = spawn_cli("run", NAME, "--yes", url=db_url, cwd=ROOT, history=tmp_path / "history.toml")
    log = await run_log(tmp_path / "history.toml")
    await logged(log, "Waiting", number=1)
    runner = runs(tmp_path / "history.toml")[-1]["runner_pid"]
    face.kill()
    os.kill(runner, signal.SIGKILL)  # the machine's console processes are gone
    await asyncio.to_thread(face.wait, timeout=30)
    app = make_app(db_url, tmp_path)
    try:
        async with app.run_test(size=(80, 24)) as pilot:
            await until(
                lambda: (
                    isinstance(app.screen, ChoiceModal) and app.screen.query(".dialog-body Static")
                )
            )
            body = str(app.screen.query_one(".dialog-body Static").render())
            assert "was interrupted" in body and "still executing on the server" in body
            await until(lambda: isinstance(app.screen.focused, OptionList))  # mounted
            app.screen.query_one("#note").focus()
            await pilot.press(*"runner killed by the OOM killer")
            await pilot.press("tab", "m")
            await until(lambda: runs(tmp_path / "history.toml")[-1]["status"] == "interrupted")
    finally:
        await helper.execute("ROLLBACK")
    record = runs(tmp_path / "history.toml")[-1]
    assert record["resolution"]["what"] == "marked interrupted"
    assert record["resolution"]["note"] == "runner killed by the OOM killer"
    assert record["resolution"]["by"] == "tester@ci"


async def test_an_interrupted_run_resumed_at_start_is_closed_by_the_run_that_resumes_it(
    db_url: str, helper: asyncpg.Connection, observer: asyncpg.Connection, tmp_path: Path
) -> None:
    history = tmp_path / "history.toml"
    shutil.copy(ROOT / "history.toml", history)
    await hold_write(helper, "call_costs")  # statement 3 waits; 1 and 2 are done
    face = spawn_cli("run", NAME, "--yes", url=db_url, cwd=ROOT, history=history)
    log = await run_log(history)
    await logged(log, "Waiting", number=3)
    old = runs(history)[-1]
    face.kill()
    os.kill(old["runner_pid"], signal.SIGKILL)
    await asyncio.to_thread(face.wait, timeout=30)
    await helper.execute("ROLLBACK")  # the orphaned build finishes and its session ends
    await poll_until(
        observer,
        "SELECT count(*) = 0 FROM pg_stat_activity WHERE application_name = $1",
        RUN_SESSION,
    )
    app = make_app(db_url, tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await until(lambda: isinstance(app.screen, ChoiceModal))
        await until(lambda: isinstance(app.screen.focused, OptionList))  # mounted
        await press_and_confirm(pilot, "r")  # resume, then yes to the run's question
        await until(lambda: len(runs(history)) > 1 and runs(history)[-1]["status"] == "succeeded")
        await app.runs.wait()
    closed, new = runs(history)[-2:]
    assert closed["run_id"] == old["run_id"] and closed["status"] == "interrupted"
    assert closed["resolution"]["what"] == "resumed"
    assert closed["resolution"]["run"] == new["run_id"]
    assert closed["finished_at"] == new["started_at"]  # closed by the runner as it started
    assert new["resumes"] == old["run_id"]
    assert [s["status"] for s in new["statements"][:3]] == ["skipped", "skipped", "succeeded"]


async def test_a_run_on_another_machine_is_followed_from_the_database(
    db_url: str, helper: asyncpg.Connection, tmp_path: Path
) -> None:
    history = tmp_path / "history.toml"
    shutil.copy(ROOT / "history.toml", history)
    await hold_write(helper)
    face = spawn_cli("run", NAME, "--yes", url=db_url, cwd=ROOT, history=history)
    await logged(await run_log(history), "Waiting", number=1)
    here = f'host = "{os.uname().nodename}"'
    history.write_text(history.read_text().replace(here, 'host = "elsewhere"'))
    app = make_app(db_url, tmp_path)
    async with app.run_test(size=(80, 24)):
        await until(lambda: app.runs.active is not None and app.runs.active.remote)
        panel = app.query_one(RunPanel)
        await until(lambda: any("⏳ waiting" in line for line in panel.lines))
        await helper.execute("ROLLBACK")
        await until(lambda: any("the database shows it applied" in line for line in panel.lines))
        await until(lambda: app.runs.active is None)
    await asyncio.to_thread(face.communicate, timeout=60)


async def test_a_migration_whose_file_name_is_not_utf8_says_why_it_cannot_run(
    db_url: str, tmp_path: Path
) -> None:
    # Run on it did nothing and said nothing: the run lock's key could not be made of
    # its name, and the error was lost in the run's worker.
    from console.core.service import ConsoleService
    from console.settings import resolve_connection
    from console.tui.app import MigrationConsoleApp

    migrations = tmp_path / "migrations"
    migrations.mkdir()
    (migrations / "odd\udcffname.sql").write_text("-- migrate:up\nANALYZE users;\n")
    history = tmp_path / "history.toml"
    service = ConsoleService(
        resolve_connection(db_url, env={}), migrations, history, "tester@ci", environment={}
    )
    app = MigrationConsoleApp(service, start_refresh=False, doctor=False)
    async with app.run_test(size=(100, 30)) as pilot:
        await loaded(app)
        table = app.query_one("#migrations-table", DataTable)
        assert "holds bytes that are not UTF-8" in str(table.get_row_at(0))
        await pilot.press("r")
        await until(lambda: any("not UTF-8" in n.message for n in app._notifications))
        assert not isinstance(app.screen, ConfirmModal)  # nothing is offered to run
    assert not history.exists() or "[[runs]]" not in history.read_text()
