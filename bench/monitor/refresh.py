"""(1) One monitor refresh among the background load: ``waits.analyse`` rooted at a
session that waits for a lock, each query alone, and their server time."""

from __future__ import annotations

import statistics
from collections import Counter
from typing import Any

from _refresh import QUERIES, calls, first_calls, query_args, round_trips, server_time
from _report import ms, pct, print_table, tail

from console.connection import MONITOR
from console.db.connect import close_quietly, connect
from console.settings import resolve_connection
from monitor.sessions import Load


async def bench_refresh(url: str, lo: Load, n: int) -> dict[str, float]:
    settings = resolve_connection(url, env={})
    mon = await connect(settings, MONITOR)
    root = lo.pids["lock waiter"][0]
    print(f"\n(1) one monitor refresh: waits.analyse(monitor, root_pid={root}), {n} calls")
    try:
        cold = await first_calls(settings, root)
        shapes: Counter[tuple[int, int, int]] = Counter()
        best: list[Any] = []  # the report with the most lock edges

        def seen(report: Any) -> None:
            shapes[(len(report.sessions), len(report.tree), len(report.edges))] += 1
            if not best or len(report.edges) > len(best[0].edges):
                best[:] = [report]

        walls = await calls(mon, root, n, seen)
        walls_none = await calls(mon, None, n)
        shape = ", ".join(
            f"{k[0]} sessions/{k[1]} in tree/{k[2]} edges: {v}x" for k, v in shapes.most_common()
        )
        print(f"  reports seen: {shape}")
        print(f"  a report: {best[0].reason}")
        args = query_args(best[0].tree, root, lo.pids["lock waiter"])
        trips = {q: await round_trips(mon, q, args[q], n) for q in QUERIES}
        server = {q: await server_time(mon, q, args[q], n) for q in QUERIES}
    finally:
        await close_quietly(mon)

    print("\n  client wall time, ms (asyncpg on a console monitor session, unix socket):")
    table = [
        ["waits.analyse(root = a lock waiter): the TUI during a run", *tail(walls)],
        ["waits.analyse(None): the TUI with no run (blockers.sql only)", *tail(walls_none)],
        ["waits.analyse(root), first call on a new session (5 sessions)", *tail(cold)],
    ]
    table += [[f"  {q}.sql alone, one round trip", *tail(trips[q])] for q in QUERIES]
    print_table(["what", "p50", "p95", "max"], table, indent="  ")
    print("\n  server time per query, ms: EXPLAIN (ANALYZE, TIMING ON, FORMAT JSON), planning")
    print("  + execution (the client reuses a prepared plan, so it plans less often):")
    srows = []
    for q in QUERIES:
        s = server[q]
        srows.append(
            [
                f"{q}.sql",
                f"{statistics.median(s.rows):.0f}",
                ms(pct(s.plan, 50)),
                *tail(s.exec),
                ms(pct(s.exec_off, 50)),
                ms(pct(s.total, 50)),
                ms(pct(s.total, 95)),
            ]
        )
    sum_p50 = sum(pct(server[q].total, 50) for q in QUERIES)
    sum_p95 = sum(pct(server[q].total, 95) for q in QUERIES)
    sum_exec = sum(pct(server[q].exec, 50) for q in QUERIES)
    srows.append(
        [
            "sum (one refresh)",
            "",
            ms(sum(pct(server[q].plan, 50) for q in QUERIES)),
            ms(sum_exec),
            "",
            "",
            ms(sum(pct(server[q].exec_off, 50) for q in QUERIES)),
            ms(sum_p50),
            ms(sum_p95),
        ]
    )
    headers = ["query", "rows", "plan p50", "exec p50", "exec p95", "exec max"]
    headers += ["exec p50 TIMING OFF", "total p50", "total p95"]
    print_table(headers, srows, indent="  ")
    print(
        f"  target: one refresh under 5 ms of server time: p50 {ms(sum_p50)} ms, "
        f"p95 {ms(sum_p95)} ms; client wall p50 {ms(pct(walls, 50))} ms"
    )
    return {"server_p50": sum_p50, "server_p95": sum_p95, "wall_p50": pct(walls, 50)}
