"""What the console reports while a migration waits: helper sessions create each situation."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import asyncpg
import pytest

from console.core import events as ev
from console.core.run import MigrationRunner, RunOptions
from console.core.waits import WaitReport, analyse
from tests.db.engine import of, run_migration
from tests.helpers import hold_write

Connect = Callable[[str], Awaitable[asyncpg.Connection]]


@pytest.fixture
async def sessions(db_url: str) -> AsyncIterator[Connect]:
    """Open named helper sessions; all are closed at the end."""
    opened: list[asyncpg.Connection] = []

    async def open_session(name: str) -> asyncpg.Connection:
        conn = await asyncpg.connect(db_url, server_settings={"application_name": name})
        opened.append(conn)
        return conn

    yield open_session
    for conn in opened:
        conn.terminate()


async def until_waiting(observer: asyncpg.Connection, pid: int) -> None:
    for _ in range(200):
        if await observer.fetchval(
            "SELECT wait_event_type = 'Lock' FROM pg_stat_activity WHERE pid = $1", pid
        ):
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"pid {pid} never waited")


async def report_for(observer: asyncpg.Connection, pid: int) -> WaitReport:
    return await analyse(observer, pid)


async def test_relation_lock_wait_names_holder_and_modes(
    sessions: Connect, observer: asyncpg.Connection
) -> None:
    holder = await sessions("report-job")
    await holder.execute("BEGIN; SELECT count(*) FROM call_costs")
    migration = await sessions("migration-console run test")
    task = asyncio.create_task(migration.execute("ALTER TABLE call_costs ADD COLUMN note text"))
    await until_waiting(observer, migration.get_server_pid())
    report = await report_for(observer, migration.get_server_pid())
    above = [(n.depth, n.session.pid) for n in report.tree if n.depth < 0]
    assert above == [(-1, holder.get_server_pid())]
    edge = next(e for e in report.edges if e.holder == holder.get_server_pid())
    assert (edge.wants, edge.holds, edge.relation) == (
        "ACCESS EXCLUSIVE",
        "ACCESS SHARE",
        "call_costs",
    )
    assert "report-job" in report.reason and "idle in transaction" in report.reason
    assert "holds ACCESS SHARE on call_costs" in report.reason
    await holder.execute("ROLLBACK")
    await task


async def test_two_blockers_at_once(sessions: Connect, observer: asyncpg.Connection) -> None:
    first, second = await sessions("reader-1"), await sessions("reader-2")
    for conn in (first, second):
        await conn.execute("BEGIN; SELECT count(*) FROM call_costs")
    migration = await sessions("migration-console run test")
    task = asyncio.create_task(migration.execute("ALTER TABLE call_costs ADD COLUMN note text"))
    await until_waiting(observer, migration.get_server_pid())
    report = await report_for(observer, migration.get_server_pid())
    assert report.blocking_root == {first.get_server_pid(), second.get_server_pid()}
    assert "reader-1" in report.reason and "reader-2" in report.reason
    for conn in (first, second):
        await conn.execute("ROLLBACK")
    await task


async def test_three_level_queue(sessions: Connect, observer: asyncpg.Connection) -> None:
    holder = await sessions("holder")
    await holder.execute("BEGIN; SELECT count(*) FROM call_costs")
    migration = await sessions("migration-console run test")
    migrating = asyncio.create_task(
        migration.execute("ALTER TABLE call_costs ADD COLUMN note text")
    )
    await until_waiting(observer, migration.get_server_pid())
    # A worker that already holds scheduled_tasks queues behind the migration on call_costs...
    worker = await sessions("worker")
    await worker.execute("BEGIN; LOCK TABLE scheduled_tasks IN ROW EXCLUSIVE MODE")
    working = asyncio.create_task(worker.execute("SELECT count(*) FROM call_costs"))
    await until_waiting(observer, worker.get_server_pid())
    # ...and an API request queues behind the worker on scheduled_tasks.
    api = await sessions("api")
    asking = asyncio.create_task(api.execute("BEGIN; LOCK TABLE scheduled_tasks IN EXCLUSIVE MODE"))
    await until_waiting(observer, api.get_server_pid())
    report = await report_for(observer, migration.get_server_pid())
    tree = [(n.depth, n.session.application_name) for n in report.tree]
    assert tree == [
        (-1, "holder"),
        (0, "migration-console run test"),
        (1, "worker"),
        (2, "api"),
    ]
    assert "2 session(s) are queued behind it" in report.reason
    assert report.queued_behind_root == {worker.get_server_pid(), api.get_server_pid()}
    await holder.execute("ROLLBACK")
    await migrating
    await working
    await worker.execute("COMMIT")
    await asking


async def test_concurrently_waits_on_writer_and_says_so(
    db_url: str, sessions: Connect, tmp_path: Path
) -> None:
    writer = await sessions("billing-writer")
    await hold_write(writer, "call_costs")
    released = asyncio.Event()

    def on_event(e: ev.Event, _runner: MigrationRunner) -> None:
        if isinstance(e, ev.Waiting) and e.number == 3:
            released.set()

    async def release() -> None:
        await released.wait()
        await writer.execute("ROLLBACK")

    task = asyncio.create_task(release())
    options = RunOptions(lock_timeout_s=60, lock_retries=0, progress_interval_s=0.05)
    result, events = await run_migration(db_url, options=options, on_event=on_event)
    await task
    assert result.status == "succeeded"
    waits = [e for e in of(ev.Waiting, events) if e.number == 3]
    assert waits[0].phase == "waiting for writers before build"
    assert writer.get_server_pid() in waits[0].blockers
    assert "billing-writer" in waits[0].reason
    assert "every transaction that wrote to the table must finish first" in waits[0].reason


async def test_concurrently_waits_on_old_snapshot_of_another_table(
    db_url: str, sessions: Connect
) -> None:
    report_query = await sessions("nightly-report")
    await report_query.execute("BEGIN ISOLATION LEVEL REPEATABLE READ; SELECT count(*) FROM users")
    released = asyncio.Event()
    seen: list[ev.Waiting] = []

    def on_event(e: ev.Event, _runner: MigrationRunner) -> None:
        if isinstance(e, ev.Waiting) and e.number == 1:
            seen.append(e)
            if e.phase and "old snapshots" in e.phase:
                released.set()

    async def release() -> None:
        await released.wait()
        await report_query.execute("ROLLBACK")

    task = asyncio.create_task(release())
    options = RunOptions(lock_timeout_s=60, lock_retries=0, progress_interval_s=0.05)
    result, _ = await run_migration(db_url, options=options, on_event=on_event)
    await task
    assert result.status == "succeeded"
    old = next(e for e in seen if e.phase and "old snapshots" in e.phase)
    assert "nightly-report" in old.reason
    assert "even one that never touched the table" in old.reason
    assert report_query.get_server_pid() in old.blockers


async def test_a_root_idle_in_transaction_is_not_said_to_wait_and_its_queue_is_named(
    sessions: Connect, observer: asyncpg.Connection
) -> None:
    holder = await sessions("holder")
    await holder.execute("BEGIN; LOCK TABLE call_costs IN ACCESS EXCLUSIVE MODE")
    queued = [await sessions(f"reader-{i}") for i in (1, 2)]
    tasks = [asyncio.create_task(q.execute("SELECT count(*) FROM call_costs")) for q in queued]
    for q in queued:
        await until_waiting(observer, q.get_server_pid())
    report = await report_for(observer, holder.get_server_pid())
    assert report.reason == (
        f"pid {holder.get_server_pid()} is not waiting for a lock. "
        "2 session(s) are queued behind it."
    )
    await holder.execute("ROLLBACK")
    await asyncio.gather(*tasks)
