"""The CLI as an operator uses it: separate processes, exit codes, no tracebacks, no secrets."""

from __future__ import annotations

import asyncio
import json
import shutil
import signal
from pathlib import Path

import asyncpg
import pytest

from tests.helpers import (
    MIGRATIONS,
    OTHER_ROLE,
    ROOT,
    RUN_SESSION,
    SECRET_PASSWORD,
    SECRET_ROLE,
    SHIPPED,
    hold_write,
    logged,
    poll_until,
    run_cli,
    run_cli_async,
    run_log,
    spawn_cli,
    with_user,
)

NAME = "add_composite_indexes_20251123"


def assert_clean(result_text: str) -> None:
    assert "Traceback" not in result_text
    assert SECRET_PASSWORD not in result_text


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    """A project folder: the shipped migrations and a copy of the shipped history."""
    shutil.copytree(MIGRATIONS, tmp_path / "migrations")
    shutil.copy(ROOT / "history.toml", tmp_path / "history.toml")
    return tmp_path


async def test_status_plan_run_verify_history(db_url: str, workdir: Path) -> None:
    r = await run_cli_async("status", "--json", url=db_url, cwd=workdir)
    assert r.code == 0, r.output
    rows = json.loads(r.stdout)["migrations"]
    assert [(m["name"], m["state"]) for m in rows] == [(NAME, "pending")]

    r = await run_cli_async("plan", NAME, "--json", url=db_url, cwd=workdir)
    assert r.code == 0, r.output
    plan = json.loads(r.stdout)
    assert plan["in_transaction"] is False
    assert plan["statements"][0]["lock"] == "SHARE UPDATE EXCLUSIVE"
    assert plan["statements"][0]["blocks"] == ["DDL"]

    r = await run_cli_async("verify", NAME, url=db_url, cwd=workdir)
    assert r.code == 1, r.output
    assert "missing" in r.stdout

    r = await run_cli_async("run", NAME, "--yes", "--operator", "alice", url=db_url, cwd=workdir)
    assert r.code == 0, r.output
    assert "run succeeded" in r.stdout
    assert "[7/7]" in r.stdout
    assert "session lost" not in r.stdout

    r = await run_cli_async("verify", NAME, "--json", url=db_url, cwd=workdir)
    assert r.code == 0, r.output
    report = json.loads(r.stdout)
    assert [i["verdict"] for i in report["indexes"]] == ["ok"] * 4
    assert all(i["valid"] for i in report["indexes"])
    assert [q["ok"] for q in report["queries"]] == [True]

    r = await run_cli_async("history", "--json", cwd=workdir)
    assert r.code == 0, r.output
    data = json.loads(r.stdout)
    assert data["migrations"][0]["status"] == "applied"
    assert data["migrations"][0]["executed_by"] == "alice"
    assert data["runs"][-1]["status"] == "succeeded"

    r = await run_cli_async("status", url=db_url, cwd=workdir)
    assert r.code == 0 and "applied" in r.stdout


async def test_verify_reports_invalid_and_different(
    db_url: str, helper: asyncpg.Connection, workdir: Path
) -> None:
    r = await run_cli_async("run", NAME, "--yes", url=db_url, cwd=workdir)
    assert r.code == 0, r.output
    await helper.execute("DROP INDEX idx_call_costs_user_billing_date")
    await helper.execute(
        "CREATE INDEX idx_call_costs_user_billing_date ON call_costs (billing_date DESC, user_id)"
    )
    await helper.execute(
        "UPDATE pg_index SET indisvalid = false "
        "WHERE indexrelid = 'idx_conversation_messages_user_type_date'::regclass"
    )
    r = await run_cli_async("verify", NAME, "--json", url=db_url, cwd=workdir)
    assert r.code == 1, r.output
    verdicts = {i["name"]: i["verdict"] for i in json.loads(r.stdout)["indexes"]}
    assert verdicts == {
        "idx_conversation_messages_user_contact_date": "ok",
        "idx_conversation_messages_user_type_date": "invalid",
        "idx_call_costs_user_billing_date": "different",
        "idx_scheduled_tasks_active": "ok",
    }


