"""Catalog reads: server, tables, indexes, CREATE INDEX progress. Short, autocommit."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import asyncpg

from console.db.sql import load


@dataclass(frozen=True)
class ServerInfo:
    version_num: int
    version: str
    role: str
    database: str
    pid: int
    superuser: bool
    signal_backend: bool
    lock_timeout: str
    statement_timeout: str
    read_only: bool

    @property
    def major(self) -> int:
        return self.version_num // 10000


@dataclass(frozen=True)
class TableInfo:
    name: str
    exists: bool
    qualified: str | None
    owner: str | None
    may_alter: bool
    schema: str | None
    may_create: bool
    estimated_rows: int | None


@dataclass(frozen=True)
class IndexState:
    name: str
    exists: bool
    qualified: str | None = None
    valid: bool | None = None
    table: str | None = None
    definition: str | None = None
    size_bytes: int | None = None
    size: str | None = None
    idx_scan: int | None = None
    building_pid: int | None = None

    @property
    def invalid(self) -> bool:
        return self.exists and self.valid is False


@dataclass(frozen=True)
class IndexProgress:
    phase: str
    index: str | None
    table: str | None
    lockers_total: int
    lockers_done: int
    current_locker_pid: int
    blocks_total: int
    blocks_done: int
    tuples_total: int
    tuples_done: int


async def server_info(conn: asyncpg.Connection) -> ServerInfo:
    row = await conn.fetchrow(load("server_info"))
    assert row is not None
    return ServerInfo(**dict(row))


async def tables(conn: asyncpg.Connection, names: Sequence[str]) -> list[TableInfo]:
    rows = await conn.fetch(load("tables"), list(names))
    return [TableInfo(**dict(r)) for r in rows]


async def indexes(conn: asyncpg.Connection, names: Sequence[str]) -> list[IndexState]:
    rows = await conn.fetch(load("indexes"), list(names))
    return [
        IndexState(
            name=r["name"],
            exists=r["exists"],
            qualified=r["qualified"],
            valid=r["valid"],
            table=r["table_name"],
            definition=r["definition"],
            size_bytes=r["size_bytes"],
            size=r["size"],
            idx_scan=r["idx_scan"],
            building_pid=r["building_pid"],
        )
        for r in rows
    ]


async def invalid_indexes(conn: asyncpg.Connection) -> list[tuple[str, str, str, int | None]]:
    """(name, table, size, pid building it now or None) of every INVALID index."""
    rows = await conn.fetch(load("invalid_indexes"))
    return [(r["name"], r["table_name"], r["size"], r["building_pid"]) for r in rows]


async def drop_index_statement(conn: asyncpg.Connection, qualified_name: str) -> str:
    """``DROP INDEX CONCURRENTLY IF EXISTS`` with the name quoted by the server."""
    sql = await conn.fetchval(load("drop_index_concurrently"), qualified_name)
    return str(sql)


async def progress(conn: asyncpg.Connection, pid: int) -> IndexProgress | None:
    row = await conn.fetchrow(load("progress"), pid)
    if row is None:
        return None
    return IndexProgress(
        phase=row["phase"],
        index=row["index_name"],
        table=row["table_name"],
        lockers_total=row["lockers_total"] or 0,
        lockers_done=row["lockers_done"] or 0,
        current_locker_pid=row["current_locker_pid"] or 0,
        blocks_total=row["blocks_total"] or 0,
        blocks_done=row["blocks_done"] or 0,
        tuples_total=row["tuples_total"] or 0,
        tuples_done=row["tuples_done"] or 0,
    )


async def cancel_backend(conn: asyncpg.Connection, pid: int) -> bool:
    return bool(await conn.fetchval(load("cancel_backend"), pid))


async def normalized_index_definition(
    conn: asyncpg.Connection, table: str, probe_sql_for: Callable[[str, str], str]
) -> str | None:
    """The server's own rendering of an index as a file writes it.

    Builds the index on an empty temporary copy of the table's columns inside a
    transaction that is always rolled back, so nothing is left behind and the
    real table is only touched by ``LIKE`` (ACCESS SHARE for an instant).
    """
    tmp_table = "mc_probe_table"
    tmp_index = "mc_probe_index"
    tr = conn.transaction()
    await tr.start()
    try:
        await conn.execute("SET LOCAL lock_timeout = '2s'")
        await conn.execute("SET LOCAL statement_timeout = '10s'")
        create = await conn.fetchval(load("temp_table_like"), tmp_table, table)
        await conn.execute(create)
        await conn.execute(probe_sql_for(tmp_table, tmp_index))
        definition = await conn.fetchval(load("index_definition"), f"pg_temp.{tmp_index}")
        return str(definition) if definition else None
    finally:
        await tr.rollback()
