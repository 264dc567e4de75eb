"""Checks before a run: the server answers, is recent enough, has the tables, lets us alter them."""

from __future__ import annotations

import asyncpg

from console.core.model import SectionPlan
from console.db import catalog
from console.errors import PreflightFailed

MIN_SERVER_MAJOR = 12
# Statement kinds that only read or write rows: they need no ownership.
_ROW_KINDS = {"SELECT", "INSERT", "UPDATE", "DELETE", "ANALYZE", "VACUUM", "SET", "DO"}
# What a read-only transaction still takes (a database whose default is read-only).
_READS = {"SELECT", "ANALYZE", "SET", "SHOW", "EXPLAIN"}


async def preflight(conn: asyncpg.Connection, plan: SectionPlan) -> catalog.ServerInfo:
    """Raise PreflightFailed with one sentence and the fix; return the server's facts."""
    info = await catalog.server_info(conn)
    problem = version_problem(info) or read_only_problem(info, plan)
    if problem is not None:
        raise problem
    problems = await table_problems(conn, plan, info)
    if problems:
        raise problems[0]
    return info


def version_problem(info: catalog.ServerInfo) -> PreflightFailed | None:
    """Why the server is too old for the console, or None."""
    if info.major >= MIN_SERVER_MAJOR:
        return None
    return PreflightFailed(
        f"The server runs PostgreSQL {info.version}; "
        f"the console needs {MIN_SERVER_MAJOR} or newer.",
        "Upgrade the database or run the migration by hand.",
    )


def read_only_problem(info: catalog.ServerInfo, plan: SectionPlan) -> PreflightFailed | None:
    """Why a server that takes only reads here (a standby, a read-only default) cannot
    run the section, or None: caught before the first statement, not by it."""
    writes = [sp for sp in plan.statements if sp.kind.split()[0] not in _READS]
    if not info.read_only or not writes:
        return None
    return PreflightFailed(
        f"Database {info.database} takes only reads here (transaction_read_only is on: a "
        f"standby, or a read-only default), so statement {writes[0].statement.number} "
        f"({writes[0].kind}) could not run; nothing was run.",
        "Connect to the primary, read-write server (or reset default_transaction_read_only).",
    )


async def table_problems(
    conn: asyncpg.Connection,
    plan: SectionPlan,
    info: catalog.ServerInfo,
    *,
    grouped: bool = False,
) -> list[PreflightFailed]:
    """Every reason the role cannot run the section on its tables, most basic first
    (missing tables, then per table: not the owner, no CREATE on the schema); empty when
    none. ``grouped`` merges the tables of one owner (or one schema) into one problem.
    Never raises for these: the connection doctor lists them all."""
    # DROP INDEX names no table: the index's table is the one to own (a rollback).
    dropped = [sp.drops_index for sp in plan.statements if sp.drops_index]
    index_tables = [
        s.table
        for s in (await catalog.indexes(conn, dropped) if dropped else [])
        if s.exists and s.table
    ]
    names = tuple(dict.fromkeys((*plan.tables, *index_tables)))
    if not names:
        return []
    found = await catalog.tables(conn, names)
    missing = [t.name for t in found if not t.exists and t.name not in index_tables]
    if missing:
        listed = ", ".join(missing)
        return [
            PreflightFailed(
                f"Table{'s' if len(missing) > 1 else ''} {listed} "
                f"do{'' if len(missing) > 1 else 'es'} not exist in database {info.database}.",
                "Deploy the database schema first (run database-schema.sql), "
                "then run the migration again.",
            )
        ]
    needs_owner = {
        t
        for p in plan.statements
        if p.kind.split()[0] not in _ROW_KINDS and p.lock is not None
        for t in p.targets
    } | set(index_tables)
    creates_index = {p.index.table for p in plan.statements if p.index is not None}
    # (kind, owner or schema) -> qualified table names, in the order found
    lacking: dict[tuple[str, str, int], list[str]] = {}
    for n, table in enumerate(found):
        key = -1 if grouped else n
        if table.name in needs_owner and not table.may_alter:
            lacking.setdefault(("owner", str(table.owner), key), []).append(str(table.qualified))
        if table.name in creates_index and not table.may_create:
            lacking.setdefault(("schema", str(table.schema), key), []).append(str(table.qualified))
    return [_lacking(info.role, kind, who, tables) for (kind, who, _), tables in lacking.items()]


def _lacking(role: str, kind: str, who: str, tables: list[str]) -> PreflightFailed:
    listed = ", ".join(tables)
    if kind == "owner":
        return PreflightFailed(
            f"Role {role} may not create or drop indexes on {listed}: "
            f"the table{'s belong' if len(tables) > 1 else ' belongs'} to {who}.",
            f"Connect as {who} (or a member of that role) and run again.",
        )
    return PreflightFailed(
        f"Role {role} may not create indexes in schema {who} "
        f"(for {listed}): it lacks the CREATE privilege there.",
        f"Run `GRANT CREATE ON SCHEMA {who} TO {role};` as the "
        "schema's owner, or connect as the table's owner.",
    )