async def test_different_predicate_is_reported(
    db_url: str, helper: asyncpg.Connection, workdir: Path
) -> None:
    r = await run_cli_async("run", NAME, "--yes", url=db_url, cwd=workdir)
    assert r.code == 0, r.output
    await helper.execute("DROP INDEX idx_scheduled_tasks_active")
    await helper.execute(
        "CREATE INDEX idx_scheduled_tasks_active ON scheduled_tasks (user_id, scheduled_for) "
        "WHERE status = 'pending'"
    )
    r = await run_cli_async("verify", NAME, url=db_url, cwd=workdir)
    assert r.code == 1, r.output
    assert "differs from the file" in r.stdout


async def test_second_run_refused_with_exit_4(
    db_url: str, helper: asyncpg.Connection, observer: asyncpg.Connection, workdir: Path
) -> None:
    tr = helper.transaction()
    await tr.start()
    await helper.execute("LOCK TABLE conversation_messages IN ACCESS EXCLUSIVE MODE")
    first = spawn_cli("run", NAME, "--yes", "--lock-timeout", "60", url=db_url, cwd=workdir)
    try:
        await poll_until(
            observer,
            "SELECT count(*) FROM pg_stat_activity WHERE application_name = $1",
            RUN_SESSION,
        )
        r = await run_cli_async("run", NAME, "--yes", url=db_url, cwd=workdir)
        assert r.code == 4, r.output
        assert "already being run" in r.stderr and "pid" in r.stderr
        assert_clean(r.output)
    finally:
        await tr.rollback()
        stdout, stderr = await asyncio.to_thread(first.communicate, timeout=120)
    assert first.returncode == 0, stdout + stderr


async def test_ctrl_c_cancels_on_server_and_records(
    db_url: str, helper: asyncpg.Connection, observer: asyncpg.Connection, workdir: Path
) -> None:
    await hold_write(helper)
    proc = spawn_cli("run", NAME, "--yes", "--lock-timeout", "120", url=db_url, cwd=workdir)
    try:
        await poll_until(
            observer,
            "SELECT count(*) FROM pg_stat_progress_create_index p "
            "JOIN pg_stat_activity a USING (pid) WHERE a.application_name = $1",
            RUN_SESSION,
        )
        proc.send_signal(signal.SIGINT)
        stdout, stderr = await asyncio.to_thread(proc.communicate, timeout=60)
    finally:
        await helper.execute("ROLLBACK")
    assert proc.returncode == 130, stdout + stderr
    assert "Traceback" not in stdout + stderr
    assert "run cancelled" in stdout
    assert "INVALID index left: idx_conversation_messages_user_contact_date" in stdout
    r = await run_cli_async("history", "--json", cwd=workdir)
    run = json.loads(r.stdout)["runs"][-1]
    assert run["status"] == "cancelled"
    assert run["invalid_indexes"] == ["idx_conversation_messages_user_contact_date"]


async def test_max_wait_exit_1_names_holder_reports_invalid(
    db_url: str, helper: asyncpg.Connection, workdir: Path
) -> None:
    await hold_write(helper)
    try:
        r = await run_cli_async(
            "run", NAME, "--yes", "--max-wait", "300ms", url=db_url, cwd=workdir
        )
    finally:
        await helper.execute("ROLLBACK")
    assert r.code == 1, r.output
    assert "gave up after waiting" in r.stdout
    assert f"pid {helper.get_server_pid()} (test-helper" in r.stdout
    assert "INVALID index left: idx_conversation_messages_user_contact_date" in r.stdout
    assert_clean(r.output)
    r = await run_cli_async("status", "--json", url=db_url, cwd=workdir)
    assert json.loads(r.stdout)["migrations"][0]["state"] == "invalid index"


