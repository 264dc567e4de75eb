"""`migration-console doctor` as an operator meets it: each verdict, its fix, the exit code,
never a traceback, never a password (not even those of the URLs it offers instead)."""

from __future__ import annotations

import asyncio
import json
import shutil
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import asyncpg
import pytest

from tests.helpers import (
    MIGRATIONS,
    OTHER_ROLE,
    ROOT,
    SECRET_PASSWORD,
    SECRET_ROLE,
    CliResult,
    run_cli,
    run_cli_async,
    with_user,
)

NAME = "add_composite_indexes_20251123"
OTHER_PASSWORD = "0ther-Publ1c-pw"  # the password of a URL the doctor offers instead
CHECK_NAMES = {
    "host",
    "pooler",
    "tls",
    "connection",
    "server",
    "role",
    "privileges",
    "timeouts",
    "idle-transactions",
    "invalid-indexes",
}


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    shutil.copytree(MIGRATIONS, tmp_path / "migrations")
    shutil.copy(ROOT / "history.toml", tmp_path / "history.toml")
    return tmp_path


def doctor(*args: str, **kwargs: Any) -> tuple[CliResult, dict[str, Any]]:
    """Run `doctor --json`; also run the text form and check both are clean."""
    r = run_cli("doctor", *args, "--json", timeout=60, **kwargs)
    text = run_cli("doctor", *args, timeout=60, **kwargs)
    assert text.code == r.code, text.output
    for out in (r.output, text.output):
        assert "Traceback" not in out
        assert SECRET_PASSWORD not in out
        assert OTHER_PASSWORD not in out
    return r, json.loads(r.stdout)


def checks(report: dict[str, Any], name: str) -> list[dict[str, str]]:
    found = [c for c in report["checks"] if c["name"] == name]
    assert found, report
    return found


def check(report: dict[str, Any], name: str) -> dict[str, str]:
    return checks(report, name)[0]


def test_railway_internal_host_offers_the_public_url_masked(workdir: Path) -> None:
    url = f"postgresql://postgres:{SECRET_PASSWORD}@postgres.railway.internal:5432/railway"
    public = f"postgresql://postgres:{OTHER_PASSWORD}@roundhouse.proxy.rlwy.net:41234/railway"
    r, report = doctor(url=url, cwd=workdir, env={"DATABASE_PUBLIC_URL": public})
    assert r.code == 3, r.output
    host = check(report, "host")
    assert host["verdict"] == "fail"
    assert "postgres.railway.internal" in host["summary"]
    assert "outside Railway" in host["summary"]
    assert '--database-url "$DATABASE_PUBLIC_URL"' in host["fix"]
    assert "postgres:***@roundhouse.proxy.rlwy.net:41234/railway" in host["fix"]
    assert "railway ssh" in host["fix"]
    assert check(report, "connection")["verdict"] == "skip"
    assert {check(report, n)["verdict"] for n in ("server", "privileges")} == {"skip"}


def test_railway_internal_host_under_railway_run(workdir: Path) -> None:
    """`railway run` sets RAILWAY_* here, yet the command runs on this machine."""
    url = f"postgresql://postgres:{SECRET_PASSWORD}@postgres.railway.internal:5432/railway"
    env = {"RAILWAY_ENVIRONMENT_NAME": "production", "RAILWAY_PROJECT_ID": "p-1"}
    r, report = doctor(url=url, cwd=workdir, env=env)
    assert r.code == 3, r.output
    host = check(report, "host")
    assert host["verdict"] == "fail"
    assert "`railway run`" in host["summary"]
    assert "DATABASE_PUBLIC_URL" in host["fix"]


def test_pooled_url_is_reported_without_a_connection(workdir: Path) -> None:
    url = f"postgresql://u:{SECRET_PASSWORD}@db.example-pooler.neon.tech:6432/x"
    direct = f"postgresql://u:{OTHER_PASSWORD}@db.example.neon.tech:5432/x?sslmode=require"
    r, report = doctor(url=url, cwd=workdir, env={"DATABASE_UNPOOLED_URL": direct})
    assert r.code == 3, r.output
    pooler = check(report, "pooler")
    assert pooler["verdict"] == "fail"
    assert "'pooler'" in pooler["summary"] and "port 6432" in pooler["summary"]
    assert "advisory locks" in pooler["summary"]
    assert '--database-url "$DATABASE_UNPOOLED_URL"' in pooler["fix"]
    assert "u:***@db.example.neon.tech:5432/x" in pooler["fix"]
    assert check(report, "connection")["verdict"] in ("fail", "skip")


def test_unreachable_port_fails_fast_with_exit_3(workdir: Path) -> None:
    url = f"postgresql://app:{SECRET_PASSWORD}@127.0.0.1:1/app"
    r, report = doctor(url=url, cwd=workdir)
    assert r.code == 3, r.output
    assert report["ok"] is False
    assert report["database"] == "postgresql://app:***@127.0.0.1:1/app"
    connection = check(report, "connection")
    assert connection["verdict"] == "fail"
    assert "Cannot reach the database" in connection["summary"]
    assert check(report, "host")["verdict"] == "ok"
    for name in ("server", "role", "timeouts", "idle-transactions", "invalid-indexes"):
        assert check(report, name)["verdict"] == "skip"
        assert "no connection" in check(report, name)["summary"]


def test_verify_full_without_a_ca_explains_sslmode_require(workdir: Path, tmp_path: Path) -> None:
    url = f"postgresql://app:{SECRET_PASSWORD}@127.0.0.1:1/app?sslmode=verify-full"
    r, report = doctor(url=url, cwd=workdir, env={"HOME": str(tmp_path)})
    assert r.code == 3, r.output
    tls = check(report, "tls")
    assert tls["verdict"] == "fail"
    assert "sslmode=verify-full" in tls["summary"]
    assert "sslmode=require" in tls["fix"]


