"""The run lock, kept: a session-level advisory lock on a session of its own.

The session never opens a transaction (an advisory lock taken in one would hold
a snapshot that ``CREATE INDEX CONCURRENTLY`` waits for). It also LISTENs for
messages to this run (cancel, an operator's answer), sent with NOTIFY by a face
on any machine. If the session is lost, the lock is taken again at once on a new
one; if another session took it in between, the run stops before its next
statement and says who has it.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from datetime import UTC

import asyncpg

from console.connection import LOCK
from console.core import events as ev
from console.db import runlock
from console.db.connect import close_quietly, connect
from console.errors import ConsoleError, LockHeld
from console.settings import ConnectionSettings

Emit = Callable[[ev.Event], None]
Control = Callable[[str, str], None]  # (what, by)
RETAKE_EVERY_S = 1.0


def describe_holder(holder: runlock.LockHolder | None) -> str:
    if holder is None:
        return "another session"
    return (
        f"pid {holder.pid} ({holder.application_name or 'no application name'}, "
        f"role {holder.role}, from {holder.client}, since "
        f"{holder.since.astimezone(UTC):%Y-%m-%d %H:%M:%S} UTC)"
    )


class RunLock:
    def __init__(
        self, settings: ConnectionSettings, migration: str, run_id: str, emit: Emit, on: Control
    ):
        self.settings = settings
        self.migration = migration
        self.run_id = run_id
        self.emit = emit
        self.on = on
        self.taken_by: str | None = None  # set when another session took the lock
        self._conn: asyncpg.Connection | None = None
        self._held = False
        self._closing = False
        self._retake: asyncio.Task[None] | None = None

    @property
    def pid(self) -> int | None:
        return None if self._conn is None else int(self._conn.get_server_pid())

    async def acquire(self) -> None:
        """Take the lock or refuse at once (LockHeld, exit 4), naming who holds it."""
        conn = await connect(self.settings, LOCK, self.migration)
        try:
            if not await runlock.try_acquire(conn, self.migration):
                holder = await runlock.holder(conn, self.migration)
                raise LockHeld(
                    f"Migration {self.migration} is already being run or rolled back by "
                    f"{describe_holder(holder)}.",
                    "Wait for it to finish, or follow it with "
                    f"`migration-console attach {self.migration}`.",
                )
            await self._adopt(conn)
        except BaseException:
            await close_quietly(conn)
            raise

    async def _adopt(self, conn: asyncpg.Connection) -> None:
        self._conn, self._held = conn, True
        await conn.add_listener(runlock.CHANNEL, self._message)
        conn.add_termination_listener(self._lost)

    def _message(self, _conn: object, _pid: int, _channel: str, payload: str) -> None:
        try:
            data = json.loads(payload)
        except ValueError:
            return
        if not isinstance(data, dict):
            return
        if data.get("run_id") not in (self.run_id, None) or data.get("migration") != self.migration:
            return
        self.on(str(data.get("do", "")), str(data.get("by", "someone")))

    def _lost(self, _conn: object) -> None:
        if self._closing or not self._held:
            return
        self._held = False
        self.emit(ev.HelperSession("lock", "lost", "taking the run lock again"))
        self._retake = asyncio.get_running_loop().create_task(self._take_again())

    async def _take_again(self) -> None:
        while not self._closing:
            try:
                conn = await connect(self.settings, LOCK, self.migration, connect_timeout=3)
            except ConsoleError:
                await asyncio.sleep(RETAKE_EVERY_S)
                continue
            try:
                if await runlock.try_acquire(conn, self.migration):
                    await self._adopt(conn)
                    self.emit(ev.HelperSession("lock", "retaken", f"pid {self.pid}"))
                    return
                self.taken_by = describe_holder(await runlock.holder(conn, self.migration))
            except Exception:  # noqa: BLE001 - lost again at once: try again
                await close_quietly(conn)
                await asyncio.sleep(RETAKE_EVERY_S)
                continue
            await close_quietly(conn)
            self.emit(ev.HelperSession("lock", "taken", self.taken_by))
            return

    async def ensure(self, limit_s: float = 30.0) -> None:
        """Before a statement: the lock is ours. Waits (bounded) while it is being taken
        again; raises LockHeld if another session has it or it cannot be taken back."""
        if self._retake is not None and not self._retake.done():
            try:
                await asyncio.wait_for(asyncio.shield(self._retake), limit_s)
            except TimeoutError:
                pass
        if self.taken_by is not None:
            raise LockHeld(
                f"Another session took the run lock of {self.migration} while this run's "
                f"lock session was lost: {self.taken_by}.",
                "This run stopped before its next statement; see who runs it with "
                f"`migration-console blockers {self.migration}`.",
            )
        if not self._held:
            raise LockHeld(
                f"The run lock of {self.migration} was lost and could not be taken again "
                f"within {limit_s:.0f} s.",
                "This run stopped before its next statement; check the server.",
            )

    async def release(self) -> None:
        self._closing = True
        if self._retake is not None:
            self._retake.cancel()
        conn, self._conn = self._conn, None
        if conn is None or conn.is_closed():
            return
        if self._held:
            try:
                await asyncio.wait_for(runlock.release(conn, self.migration), 5)
            except Exception:  # noqa: BLE001 - closing the session releases it anyway
                pass
        await close_quietly(conn)
