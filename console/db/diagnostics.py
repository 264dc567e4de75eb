"""Reads for the connection doctor: pooling, TLS, role defaults, idle transactions.

Each is one short query on the monitor session (autocommit, short timeouts).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

import asyncpg

from console.db.sql import load

TIMEOUT_SETTINGS = ("lock_timeout", "statement_timeout", "idle_in_transaction_session_timeout")


@dataclass(frozen=True)
class SessionProbe:
    """Two statements in a row: did they reach the same server session?"""

    first_pid: int
    second_pid: int
    setting_kept: bool

    @property
    def stable(self) -> bool:
        return self.first_pid == self.second_pid and self.setting_kept


@dataclass(frozen=True)
class SslStatus:
    encrypted: bool
    version: str | None


@dataclass(frozen=True)
class SettingDefault:
    name: str
    value: str  # as stored, e.g. "30s", "5min", "0"
    source: str  # e.g. "ALTER ROLE app SET", or the configuration file


@dataclass(frozen=True)
class IdleTransaction:
    pid: int
    state: str
    application_name: str
    role: str
    client: str
    xact_age_s: float
    idle_s: float
    query: str


async def session_probe(conn: asyncpg.Connection) -> SessionProbe:
    token = secrets.token_hex(8)
    first = await conn.fetchrow(load("session_probe_set"), token)
    second = await conn.fetchrow(load("session_probe_get"))
    assert first is not None
    assert second is not None
    return SessionProbe(first["pid"], second["pid"], second["token"] == token)


async def ssl_status(conn: asyncpg.Connection) -> SslStatus | None:
    row = await conn.fetchrow(load("connection_ssl"))
    if row is None:
        return None
    return SslStatus(bool(row["ssl"]), row["version"])


async def timeout_defaults(
    conn: asyncpg.Connection,
) -> tuple[dict[str, SettingDefault], bool]:
    """The timeouts a new session of this role starts with, where any is set (from
    ALTER ROLE/DATABASE, else the configuration files), and whether the configuration
    files could be read (superusers only; otherwise a value set there is not seen)."""
    names = list(TIMEOUT_SETTINGS)
    found: dict[str, SettingDefault] = {}
    files_read = True
    try:
        for r in await conn.fetch(load("file_timeout_settings"), names):
            found[r["name"]] = SettingDefault(r["name"], r["value"], r["source"])
    except asyncpg.InsufficientPrivilegeError:
        files_read = False
    for r in await conn.fetch(load("role_timeout_defaults"), names):
        found[r["name"]] = SettingDefault(r["name"], r["value"], r["source"])
    return found, files_read


async def hidden_sessions(conn: asyncpg.Connection) -> int:
    """Sessions in this database whose state this role may not see."""
    return int(await conn.fetchval(load("hidden_sessions")) or 0)


async def idle_transactions(conn: asyncpg.Connection) -> tuple[int, list[IdleTransaction]]:
    """How many sessions are idle in a transaction, and the oldest ones (at most 50)."""
    rows = await conn.fetch(load("idle_in_transaction"))
    total = int(rows[0]["total"]) if rows else 0
    return total, [
        IdleTransaction(
            pid=r["pid"],
            state=r["state"],
            application_name=r["application_name"] or "",
            role=r["role"] or "",
            client=r["client"],
            xact_age_s=r["xact_age_s"] or 0.0,
            idle_s=r["idle_s"] or 0.0,
            query=r["query"] or "",
        )
        for r in rows
    ]
