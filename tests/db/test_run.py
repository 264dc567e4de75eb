"""The engine against a real server: transactions, retries, invalid indexes, run lock."""

from __future__ import annotations

import asyncio
from pathlib import Path

import asyncpg
import pytest

from console.core import events as ev
from console.core.errors import LockHeld
from console.core.history import HistoryStore
from console.core.migration_file import parse_migration
from console.core.run import MigrationRunner, RunOptions
from console.core.settings import resolve_connection
from tests.db.engine import FAST, of, run_migration
from tests.helpers import SHIPPED, hold_write

INDEXES = [
    "idx_conversation_messages_user_contact_date",
    "idx_conversation_messages_user_type_date",
    "idx_call_costs_user_billing_date",
    "idx_scheduled_tasks_active",
]


async def index_validity(conn: asyncpg.Connection) -> dict[str, bool]:
    rows = await conn.fetch(
        "SELECT c.relname, x.indisvalid FROM pg_index x JOIN pg_class c ON c.oid = x.indexrelid "
        "WHERE c.relname = ANY($1::text[])",
        INDEXES,
    )
    return {r["relname"]: r["indisvalid"] for r in rows}


async def test_shipped_migration_runs_concurrently_outside_a_transaction(
    db_url: str, helper: asyncpg.Connection, tmp_path: Path
) -> None:
    result, events = await run_migration(db_url, history=tmp_path / "history.toml")
    assert result.status == "succeeded", result.error
    started = of(ev.RunStarted, events)[0]
    assert started.in_transaction is False
    assert [s.status for s in result.statements] == ["succeeded"] * 7
    assert len(of(ev.StatementFinished, events)) == 7
    assert await index_validity(helper) == {name: True for name in INDEXES}
    runs = HistoryStore(tmp_path / "history.toml").load().runs
    assert [(r.migration, r.action, r.status) for r in runs] == [
        ("add_composite_indexes_20251123", "run", "succeeded")
    ]
    assert len(runs[0].statements) == 7


async def test_transactional_section_rolls_back_whole(
    db_url: str, helper: asyncpg.Connection, tmp_path: Path
) -> None:
    path = tmp_path / "tx.sql"
    path.write_text(
        "-- migrate:up\n"
        "CREATE TABLE audit_marks (id int);\n"
        "INSERT INTO audit_marks VALUES (1);\n"
        "SELECT 1 / 0;\n"
        "-- migrate:down\nDROP TABLE audit_marks;\n"
    )
    result, events = await run_migration(db_url, path)
    assert result.status == "failed"
    assert result.sqlstate == "22012"
    assert of(ev.RunStarted, events)[0].in_transaction is True
    assert of(ev.TransactionRolledBack, events)
    assert [s.status for s in result.statements] == ["rolled back", "rolled back", "failed"]
    assert await helper.fetchval("SELECT to_regclass('audit_marks')") is None


async def test_lock_timeout_retries_then_succeeds_when_released(
    db_url: str, helper: asyncpg.Connection
) -> None:
    tr = helper.transaction()
    await tr.start()
    await helper.execute("LOCK TABLE call_costs IN ACCESS EXCLUSIVE MODE")
    released = asyncio.Event()

    def on_event(e: ev.Event, _runner: MigrationRunner) -> None:
        if isinstance(e, ev.LockRetry) and not released.is_set():
            released.set()

    async def release_after_first_retry() -> None:
        await released.wait()
        await tr.rollback()

    releaser = asyncio.create_task(release_after_first_retry())
    result, events = await run_migration(db_url, on_event=on_event)
    await releaser
    assert result.status == "succeeded", result.error
    retries = of(ev.LockRetry, events)
    assert retries and retries[0].number == 3  # the call_costs index is statement 3
    assert result.statements[2].attempts >= 2
    assert await index_validity(helper) == {name: True for name in INDEXES}


async def test_retries_exhausted_leaves_invalid_index_reported(
    db_url: str, helper: asyncpg.Connection, tmp_path: Path
) -> None:
    # An open writing transaction: CREATE INDEX CONCURRENTLY gets its table lock,
    # registers the index, then waits for this writer and times out.
    await hold_write(helper)
    options = RunOptions(
        lock_timeout_s=0.3, lock_retries=1, backoff_s=0.05, progress_interval_s=0.05
    )
    history = tmp_path / "history.toml"
    result, events = await run_migration(db_url, options=options, history=history)
    await helper.execute("ROLLBACK")
    assert result.status == "failed"
    assert result.sqlstate == "55P03"
    name = "idx_conversation_messages_user_contact_date"
    assert result.invalid_indexes == [name]
    actions = [(e.index, e.action) for e in of(ev.InvalidIndex, events)]
    assert (name, "dropping") in actions  # the retry dropped the first attempt's leftover
    assert actions[-1] == (name, "left")
    assert (await index_validity(helper)).get(name) is False
    run = HistoryStore(history).load().runs[-1]
    assert run.status == "failed" and run.invalid_indexes == [name]


