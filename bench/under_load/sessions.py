"""The load: one holder, W waiters queued behind it, K idle in transaction, the rest idle;
on a thread and event loop of their own, so the TUI's loop has none of them."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import asyncpg
from _load import SessionThread, bounded, connected

DATABASE = "bench_load"
TABLE = "call_costs"
STEP_TIMEOUT_S = 180.0  # opening the sessions, waiting for a state


class Load(SessionThread):
    """The sessions, each with its own application_name, and their pids."""

    role = "the load"

    def __init__(self, url: str, sessions: int, waiters: int, idle_tx: int):
        super().__init__()
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
        self._holder: asyncpg.Connection | None = None

    def rename_holder(self, name: str) -> None:
        async def go() -> None:
            assert self._holder is not None
            # Inside the holder's open transaction: it stays idle in transaction.
            await self._holder.execute(f"SET application_name = '{name}'")

        self.call(go())

    async def run(self) -> None:
        tasks: list[asyncio.Task[Any]] = []
        try:
            t0 = time.perf_counter()
            (holder,) = await self.open(self.url, ["bench holder"])
            self._holder = holder
            self.holder = holder.get_server_pid()
            w, k, n = self.n_waiters, self.n_idle_tx, self.n_idle
            waiters = await self.open(self.url, [f"bench waiter {i:02d}" for i in range(1, w + 1)])
            idle_tx = await self.open(
                self.url, [f"bench idle-in-tx {i:02d}" for i in range(1, k + 1)]
            )
            idle = await self.open(self.url, [f"bench idle {i:03d}" for i in range(1, n + 1)])
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
            await self.stopped()
            # Release the queue: every waiter's count(*) must now finish, with the table's rows.
            await holder.execute("ROLLBACK")
            self.counts = list(await bounded(asyncio.gather(*tasks), "the waiters finishing", 60))
        finally:
            for t in tasks:
                t.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            closing = [c.close(timeout=5) for c in self.conns if not c.is_closed()]
            try:
                await asyncio.wait_for(asyncio.gather(*closing, return_exceptions=True), 60)
            except TimeoutError:
                pass
            for c in self.conns:
                if not c.is_closed():
                    c.terminate()


async def wait_until_queued(url: str, lo: Load) -> tuple[float, dict[str, int]]:
    """Wait (polling pg_stat_activity) until every waiter waits on a Lock; then a census."""
    async with connected(url) as conn:
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
