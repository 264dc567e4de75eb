"""The engine against a real server: transactions, retries, invalid indexes, run lock."""

from __future__ import annotations

import asyncio
from pathlib import Path

import asyncpg
import pytest

from console.core import events as ev
from console.core.history import HistoryStore
from console.core.migration_file import parse_migration
from console.core.run import MigrationRunner, RunOptions
from console.errors import LockHeld
from console.settings import resolve_connection
from tests.db.engine import FAST, of, run_migration
from tests.helpers import RUN_SESSION, SHIPPED, hold_write, poll_until

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
    assert not of(ev.HelperSession, events)  # no helper session was lost on the way
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


async def wait_longer_than(
    observer: asyncpg.Connection, seconds: float, locktype: str = "virtualxid"
) -> None:
    """Until the migration's session has waited more than ``seconds`` for a lock of
    ``locktype``, as the server records it (pg_locks.waitstart)."""
    await poll_until(
        observer,
        "SELECT count(*) FROM pg_locks l JOIN pg_stat_activity a USING (pid) "
        "WHERE a.application_name = $1 AND NOT l.granted AND l.locktype = $2 "
        "AND clock_timestamp() - l.waitstart > make_interval(secs => $3)",
        RUN_SESSION,
        locktype,
        seconds,
    )


async def test_writer_held_past_lock_timeout_never_throws_the_build_away(
    db_url: str, helper: asyncpg.Connection, observer: asyncpg.Connection, tmp_path: Path
) -> None:
    # An open writing transaction: CREATE INDEX CONCURRENTLY takes its table lock,
    # registers the index, then waits for this writer. lock_timeout must not end
    # that wait (it used to: an INVALID index, dropped and rebuilt, then failure).
    await hold_write(helper)
    options = RunOptions(lock_timeout_s=0.3, lock_retries=1, backoff_s=0.05)

    async def release() -> None:
        await wait_longer_than(observer, 0.6)  # twice the lock timeout, by the server's clock
        await helper.execute("ROLLBACK")

    releasing = asyncio.create_task(release())
    history = tmp_path / "history.toml"
    result, events = await run_migration(db_url, options=options, history=history)
    await releasing
    assert result.status == "succeeded", result.error
    assert result.statements[0].attempts == 1
    assert len([e for e in of(ev.StatementStarted, events) if e.number == 1]) == 1
    assert not of(ev.InvalidIndex, events) and not of(ev.LockRetry, events)
    waited = [e for e in of(ev.WaitEnded, events) if e.number == 1]
    assert waited and waited[0].kind == ev.TRANSACTIONS_WAIT and waited[0].waited_s > 0.3
    assert f"pid {helper.get_server_pid()}" in waited[0].who
    assert await index_validity(helper) == {name: True for name in INDEXES}
    run = HistoryStore(history).load().runs[-1]
    assert run.status == "succeeded" and run.statements[0].attempts == 1


async def test_max_wait_gives_up_naming_the_holder_and_reports_invalid(
    db_url: str, helper: asyncpg.Connection, tmp_path: Path
) -> None:
    await hold_write(helper)
    options = RunOptions(lock_timeout_s=5, max_wait_s=0.3, progress_interval_s=0.05)
    history = tmp_path / "history.toml"
    result, events = await run_migration(db_url, options=options, history=history)
    await helper.execute("ROLLBACK")
    assert result.status == "failed"
    reached = of(ev.MaxWaitReached, events)
    assert reached and reached[0].holder_pid == helper.get_server_pid()
    assert reached[0].asking is False
    assert f"pid {helper.get_server_pid()} (test-helper" in (result.error or "")
    assert "gave up after waiting" in (result.error or "")
    name = "idx_conversation_messages_user_contact_date"
    assert result.invalid_indexes == [name]
    assert (name, "left") in [(e.index, e.action) for e in of(ev.InvalidIndex, events)]
    assert (await index_validity(helper)).get(name) is False
    run = HistoryStore(history).load().runs[-1]
    assert run.status == "failed" and run.invalid_indexes == [name]


async def test_old_snapshot_held_ten_seconds_default_options_one_build(
    db_url: str, helper: asyncpg.Connection, observer: asyncpg.Connection, tmp_path: Path
) -> None:
    # A REPEATABLE READ transaction on an unrelated table, older than the build: the
    # build waits for it in its last phase ("waiting for old snapshots"), after the
    # index is built. With the default options (lock_timeout 5 s) it must wait, not
    # throw the build away.
    await helper.execute("BEGIN ISOLATION LEVEL REPEATABLE READ; SELECT count(*) FROM users")

    async def release() -> None:
        await wait_longer_than(observer, 10.0)
        await helper.execute("ROLLBACK")

    releasing = asyncio.create_task(release())
    result, events = await run_migration(db_url, options=RunOptions())
    await releasing
    assert result.status == "succeeded", result.error
    assert result.statements[0].attempts == 1
    phases = {e.phase for e in of(ev.IndexProgress, events) if e.number == 1}
    assert "waiting for old snapshots" in phases
    assert len([e for e in of(ev.StatementStarted, events) if e.number == 1]) == 1
    assert not of(ev.InvalidIndex, events)


async def test_blocker_leaving_during_a_long_backoff_retries_at_once(
    db_url: str, helper: asyncpg.Connection
) -> None:
    tr = helper.transaction()
    await tr.start()
    await helper.execute("LOCK TABLE call_costs IN ACCESS EXCLUSIVE MODE")
    # A ten-minute pause: the run only finishes within the test's time limit if the
    # pause ends when the holder lets go.
    options = RunOptions(
        lock_timeout_s=0.3, lock_retries=3, backoff_s=600, backoff_max_s=600,
        progress_interval_s=0.05,
    )  # fmt: skip
    paused = asyncio.Event()

    def on_event(e: ev.Event, _runner: MigrationRunner) -> None:
        if isinstance(e, ev.LockRetry):
            paused.set()

    async def release() -> None:
        await paused.wait()
        await tr.rollback()

    releasing = asyncio.create_task(release())
    result, events = await run_migration(db_url, options=options, on_event=on_event)
    await releasing
    assert result.status == "succeeded", result.error
    retry = of(ev.LockRetry, events)[0]
    assert retry.blockers == (helper.get_server_pid(),)
    assert retry.wait_s == 600
    assert of(ev.RetryNow, events)[0].blockers == (helper.get_server_pid(),)
    assert result.statements[2].attempts == 2


async def test_access_exclusive_holder_fails_in_bounded_time_nothing_created(
    db_url: str, helper: asyncpg.Connection
) -> None:
    tr = helper.transaction()
    await tr.start()
    await helper.execute("LOCK TABLE conversation_messages IN ACCESS EXCLUSIVE MODE")
    options = RunOptions(lock_timeout_s=1, lock_retries=1, backoff_s=0.1, progress_interval_s=0.1)
    try:
        result, events = await run_migration(db_url, options=options)
    finally:
        await tr.rollback()
    assert result.status == "failed"
    assert result.sqlstate == "55P03"
    assert "SHARE UPDATE EXCLUSIVE lock on conversation_messages" in (result.error or "")
    assert f"pid {helper.get_server_pid()} (test-helper" in (result.error or "")
    assert "nothing was built" in (result.error or "")
    assert result.invalid_indexes == []
    assert [e.attempt for e in of(ev.StatementStarted, events)] == [1, 2]
    assert await index_validity(helper) == {}


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
