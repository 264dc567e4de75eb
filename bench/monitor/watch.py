"""(2)'s watchers: when the run session starts to wait (a poller every 5 ms), when the
TUI's refresh names the blocker, and the runner's own steps while statement 1 waits."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TypeVar

import asyncpg
from _load import SessionThread, session

from console.core.run import MigrationRunner
from console.core.service import ConsoleService

T = TypeVar("T")
POLL_S = 0.005  # the wait-start poller's pause between polls
REFRESH_S = 1.0  # the TUI's default refresh (ConsoleApp(refresh_s=1.0))
WAIT_POLL_SQL = """
SELECT a.wait_event_type, a.wait_event, p.phase
  FROM pg_stat_activity a
  LEFT JOIN pg_stat_progress_create_index p ON p.pid = a.pid
 WHERE a.pid = $1
"""


class WaitPoller(SessionThread):
    """Polls pg_stat_activity (and the CREATE INDEX progress) of one pid every 5 ms on its
    own connection, thread and event loop; remembers when it first saw the pid wait.
    Started before the run; it polls once ``pid`` is set (when the runner has opened)."""

    role = "the wait poller"

    def __init__(self, url: str, pid: int = 0):
        super().__init__()
        self.url = url
        self.pid = pid
        self.first: float | None = None  # send time of the first poll that saw the wait
        self.previous: float | None = None  # send time of the poll before it
        self.what = ""
        self.polls = 0

    async def run(self) -> None:
        conn = await session(self.url, "bench wait poller")
        try:
            stmt = await conn.prepare(WAIT_POLL_SQL)
            self.ready.set()
            last: float | None = None
            clock = time.perf_counter
            while not self.stop.is_set():
                if not self.pid:
                    await asyncio.sleep(POLL_S / 5)
                    continue
                t0 = clock()
                row = await stmt.fetchrow(self.pid)
                self.polls += 1
                if self.first is None and row is not None:
                    phase = row["phase"] or ""
                    if row["wait_event_type"] == "Lock" or phase.startswith("waiting"):
                        self.first, self.previous = t0, last
                        self.what = f"{row['wait_event_type']}:{row['wait_event']} ({phase or '-'})"
                last = t0
                await asyncio.sleep(POLL_S)
        finally:
            await conn.close()


class TuiTimer:
    """ConsoleApp's refresh: service.waits(run_pid) on a fixed schedule every REFRESH_S
    (textual's Timer: start + k * interval), with the runner's pid once it is open."""

    def __init__(self, service: ConsoleService, helper_pid: int, interval: float = REFRESH_S):
        self.service = service
        self.helper_pid = helper_pid
        self.interval = interval
        self.run_pid: int | None = None
        self.refreshes: list[float] = []
        self.seen: tuple[float, float] | None = None  # (refresh started, refresh returned)

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        start = loop.time()
        count = 0
        while True:
            count += 1
            await asyncio.sleep(max(0.0, start + count * self.interval - loop.time()))
            t0 = time.perf_counter()
            pid = self.run_pid
            report = await self.service.waits(pid)
            t1 = time.perf_counter()
            self.refreshes.append(t1 - t0)
            if pid is not None and self.seen is None:
                if any(n.depth == -1 and n.session.pid == self.helper_pid for n in report.tree):
                    self.seen = (t0, t1)


@dataclass
class Repetition:
    helper_pid: int
    run_pid: int = 0
    statement_started: float | None = None
    wait_started: float | None = None
    poll_gap: float | None = None
    wait_what: str = ""
    event: float | None = None  # the runner's first Waiting event naming the helper
    event_reason: str = ""
    refresh_started: float | None = None  # the refresh that first showed the helper
    refresh_done: float | None = None
    refresh_times: list[float] = field(default_factory=list)
    run_s: float = 0.0
    run_status: str = ""
    rollback_s: float = 0.0
    rollback_status: str = ""
    valid_after_run: int = -1
    valid_after_rollback: int = -1
    waiting_events: int = 0
    exec_started: float | None = None  # RunSession.execute entered for statement 1
    polls: list[tuple[float, float]] = field(default_factory=list)  # the watch's polls, stmt 1

    def delay(self, t: float | None) -> float | None:
        return None if t is None or self.wait_started is None else t - self.wait_started


def trace_runner(runner: MigrationRunner, rep: Repetition) -> None:
    """Timestamps of the runner's own steps for statement 1: when ``execute`` starts and
    each call on its monitor session (``watch.call``: one ``waits.analyse`` per poll)
    while statement 1 runs. Private attributes, wrapped on this one instance (from
    ``execute_run``'s ``on_open``), only to explain the Waiting event's delay."""
    exec_, call = runner.session.execute, runner.watch.call

    async def timed_exec(sql: str, number: int, concurrent: bool) -> str:
        if number == 1 and rep.exec_started is None:
            rep.exec_started = time.perf_counter()
        return await exec_(sql, number, concurrent)

    async def timed_call(fn: Callable[[asyncpg.Connection], Awaitable[T]]) -> T | None:
        if runner.session.current != 1 or rep.exec_started is None:
            return await call(fn)
        t0 = time.perf_counter()
        try:
            return await call(fn)
        finally:
            rep.polls.append((t0, time.perf_counter()))

    runner.session.execute = timed_exec  # type: ignore[method-assign]
    runner.watch.call = timed_call  # type: ignore[method-assign]