async def test_wrong_password(db_url: str, workdir: Path) -> None:
    url = with_user(db_url, SECRET_ROLE, SECRET_PASSWORD + "-wrong")
    r, report = await asyncio.to_thread(doctor, url=url, cwd=workdir)
    if check(report, "connection")["verdict"] == "ok":
        pytest.skip("this server does not ask for passwords")
    assert r.code == 3, r.output
    assert "refused the password" in check(report, "connection")["summary"]
    assert "-wrong" not in r.output


async def test_healthy_database(db_url: str, workdir: Path) -> None:
    r, report = await asyncio.to_thread(doctor, url=db_url, cwd=workdir)
    assert r.code == 0, r.output
    assert set(report) == {"database", "ok", "migrations", "checks"}
    assert report["ok"] is True
    assert report["migrations"] == [NAME]
    assert {c["name"] for c in report["checks"]} == CHECK_NAMES
    for c in report["checks"]:
        assert set(c) == {"name", "verdict", "summary", "fix"}
        assert c["verdict"] in ("ok", "warn"), c
    assert check(report, "pooler")["summary"].startswith("Not pooled")
    assert NAME in check(report, "privileges")["summary"]
    text = await run_cli_async("doctor", NAME, url=db_url, cwd=workdir)
    assert text.code == 0, text.output
    assert "✓ connection:" in text.stdout
    assert "No problems found." in text.stdout


async def test_idle_in_transaction_session_is_named(
    db_url: str, helper: asyncpg.Connection, workdir: Path
) -> None:
    tr = helper.transaction()
    await tr.start()
    await helper.execute("SELECT count(*) FROM call_costs")
    try:
        r, report = await asyncio.to_thread(doctor, url=db_url, cwd=workdir)
    finally:
        await tr.rollback()
    assert r.code == 0, r.output
    idle = check(report, "idle-transactions")
    assert idle["verdict"] == "warn"
    assert f"pid {helper.get_server_pid()} (test-helper" in idle["summary"]
    assert "CREATE INDEX CONCURRENTLY" in idle["summary"]
    assert f"pg_terminate_backend({helper.get_server_pid()})" in idle["fix"]


async def test_idle_sessions_hidden_from_the_role_are_mentioned(
    db_url: str, helper: asyncpg.Connection, workdir: Path
) -> None:
    tr = helper.transaction()
    await tr.start()
    await helper.execute("SELECT 1")
    try:
        r, report = await asyncio.to_thread(
            doctor, "--migrations", str(workdir / "none"), url=with_user(db_url, OTHER_ROLE)
        )
    finally:
        await tr.rollback()
    assert r.code == 0, r.output
    idle = check(report, "idle-transactions")
    assert idle["verdict"] == "warn"
    assert "of other roles" in idle["summary"] and "hidden from this role" in idle["summary"]
    assert "GRANT pg_read_all_stats" in idle["fix"]
    assert check(report, "privileges")["verdict"] == "skip"


async def test_invalid_index_is_named(
    db_url: str, helper: asyncpg.Connection, workdir: Path
) -> None:
    await helper.execute("CREATE INDEX mc_broken_idx ON call_costs (amount_cents)")
    await helper.execute(
        "UPDATE pg_index SET indisvalid = false WHERE indexrelid = 'mc_broken_idx'::regclass"
    )
    r, report = await asyncio.to_thread(doctor, url=db_url, cwd=workdir)
    assert r.code == 0, r.output
    invalid = check(report, "invalid-indexes")
    assert invalid["verdict"] == "warn"
    assert "mc_broken_idx on call_costs" in invalid["summary"]
    assert "DROP INDEX CONCURRENTLY mc_broken_idx" in invalid["fix"]


async def test_role_that_does_not_own_the_tables(db_url: str, workdir: Path) -> None:
    r, report = await asyncio.to_thread(
        doctor, NAME, url=with_user(db_url, OTHER_ROLE), cwd=workdir
    )
    assert r.code == 3, r.output
    owner, schema = checks(report, "privileges")  # one per owner, one per schema
    assert (owner["verdict"], schema["verdict"]) == ("fail", "fail")
    assert (
        f"{NAME}: Role {OTHER_ROLE} may not create or drop indexes on conversation_messages, "
        "call_costs, scheduled_tasks: the tables belong to postgres." == owner["summary"]
    )
    assert "Connect as postgres" in owner["fix"]
    assert "may not create indexes in schema public" in schema["summary"]
    assert f"GRANT CREATE ON SCHEMA public TO {OTHER_ROLE}" in schema["fix"]
    assert check(report, "connection")["verdict"] == "ok"
    # Not a superuser: the timeouts are still read (pg_file_settings is off limits).
    assert check(report, "timeouts")["verdict"] == "ok"
    assert check(report, "role")["verdict"] == "warn"


async def test_low_statement_timeout_default(
    db_url: str, helper: asyncpg.Connection, workdir: Path
) -> None:
    database = urlsplit(db_url).path.lstrip("/")
    await helper.execute(f"ALTER DATABASE {database} SET statement_timeout = '30s'")
    r, report = await asyncio.to_thread(doctor, url=db_url, cwd=workdir)
    assert r.code == 0, r.output
    timeouts = check(report, "timeouts")
    assert timeouts["verdict"] == "warn"
    assert f"statement_timeout 30s (ALTER DATABASE {database} SET)" in timeouts["summary"]
    assert f"ALTER DATABASE {database} RESET statement_timeout;" in timeouts["fix"]
