"""Helper sessions are not single points of failure; a lost run session is told truthfully.

Each test lets a build wait on a writer the test holds open, breaks something
while it waits, and only then lets the writer go.
"""

from __future__ import annotations

import asyncio
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

import asyncpg
import pytest

from console.core import events as ev
from console.core.history import HistoryStore
from console.core.run import MigrationRunner, RunOptions
from console.db.runlock import lock_key
from tests.db.engine import of, run_migration
from tests.helpers import hold_write, with_database

NAME = "add_composite_indexes_20251123"
OPTIONS = RunOptions(lock_timeout_s=5, lock_retries=0, progress_interval_s=0.05)


class Script:
    """Steps the test takes, each when the run has emitted the event it waits for."""

    def __init__(self) -> None:
        self.seen: list[ev.Event] = []
        self._waiters: list[tuple[Callable[[ev.Event], bool], asyncio.Event]] = []

    def on_event(self, e: ev.Event, _runner: MigrationRunner) -> None:
        self.seen.append(e)
        for test, flag in self._waiters:
            if test(e):
                flag.set()

    async def until(self, test: Callable[[ev.Event], bool]) -> None:
        flag = asyncio.Event()
        if any(test(e) for e in self.seen):
            return
        self._waiters.append((test, flag))
        try:
            await asyncio.wait_for(flag.wait(), 60)
        except TimeoutError:
            raise AssertionError(f"never seen; events: {self.seen}") from None


def helper_state(role: str, state: str) -> Callable[[ev.Event], bool]:
    return lambda e: isinstance(e, ev.HelperSession) and (e.role, e.state) == (role, state)


def waiting(e: ev.Event) -> bool:
    return isinstance(e, ev.Waiting) and e.number == 1


async def terminate(observer: asyncpg.Connection, role: str) -> int:
    return int(
        await observer.fetchval(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
            "WHERE application_name = $1 AND datname = current_database()",
            f"migration-console {role} {NAME}",
        )
    )


async def test_monitor_terminated_mid_build_the_build_goes_on(
    db_url: str, helper: asyncpg.Connection, observer: asyncpg.Connection
) -> None:
    await hold_write(helper)
    script = Script()

    async def steps() -> None:
        await script.until(waiting)
        assert await terminate(observer, "monitor") == 1
        await script.until(helper_state("monitor", "reconnected"))
        await helper.execute("ROLLBACK")

    stepping = asyncio.create_task(steps())
    result, events = await run_migration(db_url, options=OPTIONS, on_event=script.on_event)
    await stepping
    assert result.status == "succeeded", result.error
    assert result.statements[0].attempts == 1
    assert of(ev.HelperSession, events)[0] == ev.HelperSession("monitor", "lost", "")
    assert result.invalid_indexes == []


async def test_lock_session_terminated_the_lock_is_taken_again(
    db_url: str, helper: asyncpg.Connection, observer: asyncpg.Connection
) -> None:
    await hold_write(helper)
    script = Script()
    holders: list[str] = []

    async def steps() -> None:
        await script.until(waiting)
        assert await terminate(observer, "lock") == 1
        await script.until(helper_state("lock", "retaken"))
        holders.append(
            await observer.fetchval(
                "SELECT a.application_name FROM pg_locks l JOIN pg_stat_activity a USING (pid) "
                "WHERE l.locktype = 'advisory' AND l.classid = $1 AND l.objid = $2 AND l.granted",
                *lock_key(NAME),
            )
        )
        await helper.execute("ROLLBACK")

    stepping = asyncio.create_task(steps())
    result, _events = await run_migration(db_url, options=OPTIONS, on_event=script.on_event)
    await stepping
    assert result.status == "succeeded", result.error
    assert holders == [f"migration-console lock {NAME}"]


async def test_lock_taken_by_another_session_stops_before_the_next_statement(
    db_url: str, helper: asyncpg.Connection, observer: asyncpg.Connection, tmp_path: Path
) -> None:
    await hold_write(helper)
    script = Script()
    rival = await asyncpg.connect(db_url, server_settings={"application_name": "rival-run"})

    async def steps() -> None:
        await script.until(waiting)
        # Terminate the run's lock session and queue for its lock in one statement: the
        # rival gets it the moment the terminated session lets go.
        first, second = lock_key(NAME)
        await rival.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            f"WHERE application_name = 'migration-console lock {NAME}'; "
            f"SELECT pg_advisory_lock({first}, {second})"
        )
        await script.until(helper_state("lock", "taken"))
        await helper.execute("ROLLBACK")

    stepping = asyncio.create_task(steps())
    try:
        result, events = await run_migration(
            db_url, options=OPTIONS, on_event=script.on_event, history=tmp_path / "h.toml"
        )
        await stepping
    finally:
        await rival.close()
    assert result.status == "failed"
    assert [s.status for s in result.statements[:2]] == ["succeeded", "not run"]
    assert "rival-run" in (result.error or "")
    assert "stopped before its next statement" in (result.error or "")
    run = HistoryStore(tmp_path / "h.toml").load().runs[-1]
    assert run.status == "failed" and "rival-run" in (run.error or "")


@pytest.fixture
def own_server() -> object:
    """A server of this test's own, to restart (the shared one serves the other tests)."""
    from console.demo.server import DemoServer

    state = Path(tempfile.mkdtemp(prefix="mc-restart-"))
    server = DemoServer()
    server.start(state / "data", keep_running=False)
    try:
        yield server
    finally:
        server.stop()
        shutil.rmtree(state, ignore_errors=True)


async def test_server_restarted_mid_build_run_failed_invalid_index_recorded(
    own_server: object, tmp_path: Path
) -> None:
    from console.demo.server import DemoServer, create_database, seed_database

    server: DemoServer = own_server  # type: ignore[assignment]
    state_dir = server.state_dir
    url = with_database(server.url("postgres"), "restart")
    await create_database(server.url("postgres"), "restart", drop_existing=True)
    await seed_database(url, rows=2_000)
    writer = await asyncpg.connect(url, server_settings={"application_name": "test-helper"})
    await hold_write(writer)
    script = Script()

    async def steps() -> None:
        await script.until(waiting)
        await asyncio.to_thread(server.stop)  # the server goes down mid-build...
        await script.until(lambda e: isinstance(e, ev.StatementFailed))
        await asyncio.to_thread(server.start, state_dir)  # ...and comes back

    stepping = asyncio.create_task(steps())
    history = tmp_path / "history.toml"
    result, events = await run_migration(
        url, options=OPTIONS, on_event=script.on_event, history=history
    )
    await stepping
    writer.terminate()
    assert result.status == "failed"
    assert "connection to the server was lost during statement 1" in (result.error or "")
    assert "did the server restart?" in (result.error or "")
    name = "idx_conversation_messages_user_contact_date"
    assert result.invalid_indexes == [name]
    run = HistoryStore(history).load().runs[-1]
    assert run.status == "failed" and run.invalid_indexes == [name]
    check = await asyncpg.connect(url)
    try:
        valid = await check.fetchval(
            "SELECT indisvalid FROM pg_index WHERE indexrelid = to_regclass($1)", name
        )
    finally:
        await check.close()
    assert valid is False
