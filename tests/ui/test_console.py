"""Pilot tests: the console driven by keys against the real embedded server."""

from __future__ import annotations

import asyncio
import json
import tomllib
from pathlib import Path
from urllib.parse import urlsplit

import asyncpg
from textual.widgets import DataTable, Static

from console.core.run import RunOptions
from console.tui.dialogs.choice import ChoiceModal
from console.tui.dialogs.confirm import ConfirmModal
from console.tui.dialogs.signoff import SignOffModal
from console.tui.widgets.banner import Banner
from console.tui.widgets.blockers import BlockersPanel
from console.tui.widgets.checklist import ChecklistItem, ChecklistPanel
from console.tui.widgets.run_log import RunPanel
from tests.helpers import RUN_SESSION, hold_write, poll_until
from tests.ui.harness import (
    answer,
    events_logged,
    loaded,
    make_app,
    migration_sessions,
    press_and_confirm,
    sessions_seen,
    until,
)

NAME = "add_composite_indexes_20251123"
INDEXES = (
    "idx_conversation_messages_user_contact_date",
    "idx_conversation_messages_user_type_date",
    "idx_call_costs_user_billing_date",
    "idx_scheduled_tasks_active",
)


async def statement_of(conn: asyncpg.Connection, pid: int) -> dict[str, object] | None:
    """What the server shows a backend doing (None if it is gone)."""
    row = await conn.fetchrow(
        "SELECT pid, application_name, state, query, query_start, wait_event_type, wait_event "
        "FROM pg_stat_activity WHERE pid = $1",
        pid,
    )
    return None if row is None else dict(row)


async def index_states(conn: asyncpg.Connection) -> dict[str, tuple[int, bool, bool]]:
    """The migration's indexes as the catalog has them: oid, valid, ready."""
    rows = await conn.fetch(
        "SELECT c.relname, c.oid, i.indisvalid, i.indisready FROM pg_index i "
        "JOIN pg_class c ON c.oid = i.indexrelid WHERE c.relname = ANY($1::text[])",
        list(INDEXES),
    )
    return {r["relname"]: (r["oid"], r["indisvalid"], r["indisready"]) for r in rows}


def cell_text(table: DataTable, row: str, column: int) -> str:
    return str(table.get_row(row)[column])


async def count_indexes(conn: asyncpg.Connection) -> int:
    return int(
        await conn.fetchval(
            "SELECT count(*) FROM pg_indexes WHERE indexname = ANY($1::text[])", list(INDEXES)
        )
    )


