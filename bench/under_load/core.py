"""(2) The core call in-process: ``waits.analyse`` on a console monitor session among the
sessions, every report checked; each query alone, and its server time."""

from __future__ import annotations

import statistics
import time
from collections import Counter

from _refresh import calls, first_calls, query_args, round_trips, server_time
from _report import ms, pct, print_table, spread

from console.connection import MONITOR
from console.core import waits
from console.db.connect import close_quietly, connect
from console.settings import resolve_connection
from under_load.checks import check_report
from under_load.sessions import Load


async def bench_core(url: str, lo: Load, n: int) -> None:
    settings = resolve_connection(url, env={})
    waiter = lo.waiters[len(lo.waiters) // 2]
    print(
        f"\n(2) the core call in-process: waits.analyse on a console monitor session, {n} calls "
        f"each (root: None, the holder pid {lo.holder}, a waiter pid {waiter})"
    )
    mon = await connect(settings, MONITOR)
    try:
        cold = await first_calls(settings, None)
        roots: dict[str, int | None] = {
            "waits.analyse(None): blockers --json, the TUI with no run": None,
            f"waits.analyse(holder): the tree, {len(lo.waiters)} queued below": lo.holder,
            "waits.analyse(a waiter): the tree, the holder above it": waiter,
        }
        walls: dict[str, list[float]] = {}
        problems: Counter[str] = Counter()
        reports: dict[str, waits.WaitReport] = {}
        for label, root in roots.items():

            def check(
                report: waits.WaitReport, label: str = label, root: int | None = root
            ) -> None:
                reports[label] = report
                for p in check_report(report, lo, root):
                    problems[f"{label}: {p}"] += 1

            walls[label] = await calls(mon, root, n, check)
        # The pure Python part of a rooted call, for comparison.
        sessions = reports[next(iter(roots))].sessions
        tree_s: list[float] = []
        for _ in range(n):
            t0 = time.perf_counter()
            waits.build_tree(sessions, lo.holder)
            tree_s.append(time.perf_counter() - t0)
        tree = waits.build_tree(sessions, lo.holder)
        args = query_args(tree, lo.holder)
        trips = {q: await round_trips(mon, q, a, n, warm=1) for q, a in args.items()}
        server = {q: await server_time(mon, q, args[q], n) for q in ("blockers", "lock_edges")}
    finally:
        await close_quietly(mon)

    print("\n  client wall time (asyncpg, unix socket), ms:")
    first = "waits.analyse(None), first call on a new session (5 sessions)"
    table = [[label, *spread(v, grouped=True)] for label, v in walls.items()]
    table.append([first, *spread(cold, grouped=True)])
    table += [[f"  {q}.sql alone, one round trip", *spread(trips[q], grouped=True)] for q in args]
    python_only = f"  waits.build_tree(holder), Python only ({len(tree)} nodes)"
    table.append([python_only, *spread(tree_s, 2, grouped=True)])
    print_table(["what", "min", "median", "p95", "max"], table, indent="  ")
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
        srows.append(
            [
                f"{q}.sql",
                f"{s.rows[-1]:.0f}",
                ms(statistics.median(s.plan), 2, grouped=True),
                ms(statistics.median(s.exec), 2, grouped=True),
                ms(pct(s.exec, 95), 2, grouped=True),
                ms(statistics.median(s.exec_off), 2, grouped=True),
                ms(statistics.median(s.total), 2, grouped=True),
                ms(pct(s.total, 95), 2, grouped=True),
            ]
        )
    headers = ["query", "rows", "plan p50", "exec p50", "exec p95", "exec p50 TIMING OFF"]
    print_table([*headers, "total p50", "total p95"], srows, indent="  ")
