"""The background load: 200 idle and 20 busy sessions on a thread of their own."""

from __future__ import annotations

import asyncio

import asyncpg
from _load import SessionThread, connected

IDLE = 200  # idle sessions
BUSY = 12  # SELECT pg_sleep(BUSY_SLEEP_S) in a loop
IDLE_IN_TX = 2  # BEGIN; SELECT 1; then nothing
HOLDERS = 2  # idle in transaction, holding ACCESS EXCLUSIVE on bench_side_k
WAITERS = 4  # LOCK TABLE bench_side_k behind a holder, lock_timeout WAITER_LOCK_TIMEOUT, retried
BUSY_SLEEP_S = 0.2
WAITER_LOCK_TIMEOUT = "1s"
SIDE_TABLES = [f"bench_side_{k}" for k in range(1, HOLDERS + 1)]


class Load(SessionThread):
    """200 idle and 20 busy sessions on their own thread and event loop."""

    role = "the background load"

    def __init__(self, url: str):
        super().__init__()
        self.url = url
        self.pids: dict[str, list[int]] = {}
        self.busy_queries = 0
        self.lock_timeouts = 0

    async def _open(self, kind: str, n: int, **settings: str) -> list[asyncpg.Connection]:
        opened = await self.open(self.url, [f"bench {kind}"] * n, 20, **settings)
        self.pids[kind] = [c.get_server_pid() for c in opened]
        return opened

    async def run(self) -> None:
        tasks: list[asyncio.Task[None]] = []
        try:
            await self._open("idle", IDLE)
            busy = await self._open("busy", BUSY)
            idle_tx = await self._open("idle in transaction", IDLE_IN_TX)
            holders = await self._open("lock holder", HOLDERS)
            waiters = await self._open("lock waiter", WAITERS, lock_timeout=WAITER_LOCK_TIMEOUT)
            for c in idle_tx:
                await c.execute("BEGIN; SELECT 1")
            for table, c in zip(SIDE_TABLES, holders, strict=True):
                await c.execute(f"BEGIN; LOCK TABLE {table} IN ACCESS EXCLUSIVE MODE")
            tasks += [asyncio.ensure_future(self._busy(c)) for c in busy]
            for i, c in enumerate(waiters):
                tasks.append(asyncio.ensure_future(self._wait(c, SIDE_TABLES[i % HOLDERS])))
                await asyncio.sleep(0.05)  # queue them in a known order
            self.ready.set()
            while not self.stop.is_set():
                done, _ = await asyncio.wait(tasks, timeout=0.05)
                for t in done:
                    t.result()  # a load session that failed fails the benchmark
        finally:
            for c in self.conns:
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


async def census(url: str) -> dict[str, int]:
    async with connected(url) as conn:
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
