"""Checks before a run: the server answers, is recent enough, has the tables, lets us alter them."""

from __future__ import annotations

import asyncpg

from console.core.errors import PreflightFailed
from console.core.model import SectionPlan
from console.db import catalog

MIN_SERVER_MAJOR = 12
# Statement kinds that only read or write rows: they need no ownership.
_ROW_KINDS = {"SELECT", "INSERT", "UPDATE", "DELETE", "ANALYZE", "VACUUM", "SET", "DO"}


async def preflight(conn: asyncpg.Connection, plan: SectionPlan) -> catalog.ServerInfo:
    """Raise PreflightFailed with one sentence and the fix; return the server's facts."""
    info = await catalog.server_info(conn)
    if info.major < MIN_SERVER_MAJOR:
        raise PreflightFailed(
            f"The server runs PostgreSQL {info.version}; "
            f"the console needs {MIN_SERVER_MAJOR} or newer.",
            "Upgrade the database or run the migration by hand.",
        )
    names = plan.tables
    if not names:
        return info
    found = await catalog.tables(conn, names)
    missing = [t.name for t in found if not t.exists]
    if missing:
        listed = ", ".join(missing)
        raise PreflightFailed(
            f"Table{'s' if len(missing) > 1 else ''} {listed} "
            f"do{'' if len(missing) > 1 else 'es'} not exist in database {info.database}.",
            "Deploy the database schema first (run database-schema.sql), "
            "then run the migration again.",
        )
    needs_owner = {
        t
        for p in plan.statements
        if p.kind.split()[0] not in _ROW_KINDS and p.lock is not None
        for t in p.targets
    }
    creates_index = {p.index.table for p in plan.statements if p.index is not None}
    for table in found:
        if table.name in needs_owner and not table.may_alter:
            raise PreflightFailed(
                f"Role {info.role} may not create or drop indexes on {table.qualified}: "
                f"the table belongs to {table.owner}.",
                f"Connect as {table.owner} (or a member of that role) and run again.",
            )
        if table.name in creates_index and not table.may_create:
            raise PreflightFailed(
                f"Role {info.role} may not create indexes in schema {table.schema} "
                f"(for {table.qualified}): it lacks the CREATE privilege there.",
                f"Run `GRANT CREATE ON SCHEMA {table.schema} TO {info.role};` as the schema's "
                "owner, or connect as the table's owner.",
            )
    return info