async def test_rerun_drops_invalid_leftover_instead_of_skipping(
    db_url: str, helper: asyncpg.Connection
) -> None:
    await helper.execute(
        "CREATE INDEX idx_call_costs_user_billing_date ON call_costs (user_id, billing_date DESC)"
    )
    await helper.execute(
        "UPDATE pg_index SET indisvalid = false "
        "WHERE indexrelid = 'idx_call_costs_user_billing_date'::regclass"
    )
    result, events = await run_migration(db_url)
    assert result.status == "succeeded", result.error
    actions = [(e.index, e.action) for e in of(ev.InvalidIndex, events)]
    assert ("idx_call_costs_user_billing_date", "dropped") in actions
    assert (await index_validity(helper))["idx_call_costs_user_billing_date"] is True


async def test_second_run_of_same_migration_is_refused(
    db_url: str, helper: asyncpg.Connection
) -> None:
    settings = resolve_connection(db_url, env={})
    migration = parse_migration(SHIPPED)
    async with MigrationRunner(settings, migration, "run", FAST):
        with pytest.raises(LockHeld) as info:
            async with MigrationRunner(settings, migration, "run", FAST):
                pass
    assert "migration-console lock add_composite_indexes_20251123" in str(info.value)
    assert "pid" in str(info.value)


async def test_cancel_stops_statement_on_server_and_reports_invalid(
    db_url: str, helper: asyncpg.Connection
) -> None:
    await hold_write(helper, "call_costs")
    options = RunOptions(lock_timeout_s=600, lock_retries=0, progress_interval_s=0.05)

    def on_event(e: ev.Event, runner: MigrationRunner) -> None:
        # Cancel once the call_costs build is waiting for our open writer.
        if isinstance(e, ev.IndexProgress) and e.number == 3 and e.current_locker_pid:
            runner.request_cancel()

    result, events = await run_migration(db_url, options=options, on_event=on_event)
    await helper.execute("ROLLBACK")
    assert result.status == "cancelled"
    assert of(ev.CancelRequested, events)
    assert result.statements[2].status == "cancelled"
    assert result.statements[3].status == "not run"
    assert result.invalid_indexes == ["idx_call_costs_user_billing_date"]
    waiting = await helper.fetchval(
        "SELECT count(*) FROM pg_stat_activity WHERE application_name LIKE 'migration-console run%'"
    )
    assert waiting == 0


async def test_progress_events_name_phase_and_waiting_pid(
    db_url: str, helper: asyncpg.Connection
) -> None:
    await hold_write(helper, "scheduled_tasks")
    seen_wait = asyncio.Event()

    def on_event(e: ev.Event, _r: MigrationRunner) -> None:
        if isinstance(e, ev.IndexProgress) and e.number == 4 and e.current_locker_pid:
            seen_wait.set()

    async def release() -> None:
        await seen_wait.wait()
        await helper.execute("ROLLBACK")

    task = asyncio.create_task(release())
    options = RunOptions(lock_timeout_s=60, lock_retries=0, progress_interval_s=0.05)
    result, events = await run_migration(db_url, options=options, on_event=on_event)
    await task
    assert result.status == "succeeded"
    progress = [e for e in of(ev.IndexProgress, events) if e.number == 4]
    helper_pid = helper.get_server_pid()
    assert any(e.current_locker_pid == helper_pid and "waiting" in e.phase for e in progress)


async def test_rollback_drops_indexes(
    db_url: str, helper: asyncpg.Connection, tmp_path: Path
) -> None:
    history = tmp_path / "history.toml"
    assert (await run_migration(db_url, history=history))[0].status == "succeeded"
    result, _ = await run_migration(db_url, action="rollback", history=history)
    assert result.status == "succeeded", result.error
    assert await index_validity(helper) == {}
    data = HistoryStore(history).load()
    assert [r.action for r in data.runs] == ["run", "rollback"]
    assert data.row("add_composite_indexes_20251123").status == "rolled back"


async def test_notices_are_streamed(db_url: str, tmp_path: Path) -> None:
    path = tmp_path / "notice.sql"
    path.write_text(
        "-- migrate:up\n"
        "DO $$ BEGIN RAISE NOTICE 'checked % rows; all good', 42; END $$;\n"
        "-- migrate:down\nSELECT 1;\n"
    )
    result, events = await run_migration(db_url, path)
    assert result.status == "succeeded"
    notices = of(ev.ServerNotice, events)
    assert [(n.message, n.number) for n in notices] == [("checked 42 rows; all good", 1)]
