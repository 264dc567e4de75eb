"""The console finds its own sessions by their application_name (an orphaned statement
after a crash, the run's session under Blockers): the name it sets must be the name
pg_stat_activity shows, whatever the migration is called."""

from __future__ import annotations

import asyncio

import asyncpg
import pytest

from console.connection import LOCK, MONITOR, RUN, application_name
from console.core.run import recovery
from console.db.connect import close_quietly, connect
from console.settings import resolve_connection


@pytest.mark.parametrize(
    "migration",
    [
        "add_composite_indexes_20251123",
        "añadir índices",  # non-ASCII: PostgreSQL escapes it (\xNN since 16, "?" before)
        "x" * 80,  # longer than the 63 bytes PostgreSQL keeps
        "índices_" * 10,  # both
    ],
)
@pytest.mark.parametrize("job", [RUN, MONITOR, LOCK])
async def test_a_session_is_shown_by_the_name_the_console_gave_it(
    db_url: str, observer: asyncpg.Connection, migration: str, job: str
) -> None:
    name = application_name(job, migration)
    assert name.isascii() and len(name.encode()) <= 63
    conn = await connect(resolve_connection(db_url, env={}), job, migration)
    try:
        shown = await observer.fetchval(
            "SELECT application_name FROM pg_stat_activity WHERE pid = $1", conn.get_server_pid()
        )
    finally:
        await close_quietly(conn)
    assert shown == name


async def test_an_orphaned_statement_of_a_migration_with_any_name_is_found(
    db_url: str, observer: asyncpg.Connection
) -> None:
    # recovery's "still executing on the server: do not resume" rests on this match.
    migration = "añadir índices"
    conn = await connect(resolve_connection(db_url, env={}), RUN, migration)
    try:
        task = asyncio.ensure_future(conn.execute("SELECT pg_sleep(30)"))
        loop = asyncio.get_running_loop()
        end = loop.time() + 30
        while (found := await recovery.orphan_session(observer, migration)) is None:
            assert loop.time() < end, "the running statement was never found by its name"
            await asyncio.sleep(0.05)
        assert found.pid == conn.get_server_pid()
        task.cancel()
    finally:
        conn.terminate()


def test_two_long_names_that_begin_alike_are_told_apart() -> None:
    # Cut to 63 bytes they were one name: recover took one's running statement for the
    # other's orphan, and Blockers could name the wrong run's session.
    stem = "20251123_add_composite_indexes_to_conversation_messages_part_"
    first, second = (application_name(RUN, f"{stem}{n}") for n in (1, 2))
    assert first != second
    assert len(first) == len(second) == 63
    assert application_name(RUN, f"{stem}1") == first  # the same every time
