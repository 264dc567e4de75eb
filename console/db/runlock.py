"""The run lock: a session-level advisory lock keyed by migration.

It is held on a connection of its own that never opens a transaction: an
advisory lock taken inside a transaction would hold a snapshot, and
``CREATE INDEX CONCURRENTLY`` waits for every old snapshot, i.e. forever.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from datetime import datetime

import asyncpg

from console.db.sql import load

NAMESPACE = 0x4D43  # "MC": the first key of the console's two-key advisory locks


@dataclass(frozen=True)
class LockHolder:
    pid: int
    application_name: str
    role: str
    client: str
    since: datetime
    state: str | None


def lock_key(migration: str) -> tuple[int, int]:
    return NAMESPACE, zlib.crc32(migration.encode()) & 0x7FFFFFFF


async def try_acquire(conn: asyncpg.Connection, migration: str) -> bool:
    return bool(await conn.fetchval(load("try_advisory_lock"), *lock_key(migration)))


async def release(conn: asyncpg.Connection, migration: str) -> None:
    await conn.fetchval(load("advisory_unlock"), *lock_key(migration))


async def holder(conn: asyncpg.Connection, migration: str) -> LockHolder | None:
    row = await conn.fetchrow(load("lock_holder"), *lock_key(migration))
    if row is None:
        return None
    return LockHolder(
        pid=row["pid"],
        application_name=row["application_name"],
        role=row["role"],
        client=row["client"],
        since=row["backend_start"],
        state=row["state"],
    )


# Faces talk to a running migration's runner through NOTIFY on this channel; the
# runner LISTENs on its run-lock session (idle, never in a transaction), so this
# works from any machine that reaches the database.
CHANNEL = "migration_console"


async def notify(conn: asyncpg.Connection, payload: str) -> None:
    await conn.fetchval(load("notify"), CHANNEL, payload)