async def test_access_exclusive_holder_with_lock_timeout_1s_fails_named_nothing_created(
    db_url: str, helper: asyncpg.Connection, workdir: Path
) -> None:
    tr = helper.transaction()
    await tr.start()
    await helper.execute("LOCK TABLE conversation_messages IN ACCESS EXCLUSIVE MODE")
    try:
        r = await run_cli_async("run", NAME, "--yes", "--lock-timeout", "1s", "--lock-retries", "1",
            "--retry-backoff", "100ms", url=db_url, cwd=workdir,
        )  # fmt: skip
    finally:
        await tr.rollback()
    assert r.code == 1, r.output
    assert "SHARE UPDATE EXCLUSIVE lock on conversation_messages" in r.stdout
    assert f"pid {helper.get_server_pid()} (test-helper" in r.stdout
    assert "INVALID" not in r.stdout
    assert (
        await helper.fetchval(
            "SELECT count(*) FROM pg_indexes WHERE indexname LIKE 'idx_conversation_messages%'"
        )
        == 0
    )
    assert_clean(r.output)


# -- bad input: one sentence, the documented exit code, no traceback ------------------------


def test_missing_database_url(workdir: Path) -> None:
    r = run_cli("status", cwd=workdir)
    assert r.code == 2, r.output
    assert "DATABASE_URL is not set" in r.stderr
    assert_clean(r.output)


def test_not_a_url(workdir: Path) -> None:
    r = run_cli("status", url="mysql://x", cwd=workdir)
    assert r.code == 2 and "not a PostgreSQL URL" in r.stderr
    assert_clean(r.output)


def test_unreachable_host(workdir: Path) -> None:
    url = f"postgresql://app:{SECRET_PASSWORD}@127.0.0.1:1/app"
    r = run_cli("status", url=url, cwd=workdir)
    assert r.code == 3, r.output
    assert "Cannot reach the database" in r.stderr
    assert "app:***@127.0.0.1:1" in r.stderr
    assert_clean(r.output)


def test_unresolvable_railway_internal_host(workdir: Path) -> None:
    url = f"postgresql://app:{SECRET_PASSWORD}@postgres.railway.internal:5432/railway"
    r = run_cli("status", url=url, cwd=workdir)
    assert r.code == 3, r.output
    assert "DATABASE_PUBLIC_URL" in r.stderr
    assert_clean(r.output)


async def test_wrong_password(db_url: str, workdir: Path) -> None:
    url = with_user(db_url, SECRET_ROLE, SECRET_PASSWORD + "-wrong")
    r = await run_cli_async("status", url=url, cwd=workdir)
    if r.code == 0:
        pytest.skip("this server does not ask for passwords")
    assert r.code == 3, r.output
    assert "refused the password" in r.stderr
    assert "Traceback" not in r.output and "-wrong" not in r.output


async def test_not_owner_is_refused_before_running(db_url: str, workdir: Path) -> None:
    url = with_user(db_url, OTHER_ROLE)
    r = await run_cli_async("run", NAME, "--yes", url=url, cwd=workdir)
    assert r.code == 3, r.output
    assert f"Role {OTHER_ROLE} may not create or drop indexes" in r.stderr
    assert_clean(r.output)


async def test_owner_without_schema_create_is_refused(
    db_url: str, helper: asyncpg.Connection, workdir: Path
) -> None:
    for table in ("conversation_messages", "call_costs", "scheduled_tasks"):
        await helper.execute(f"ALTER TABLE {table} OWNER TO {OTHER_ROLE}")
    await helper.execute(f"REVOKE CREATE ON SCHEMA public FROM {OTHER_ROLE}, PUBLIC")
    r = await run_cli_async("run", NAME, "--yes", url=with_user(db_url, OTHER_ROLE), cwd=workdir)
    assert r.code == 3, r.output
    assert "may not create indexes in schema public" in r.stderr
    assert "GRANT CREATE ON SCHEMA public" in r.stderr