async def test_migrations_screen_loads(db_url: str, tmp_path: Path) -> None:
    app = make_app(db_url, tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        table = app.query_one("#migrations-table", DataTable)
        await until(lambda: table.row_count == 1)
        assert cell_text(table, NAME, 0) == NAME
        assert cell_text(table, NAME, 1) == "pending"
        assert "0 of 4 indexes present" in cell_text(table, NAME, 2)
        overview = str(app.query_one("#overview").render())
        assert overview.startswith("role ") and " · postgresql://" in overview
        assert "PostgreSQL" in str(app.query_one("#topbar").render())
        await pilot.press("q")
    assert app.return_value == 0


async def test_sign_off_manual_item_persists(db_url: str, tmp_path: Path) -> None:
    app = make_app(db_url, tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        table = app.query_one("#migrations-table", DataTable)
        await until(lambda: table.row_count == 1)
        await pilot.press("enter")  # open the checklist
        await until(lambda: len(app.query(ChecklistItem)) == 8)
        app.query_one("#item-backup", ChecklistItem).focus()
        await pilot.press("s")
        await until(lambda: isinstance(app.screen, SignOffModal))
        await pilot.press(*"snapshot 2025-11-23 18:50 checked")
        await pilot.press("enter")
        item = app.query_one("#item-backup", ChecklistItem)
        await until(lambda: item.state.state == "done")
        assert item.state.by == "tester@ci"
        meta = str(item.query_one("#meta").render())
        assert meta.count("tester@ci") == 1 and "note: snapshot 2025-11-23 18:50" in meta
    data = tomllib.loads((tmp_path / "history.toml").read_text())
    signoff = [s for s in data["signoffs"] if s["item"] == "backup"][-1]
    assert signoff["migration"] == NAME
    assert signoff["by"] == "tester@ci"
    assert signoff["note"] == "snapshot 2025-11-23 18:50 checked"
    # Reopening shows the same state.
    app2 = make_app(db_url, tmp_path)
    async with app2.run_test(size=(80, 24)) as pilot:
        await until(lambda: app2.query_one("#migrations-table", DataTable).row_count == 1)
        await pilot.press("enter")
        await until(lambda: len(app2.query(ChecklistItem)) == 8)
        assert app2.query_one("#item-backup", ChecklistItem).state.state == "done"


async def test_run_from_checklist_streams_log_and_records(
    db_url: str, helper: asyncpg.Connection, tmp_path: Path
) -> None:
    app = make_app(db_url, tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await loaded(app)
        await pilot.press("enter")
        await until(lambda: len(app.query(ChecklistItem)) == 8)
        app.query_one("#item-execute", ChecklistItem).focus()
        await press_and_confirm(pilot, "enter")
        await until(lambda: app.runs.last_result is not None)
        assert app.runs.last_result is not None and app.runs.last_result.status == "succeeded"
        panel = app.query_one(RunPanel)
        lines = panel.lines
        assert any(line.startswith("[1/7] line 11") for line in lines)
        assert any(line.startswith("[7/7]") for line in lines)
        assert lines[-1].startswith("■ run succeeded")
        assert panel.log_path is not None
        # The runner's event log (JSON lines) ends with the run's outcome.
        last = json.loads(panel.log_path.read_text().splitlines()[-1])
        assert last["event"] == "RunFinished" and last["result"]["status"] == "succeeded"
        await until(lambda: app.query_one("#item-execute", ChecklistItem).state.state == "done")
    assert await count_indexes(helper) == 4
    data = tomllib.loads((tmp_path / "history.toml").read_text())
    assert data["runs"][-1]["status"] == "succeeded"
    assert data["runs"][-1]["executed_by"] == "tester@ci"


async def test_blockers_panel_shows_session_blocking_the_migration(
    db_url: str, helper: asyncpg.Connection, tmp_path: Path
) -> None:
    tr = helper.transaction()
    await tr.start()
    await helper.execute("LOCK TABLE conversation_messages IN ACCESS EXCLUSIVE MODE")
    app = make_app(db_url, tmp_path, options=RunOptions(lock_timeout_s=60, lock_retries=0))
    try:
        async with app.run_test(size=(120, 40)) as pilot:
            await loaded(app)
            await press_and_confirm(pilot, "r")
            await until(lambda: app.runs.active is not None)
            await pilot.press("4")
            panel = app.query_one(BlockersPanel)
            pid = helper.get_server_pid()
            explain = app.query_one("#blockers-explain")
            await until(lambda: f"waits for pid {pid}" in str(explain.render()))
            row = app.query_one("#blockers-table", DataTable).get_row(str(pid))
            assert row[0].style == "bold red"  # the migration's blocker stands out
            assert any(s.pid == pid and s.state == "idle in transaction" for s in panel.sessions)
            await tr.rollback()
            await until(lambda: app.runs.last_result is not None)
            assert app.runs.last_result is not None and app.runs.last_result.status == "succeeded"
    finally:
        if not helper.is_closed() and helper.is_in_transaction():
            await tr.rollback()


async def test_cancel_running_migration(
    db_url: str, helper: asyncpg.Connection, observer: asyncpg.Connection, tmp_path: Path
) -> None:
    await hold_write(helper)
    app = make_app(db_url, tmp_path, options=RunOptions(lock_timeout_s=120, lock_retries=0))
    try:
        async with app.run_test(size=(80, 24)) as pilot:
            await loaded(app)
            await press_and_confirm(pilot, "r")
            panel = app.query_one(RunPanel)
            await until(lambda: any("waiting for pid" in line for line in panel.lines))
            run = app.runs.active
            assert run is not None and run.pid is not None
            waiting = await statement_of(observer, run.pid)
            assert waiting is not None and waiting["application_name"] == RUN_SESSION
            assert (
                waiting["query"].startswith("CREATE INDEX CONCURRENTLY")
                and INDEXES[0] in waiting["query"]
            )
            assert waiting["state"] == "active" and waiting["wait_event_type"] == "Lock"
            await pilot.press("x")
            await until(lambda: isinstance(app.screen, ConfirmModal))
            await answer(pilot, "n", "confirm")  # keep running: nothing happens
            # The runner polls on: two more progress reports after the answer was dealt
            # with. A cancel would have reached the server before the second one: the
            # runner's monitor takes its queries in turn, and polls every half second.
            log = Path(run.log)
            polled = events_logged(log, "IndexProgress")
            await until(
                lambda: (
                    events_logged(log, "IndexProgress") >= polled + 2
                    or events_logged(log, "RunFinished")
                )
            )
            # The server never got a cancel: the same backend still waits in the same
            # statement, started at the same moment.
            assert await statement_of(observer, run.pid) == waiting
            assert app.runs.active is not None
            await press_and_confirm(pilot, "x")
            await until(lambda: app.runs.last_result is not None)
            result = app.runs.last_result
            assert result is not None and result.status == "cancelled"
            assert result.invalid_indexes == [INDEXES[0]]
            assert any("INVALID index left" in line for line in panel.lines)
    finally:
        await helper.execute("ROLLBACK")
    data = tomllib.loads((tmp_path / "history.toml").read_text())
    assert data["runs"][-1]["status"] == "cancelled"


async def test_rollback_asks_and_drops(
    db_url: str, helper: asyncpg.Connection, observer: asyncpg.Connection, tmp_path: Path
) -> None:
    app = make_app(db_url, tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await loaded(app)
        await press_and_confirm(pilot, "r")
        await until(lambda: app.runs.last_result is not None)
        assert await count_indexes(helper) == 4
        app.runs.last_result = None
        built = await index_states(helper)
        names = migration_sessions(NAME)
        # The run's runner has closed its sessions: any session of the migration's from
        # here on would be the rollback's.
        await poll_until(
            observer,
            "SELECT NOT EXISTS (SELECT FROM pg_stat_activity "
            "WHERE application_name = ANY($1::text[]) AND datname = current_database())",
            names,
        )
        async with sessions_seen(observer, names) as seen:
            await pilot.press("1", "b")
            await until(lambda: isinstance(app.screen, ConfirmModal))
            body = str(app.screen.query_one(".dialog-body Static").render())
            assert "DROPS 4 index(es)" in body and INDEXES[0] in body
            # No: the worker that asked ends (a Yes would end it once the rollback had).
            await answer(pilot, "n", "run")
        assert seen == set()  # no rollback ever reached the server
        assert app.runs.last_result is None
        assert await count_indexes(helper) == 4
        assert await index_states(helper) == built  # the same indexes, valid, untouched
        await press_and_confirm(pilot, "b")
        await until(lambda: app.runs.last_result is not None)
        assert app.runs.last_result is not None and app.runs.last_result.action == "rollback"
        assert app.runs.last_result.status == "succeeded"
    assert await count_indexes(helper) == 0


async def test_quit_during_run_asks_and_cancels(
    db_url: str, helper: asyncpg.Connection, tmp_path: Path
) -> None:
    tr = helper.transaction()
    await tr.start()
    await helper.execute("LOCK TABLE call_costs IN ACCESS EXCLUSIVE MODE")
    app = make_app(db_url, tmp_path, options=RunOptions(lock_timeout_s=120, lock_retries=0))
    try:
        async with app.run_test(size=(80, 24)) as pilot:
            await loaded(app)
            await press_and_confirm(pilot, "r")
            panel = app.query_one(RunPanel)
            await until(lambda: any(line.startswith("[3/7]") for line in panel.lines))
            await pilot.press("q")
            await until(lambda: isinstance(app.screen, ChoiceModal))
            await pilot.press("c")  # cancel the run, wait for its record, then quit
            await until(lambda: app.return_value is not None)
        assert app.return_value == 130
    finally:
        await tr.rollback()
    data = tomllib.loads((tmp_path / "history.toml").read_text())
    assert data["runs"][-1]["status"] == "cancelled"
    await asyncio.sleep(0)


async def test_lost_connection_shows_banner_and_recovers(
    db_url: str, pg_admin_url: str, observer: asyncpg.Connection, tmp_path: Path
) -> None:
    admin = await asyncpg.connect(pg_admin_url)
    dbname = urlsplit(db_url).path.lstrip("/")
    app = make_app(db_url, tmp_path, refresh_s=0.2)
    async with app.run_test(size=(80, 24)) as pilot:
        banner = app.query_one("#banner")
        await loaded(app)
        await pilot.press("4")
        panel = app.query_one(BlockersPanel)
        await until(lambda: "refresh every" in str(app.query_one("#blockers-status").render()))
        # The server stops accepting connections and drops the console's monitor session.
        await admin.execute(f'ALTER DATABASE "{dbname}" ALLOW_CONNECTIONS false')
        try:
            killed = await observer.fetchval(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                "WHERE application_name = 'migration-console monitor' "
                "AND datname = current_database()"
            )
            assert killed == 1
            await until(lambda: banner.has_class("-visible"))
            # The first refresh after the kill may say the session was lost; the next one,
            # reconnecting, says why it cannot: wait for that one.
            await until(lambda: "not currently accepting connections" in str(banner.render()))
            assert banner.has_class("-visible")
            assert panel.is_mounted
        finally:
            await admin.execute(f'ALTER DATABASE "{dbname}" ALLOW_CONNECTIONS true')
            await admin.close()
        await until(lambda: not banner.has_class("-visible"))
        await until(lambda: "refresh every" in str(app.query_one("#blockers-status").render()))


async def test_baseline_run_monitor_shows_before_and_after(db_url: str, tmp_path: Path) -> None:
    app = make_app(db_url, tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await loaded(app)
        await pilot.press("enter")
        await until(lambda: len(app.query(ChecklistItem)) == 8)
        baseline = app.query_one("#item-baseline", ChecklistItem)
        baseline.focus()
        await pilot.press("enter")
        await until(lambda: baseline.state.state == "done")
        assert "Seq Scan" in baseline.state.note
        await press_and_confirm(pilot, "r")
        await until(lambda: app.runs.last_result is not None)
        await pilot.press("2")
        monitor = app.query_one("#item-monitor", ChecklistItem)
        monitor.focus()
        await pilot.press("enter")
        await until(lambda: monitor.state.state == "done")
        table = app.query_one("#verify-compare", DataTable)
        await until(lambda: table.row_count == 4)
        first = [str(c) for c in table.get_row_at(0)]
        assert first[0] == "51"  # the compare section's first query
        assert "Seq Scan" in first[4].split("→")[0]
        assert "idx_conversation_messages_user_contact_date" in first[4].split("→")[1]
    data = tomllib.loads((tmp_path / "history.toml").read_text())
    assert [m["phase"] for m in data["measurements"]] == ["baseline", "after"]


async def test_doctor_at_start_warns_about_idle_transaction(
    db_url: str, helper: asyncpg.Connection, tmp_path: Path
) -> None:
    await helper.execute("BEGIN; SELECT 1")
    app = make_app(db_url, tmp_path, doctor=True)
    async with app.run_test(size=(80, 24)) as pilot:
        doctor = app.query_one(Banner)  # it runs the doctor at start and keeps its report
        await until(lambda: doctor.report is not None)
        names = {c.name: c.verdict for c in doctor.report.checks}
        assert names["idle-transactions"] == "warn"
        # In the banner, one line (never a toast over the log or a dialog); e unfolds it.
        banner = app.query_one("#banner")
        await until(lambda: banner.has_class("-visible"))
        assert str(helper.get_server_pid()) in str(banner.render())
        await until(lambda: banner.size.height > 0)  # laid out at the next refresh
        assert banner.size.height == 1
        assert not app._notifications
        await pilot.press("e")
        await until(lambda: "pg_terminate_backend" in str(banner.render()))


async def test_checklist_loads_over_each_other_without_breaking(
    db_url: str, tmp_path: Path
) -> None:
    """A load that replaces the items while the last one is still mounting them (the
    selection changed twice in a row) once stopped the console: an item was told to show
    its state after its lines had gone."""
    app = make_app(db_url, tmp_path, start_refresh=False)
    async with app.run_test(size=(120, 40)):
        panel = app.query_one(ChecklistPanel)
        await until(lambda: len(app.query(ChecklistItem)) == 8)
        for _ in range(30):
            panel.migration = None  # as if another migration had been chosen: mount anew
            panel.load(NAME)
            await asyncio.sleep(0)  # the last load is mounting when this one replaces it
        await until(lambda: panel.migration == NAME and len(app.query(ChecklistItem)) == 8)
        head = app.query_one("#item-backup #head", Static)
        assert "Create database backup" in str(head.render())
