"""One monitor refresh, timed: ``waits.analyse`` on a console monitor session and the
queries behind it (client round trips; server time from EXPLAIN ANALYZE).

bench_monitor.py (1) and bench_load.py (2) measure the same call among different
sessions; both take their timings from here.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

QUERIES = ("blockers", "progress", "lock_edges")  # one refresh, in the order analyse runs them


async def first_calls(settings: Any, root: int | None, n: int = 5) -> list[float]:
    """``waits.analyse`` on a new monitor session each time: the first refresh also prepares
    its statements (asyncpg's statement cache), as the runner's first poll does."""
    from console.connection import MONITOR
    from console.core import waits
    from console.db.connect import close_quietly, connect

    took: list[float] = []
    for _ in range(n):
        fresh = await connect(settings, MONITOR)
        try:
            t0 = time.perf_counter()
            await waits.analyse(fresh, root)
            took.append(time.perf_counter() - t0)
        finally:
            await close_quietly(fresh)
    return took


async def calls(
    conn: Any, root: int | None, n: int, each: Callable[[Any], None] | None = None
) -> list[float]:
    """``n`` timed calls of ``waits.analyse(conn, root)`` after 5 to warm up (prepared
    statements, catalog caches); ``each`` sees every report."""
    from console.core import waits

    for _ in range(5):
        await waits.analyse(conn, root)
    took: list[float] = []
    for _ in range(n):
        t0 = time.perf_counter()
        report = await waits.analyse(conn, root)
        took.append(time.perf_counter() - t0)
        if each is not None:
            each(report)
    return took


def query_args(tree: Sequence[Any], root: int, waiters: Sequence[int] = ()) -> dict[str, tuple]:
    """Each query's parameters, as analyse passes them for a tree rooted at ``root``
    (``waiters`` when the tree has none waiting)."""
    return {
        "blockers": (),
        "progress": (root,),
        "lock_edges": (
            [t.session.pid for t in tree if t.session.waiting] or list(waiters),
            [t.session.pid for t in tree],
        ),
    }


async def round_trips(conn: Any, query: str, args: tuple, n: int, warm: int = 0) -> list[float]:
    """``n`` timed round trips of one query alone, after ``warm`` untimed ones."""
    from console.db.sql import load

    sql = load(query)
    for _ in range(warm):
        await conn.fetch(sql, *args)
    took: list[float] = []
    for _ in range(n):
        t0 = time.perf_counter()
        await conn.fetch(sql, *args)
        took.append(time.perf_counter() - t0)
    return took


@dataclass
class ServerTime:
    """One query's server time (s), ``n`` EXPLAIN ANALYZE runs with TIMING ON, ``n`` OFF."""

    plan: list[float] = field(default_factory=list)
    exec: list[float] = field(default_factory=list)
    total: list[float] = field(default_factory=list)  # plan + exec
    exec_off: list[float] = field(default_factory=list)  # exec with TIMING OFF
    rows: list[int] = field(default_factory=list)


def explain_times(text: str) -> tuple[float, float, int]:
    """Planning and execution time (s) and the rows of an EXPLAIN (FORMAT JSON)."""
    doc = json.loads(text)[0]
    return doc["Planning Time"] / 1000, doc["Execution Time"] / 1000, doc["Plan"]["Actual Rows"]


async def server_time(conn: Any, query: str, args: tuple, n: int) -> ServerTime:
    from console.db.sql import load

    out = ServerTime()
    for timing in ("ON", "OFF"):
        sql = f"EXPLAIN (ANALYZE, TIMING {timing}, FORMAT JSON)\n" + load(query)
        for _ in range(n):
            plan_s, exec_s, rows = explain_times(await conn.fetchval(sql, *args))
            if timing == "ON":
                out.plan.append(plan_s)
                out.exec.append(exec_s)
                out.total.append(plan_s + exec_s)
                out.rows.append(rows)
            else:
                out.exec_off.append(exec_s)
    return out