async def test_missing_table(db_url: str, helper: asyncpg.Connection, workdir: Path) -> None:
    await helper.execute("DROP TABLE call_costs")
    r = await run_cli_async("run", NAME, "--yes", url=db_url, cwd=workdir)
    assert r.code == 3, r.output
    assert "call_costs does not exist" in r.stderr and "schema" in r.stderr
    assert_clean(r.output)


def test_syntax_error_reports_file_line_column(workdir: Path) -> None:
    (workdir / "migrations" / "broken.sql").write_text(
        "-- migrate:up\nCREATE INDEX ok ON t (a);\nCREAT INDEX bad ON t (b);\n-- migrate:down\n"
    )
    r = run_cli("plan", "broken", url="postgresql://u@127.0.0.1:1/x", cwd=workdir)
    assert r.code == 2, r.output
    assert "broken.sql:3:1:" in r.stderr
    assert_clean(r.output)


def test_corrupt_history_refused_and_untouched(workdir: Path) -> None:
    history = workdir / "history.toml"
    history.write_text("[[runs]\nmigration = 'x'\n")
    before = history.read_bytes()
    r = run_cli("run", NAME, "--yes", url="postgresql://u@127.0.0.1:1/x", cwd=workdir)
    assert r.code == 2, r.output
    assert "not valid TOML" in r.stderr
    assert history.read_bytes() == before
    assert_clean(r.output)


def test_run_without_terminal_needs_yes(workdir: Path, db_url: str) -> None:
    r = run_cli("run", NAME, url=db_url, cwd=workdir, input="")
    assert r.code == 2, r.output
    assert "--yes" in r.stderr


def test_unknown_migration(workdir: Path) -> None:
    r = run_cli("verify", "nope", url="postgresql://u@127.0.0.1:1/x", cwd=workdir)
    assert r.code == 2 and "No migration named nope" in r.stderr


async def test_blockers_show_who_blocks_whom(
    db_url: str, helper: asyncpg.Connection, observer: asyncpg.Connection
) -> None:
    tr = helper.transaction()
    await tr.start()
    await helper.execute("LOCK TABLE call_costs IN ACCESS EXCLUSIVE MODE")
    waiter = await asyncpg.connect(db_url, server_settings={"application_name": "test-waiter"})
    try:
        pending = asyncio.create_task(waiter.fetchval("SELECT count(*) FROM call_costs"))
        await poll_until(
            observer,
            "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'test-waiter' "
            "AND wait_event_type = 'Lock'",
        )
        r = await run_cli_async("blockers", "--json", url=db_url)
        assert r.code == 0, r.output
        sessions = {s["application_name"]: s for s in json.loads(r.stdout)["sessions"]}
        assert sessions["test-waiter"]["blocked_by"] == [helper.get_server_pid()]
        assert sessions["test-helper"]["state"] == "idle in transaction"
        r = await run_cli_async("blockers", url=db_url)
        assert f"waits for pid {helper.get_server_pid()}" in r.stdout
    finally:
        await tr.rollback()
        await pending
        await waiter.close()


def test_shipped_file_and_history_exist() -> None:
    assert SHIPPED.exists()
    r = run_cli("history", "--json")
    assert r.code == 0, r.output
    rows = json.loads(r.stdout)["migrations"]
    assert rows[0]["migration"] == NAME and rows[0]["status"] == "pending"


async def test_failed_run_shows_failed_state(
    db_url: str, helper: asyncpg.Connection, workdir: Path
) -> None:
    await helper.execute("ALTER TABLE conversation_messages DROP COLUMN message_type")
    r = await run_cli_async("run", NAME, "--yes", url=db_url, cwd=workdir)
    assert r.code == 1, r.output
    assert 'column "message_type" does not exist' in r.stdout
    r = await run_cli_async("status", "--json", url=db_url, cwd=workdir)
    row = json.loads(r.stdout)["migrations"][0]
    assert row["state"] == "failed"
    assert row["detail"].startswith("1 of 4 indexes present")  # built before the failure
    assert row["last_run"].startswith("run failed")


