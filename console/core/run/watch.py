"""The run's monitor session: polls, cancels, catalog checks; never a single point of failure.

Each query is one autocommit statement with short timeouts (``db.connect``), so
the session never holds a snapshot a ``CREATE INDEX CONCURRENTLY`` would wait
for. When the session is lost (terminated, network, server restart) a call
returns None instead of raising, the loss is reported once, and the next call
reconnects: the migration's own statement never notices.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

import asyncpg

from console.connection import MONITOR
from console.core import events as ev
from console.core.locks import conflicts, lock_mode
from console.core.run.policy import Block
from console.db import activity
from console.db.connect import close_quietly, connect
from console.errors import ConsoleError
from console.settings import ConnectionSettings

T = TypeVar("T")
Emit = Callable[[ev.Event], None]

# A session that is gone: its socket, or asyncpg's protocol when the server went away
# in the middle of a message (InternalClientError, seen on a server shutdown).
LOST = (asyncpg.InterfaceError, asyncpg.InternalClientError, OSError, TimeoutError)
RECONNECT_EVERY_S = 1.0  # at most one connection attempt per second while lost
RECONNECT_TIMEOUT_S = 3.0


def is_disconnect(exc: BaseException) -> bool:
    """A lost session: connection errors, or the server ending it (57P01-57P03, 08xxx)."""
    if isinstance(exc, LOST):
        return True
    code = getattr(exc, "sqlstate", None) or ""
    return code.startswith("08") or code in ("57P01", "57P02", "57P03")


class Watch:
    def __init__(self, settings: ConnectionSettings, migration: str, emit: Emit):
        self.settings = settings
        self.migration = migration
        self.emit = emit
        self._conn: asyncpg.Connection | None = None
        self._lost = False  # reported lost, not yet reconnected
        self._next_try = 0.0
        self._busy = asyncio.Lock()  # one query at a time on the session

    @property
    def pid(self) -> int | None:
        if self._conn is None or self._conn.is_closed():
            return None
        return int(self._conn.get_server_pid())

    async def open(self) -> asyncpg.Connection:
        """The first connection: failures here are the caller's (the run has not started)."""
        self._conn = await connect(self.settings, MONITOR, self.migration)
        return self._conn

    async def call(self, fn: Callable[[asyncpg.Connection], Awaitable[T]]) -> T | None:
        """fn on the monitor session, or None when the session is lost (or cannot answer).
        Callers take turns: the polls, a cancel, the checks after a statement."""
        async with self._busy:
            conn = await self._connection()
            if conn is None:
                return None
            try:
                return await fn(conn)
            except (asyncpg.PostgresError, *LOST) as exc:  # a poll never breaks a run
                if is_disconnect(exc):
                    self._drop(exc)
                return None

    async def _connection(self) -> asyncpg.Connection | None:
        if self._conn is not None and not self._conn.is_closed():
            return self._conn
        if self._conn is not None:
            self._drop(None)
        now = time.monotonic()
        if now < self._next_try:
            return None
        self._next_try = now + RECONNECT_EVERY_S
        try:
            self._conn = await connect(
                self.settings, MONITOR, self.migration, connect_timeout=RECONNECT_TIMEOUT_S
            )
        except ConsoleError:
            return None
        if self._lost:
            self._lost = False
            self.emit(ev.HelperSession("monitor", "reconnected", f"pid {self.pid}"))
        return self._conn

    def _drop(self, exc: BaseException | None) -> None:
        bad, self._conn = self._conn, None
        if bad is not None and not bad.is_closed():
            bad.terminate()
        if not self._lost:
            self._lost = True
            detail = self.settings.redact(str(exc)) if exc is not None and str(exc) else ""
            self.emit(ev.HelperSession("monitor", "lost", detail))

    async def close(self) -> None:
        await close_quietly(self._conn)
        self._conn = None

    async def released_check(self, block: Block | None) -> Callable[[], Awaitable[bool]] | None:
        """A check that the sessions that blocked an attempt no longer hold a lock on the
        table that conflicts with the one it wanted (or, for a wait on a transaction, that
        the transaction is over); None when that cannot be known."""
        if block is None or not block.pids:
            return None
        pids, wanted = list(block.pids), lock_mode(block.mode)
        if block.relation_oid is not None:
            oid = block.relation_oid

            async def on_table() -> bool:
                held = await self.call(lambda c: activity.relation_locks(c, pids, oid))
                if held is None:
                    return False
                return not any(conflicts(wanted, lock_mode(mode)) for _pid, mode in held)

            return on_table
        before = await self.call(lambda c: activity.transactions_of(c, pids))
        if before is None:
            return None

        async def transactions_over() -> bool:
            now = await self.call(lambda c: activity.transactions_of(c, pids))
            return now is not None and all(
                now.get(p) is None or now.get(p) != before.get(p) for p in pids
            )

        return transactions_over
