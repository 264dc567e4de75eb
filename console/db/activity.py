"""Live sessions from pg_stat_activity, who blocks whom, and acting on a session."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import asyncpg

from console.connection import APP
from console.db.sql import load


@dataclass(frozen=True)
class Session:
    pid: int
    state: str | None
    age_s: float | None  # since the current or last query started
    xact_age_s: float | None  # since the transaction started (None: no transaction)
    query: str
    application_name: str
    role: str
    client: str
    wait_event_type: str | None
    wait_event: str | None
    holds_snapshot: bool
    blocked_by: tuple[int, ...]
    state_age_s: float | None = None  # how long in the current state
    role_is_superuser: bool = False
    same_role: bool = False  # the console's role is a member of this session's role

    @property
    def waiting(self) -> bool:
        return bool(self.blocked_by)

    @property
    def idle_in_transaction(self) -> bool:
        return (self.state or "").startswith("idle in transaction")

    @property
    def is_console(self) -> bool:
        return self.application_name.startswith(APP)


@dataclass(frozen=True)
class LockEdge:
    """``waiter`` asks for ``wants`` on something ``holder`` has in mode ``holds``."""

    waiter: int
    holder: int
    locktype: str
    wants: str
    holds: str
    relation: str | None


async def sessions(conn: asyncpg.Connection) -> list[Session]:
    rows = await conn.fetch(load("blockers"))
    return [
        Session(
            pid=r["pid"],
            state=r["state"],
            age_s=r["age_s"],
            xact_age_s=r["xact_age_s"],
            query=r["query"] or "",
            application_name=r["application_name"] or "",
            role=r["role"] or "",
            client=r["client"],
            wait_event_type=r["wait_event_type"],
            wait_event=r["wait_event"],
            holds_snapshot=r["holds_snapshot"],
            blocked_by=tuple(r["blocked_by"] or ()),
            state_age_s=r["state_age_s"],
            role_is_superuser=r["role_is_superuser"],
            same_role=r["same_role"],
        )
        for r in rows
    ]


async def lock_edges(
    conn: asyncpg.Connection, waiters: Sequence[int], holders: Sequence[int]
) -> list[LockEdge]:
    if not waiters or not holders:
        return []
    rows = await conn.fetch(load("lock_edges"), list(waiters), list(holders))
    return [
        LockEdge(r["waiter"], r["holder"], r["locktype"], r["wants"], r["holds"], r["relation"])
        for r in rows
    ]


async def cancel(conn: asyncpg.Connection, pid: int) -> bool:
    return bool(await conn.fetchval(load("cancel_backend"), pid))


async def terminate(conn: asyncpg.Connection, pid: int) -> bool:
    return bool(await conn.fetchval(load("terminate_backend"), pid))


@dataclass(frozen=True)
class LockWait:
    """The lock a backend waits for: on an object (a table), or for another transaction."""

    locktype: str
    mode: str
    relation_oid: int | None
    relation: str | None
    waited_s: float | None  # None before PostgreSQL 14 (no pg_locks.waitstart)

    @property
    def for_transactions(self) -> bool:
        """Waiting for other transactions to end, as concurrent statements do."""
        return self.locktype in ("virtualxid", "transactionid")


async def lock_wait(conn: asyncpg.Connection, pid: int) -> LockWait | None:
    query = "lock_wait" if conn.get_server_version().major >= 14 else "lock_wait_pre14"
    r = await conn.fetchrow(load(query), pid)
    if r is None:
        return None
    return LockWait(r["locktype"], r["mode"], r["relation_oid"], r["relation"], r["waited_s"])


async def cancel_if_lock_wait(conn: asyncpg.Connection, pid: int) -> bool:
    """Cancel pid's statement only while it waits for a lock on an object."""
    return bool(await conn.fetchval(load("cancel_if_lock_wait"), pid))


async def relation_locks(
    conn: asyncpg.Connection, pids: Sequence[int], relation_oid: int
) -> list[tuple[int, str]]:
    rows = await conn.fetch(load("relation_locks"), list(pids), relation_oid)
    return [(r["pid"], r["mode"]) for r in rows]


async def transactions_of(conn: asyncpg.Connection, pids: Sequence[int]) -> dict[int, object]:
    """pid -> the start of its open transaction (None: no transaction); absent: gone."""
    rows = await conn.fetch(load("transactions_of"), list(pids))
    return {r["pid"]: r["xact_start"] for r in rows}