async def test_blockers_tree_for_a_running_migration(
    db_url: str, helper: asyncpg.Connection, observer: asyncpg.Connection, workdir: Path
) -> None:
    await hold_write(helper)
    proc = spawn_cli("run", NAME, "--yes", "--lock-timeout", "120", url=db_url, cwd=workdir)
    try:
        await poll_until(
            observer,
            "SELECT count(*) FROM pg_stat_progress_create_index p JOIN pg_stat_activity a "
            "USING (pid) WHERE a.application_name = $1 AND p.phase LIKE 'waiting%'",
            RUN_SESSION,
        )
        r = await run_cli_async("blockers", NAME, "--json", url=db_url, cwd=workdir)
        assert r.code == 0, r.output
        data = json.loads(r.stdout)
        assert {"depth": -1, "pid": helper.get_server_pid()} in data["tree"]
        assert "waiting for writers before build" in data["reason"]
        r = await run_cli_async("blockers", NAME, url=db_url, cwd=workdir)
        assert "▲1" in r.stdout and "test-helper" in r.stdout
        # The runner itself has said so before the writer lets go: no race with its polls.
        log = await run_log(workdir / "history.toml")
        await logged(log, "Waiting", number=1)
    finally:
        await helper.execute("ROLLBACK")
        stdout, stderr = await asyncio.to_thread(proc.communicate, timeout=120)
    assert proc.returncode == 0, stdout + stderr
    assert "⏳ waiting for other transactions:" in stdout and "test-helper" in stdout
    assert "waited " in stdout  # how long, and for whom, once the wait is over


async def test_read_only_refuses_run_and_monitors(db_url: str, workdir: Path) -> None:
    r = await run_cli_async("--read-only", "run", NAME, "--yes", url=db_url, cwd=workdir)
    assert r.code == 2 and "--read-only" in r.stderr
    r = await run_cli_async("blockers", "--read-only", url=db_url, cwd=workdir)
    assert r.code == 0, r.output


def test_transaction_control_in_a_migration_is_refused_with_its_place(workdir: Path) -> None:
    (workdir / "migrations" / "tx.sql").write_text(
        "-- migrate:up transaction:false\nCREATE INDEX CONCURRENTLY i ON t (a);\n  BEGIN;\n"
        "CREATE TABLE x (a int);\n-- migrate:down\nDROP TABLE x;\n"
    )
    for command in (("plan", "tx"), ("run", "tx", "--yes"), ("verify", "tx")):
        r = run_cli(*command, url="postgresql://u@127.0.0.1:1/x", cwd=workdir)
        assert r.code == 2, (command, r.output)
        assert "tx.sql:3:3: BEGIN controls the transaction, which the console owns." in r.stderr
        assert "transaction:false" in r.stderr
        assert_clean(r.output)


async def test_an_oversized_migration_is_refused_by_plan_and_unreadable_in_status(
    db_url: str, workdir: Path
) -> None:
    with (workdir / "migrations" / "huge.sql").open("wb") as file:
        file.truncate(50 * 1024 * 1024)  # sparse: 50 MiB that take no disk
    sentence = (
        "huge.sql is larger than 5 MiB (52,428,800 bytes), the most a migration file may hold."
    )
    r = await run_cli_async("plan", "huge", url="postgresql://u@127.0.0.1:1/x", cwd=workdir)
    assert r.code == 2, r.output
    assert sentence in r.stderr and "Split it into several migrations." in r.stderr
    assert_clean(r.output)

    r = await run_cli_async("status", "--json", url=db_url, cwd=workdir)
    assert r.code == 0, r.output
    rows = {m["name"]: m for m in json.loads(r.stdout)["migrations"]}
    assert rows["huge"]["state"] == "unreadable"
    assert rows["huge"]["detail"].endswith(sentence)
    assert rows[NAME]["state"] == "pending"
