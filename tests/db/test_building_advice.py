"""An index that is being built is INVALID until its build ends: never advise dropping it."""

from __future__ import annotations

import asyncio

import asyncpg

from console.core.applied import migration_state
from console.core.doctor.server import invalid_check
from console.core.migration_file import parse_migration
from console.core.words import Standing
from tests.helpers import SHIPPED, hold_write, poll_until


async def test_an_index_under_construction_is_not_a_leftover(
    db_url: str, helper: asyncpg.Connection, observer: asyncpg.Connection
) -> None:
    await hold_write(helper, "call_costs")
    builder = await asyncpg.connect(db_url, server_settings={"application_name": "other-tool"})
    building = asyncio.create_task(
        builder.execute(
            "CREATE INDEX CONCURRENTLY idx_call_costs_user_billing_date "
            "ON call_costs (user_id, billing_date DESC)"
        )
    )
    try:
        # Waiting for the writer: the INVALID index is in the catalog by then (while the
        # build is still "initializing" it may not be committed yet).
        await poll_until(
            observer,
            "SELECT count(*) FROM pg_stat_progress_create_index WHERE pid = $1 "
            "AND phase LIKE 'waiting for writers%'",
            builder.get_server_pid(),
        )
        (check,) = await invalid_check(observer)
        assert check.verdict == "ok"
        assert "Being built right now" in check.summary
        assert "DROP INDEX" not in check.summary + check.fix
        state, detail = await migration_state(observer, parse_migration(SHIPPED))
        assert state == Standing.BUILDING and f"pid {builder.get_server_pid()}" in detail
    finally:
        await helper.execute("ROLLBACK")
        await building
        await builder.close()
