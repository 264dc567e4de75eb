"""Every sentence the console says about an outcome is checked against the database."""

from __future__ import annotations

import asyncio
from pathlib import Path

import asyncpg

from console.core import events as ev
from console.core.narrate import event_lines
from console.core.run import MigrationRunner, RunOptions
from tests.db.engine import of, run_migration

OPTIONS = RunOptions(lock_timeout_s=30, lock_retries=0, progress_interval_s=0.05)
TX = (
    "-- migrate:up\n"
    "CREATE TABLE audit_marks (id int);\n"
    "INSERT INTO audit_marks VALUES (1);\n"
    "LOCK TABLE call_costs IN ACCESS EXCLUSIVE MODE;\n"
    "-- migrate:down\nDROP TABLE audit_marks;\n"
)


def said(events: list[ev.Event]) -> str:
    return "\n".join(text for e in events for _tone, text in event_lines(e, 3))


async def table_exists(conn: asyncpg.Connection, name: str) -> bool:
    return bool(await conn.fetchval("SELECT to_regclass($1) IS NOT NULL", name))


async def test_cancelled_transaction_nothing_took_effect(
    db_url: str, helper: asyncpg.Connection, tmp_path: Path
) -> None:
    path = tmp_path / "tx.sql"
    path.write_text(TX)
    await helper.execute("BEGIN; LOCK TABLE call_costs IN ACCESS SHARE MODE")

    def on_event(e: ev.Event, runner: MigrationRunner) -> None:
        if isinstance(e, ev.Waiting) and e.number == 3:
            runner.request_cancel()

    result, events = await run_migration(db_url, path, options=OPTIONS, on_event=on_event)
    await helper.execute("ROLLBACK")
    assert result.status == "cancelled"
    assert "cancelled: nothing in the section took effect" in said(events)
    assert [s.status for s in result.statements] == ["rolled back", "rolled back", "cancelled"]
    assert not await table_exists(helper, "audit_marks")  # true: nothing took effect


async def test_session_lost_mid_transaction_is_rolled_back_as_said(
    db_url: str, helper: asyncpg.Connection, observer: asyncpg.Connection, tmp_path: Path
) -> None:
    path = tmp_path / "tx.sql"
    path.write_text(TX)
    await helper.execute("BEGIN; LOCK TABLE call_costs IN ACCESS SHARE MODE")

    def on_event(e: ev.Event, runner: MigrationRunner) -> None:
        if isinstance(e, ev.Waiting) and e.number == 3:
            asyncio.get_running_loop().create_task(
                observer.execute("SELECT pg_terminate_backend($1)", runner.run_pid)
            )

    result, events = await run_migration(db_url, path, options=OPTIONS, on_event=on_event)
    await helper.execute("ROLLBACK")
    assert result.status == "failed"
    assert "connection to the server was lost during statement 3" in (result.error or "")
    assert [s.status for s in result.statements] == ["rolled back", "rolled back", "failed"]
    assert not await table_exists(helper, "audit_marks")  # the server rolled it back


async def test_failed_transaction_nothing_changed(
    db_url: str, helper: asyncpg.Connection, tmp_path: Path
) -> None:
    path = tmp_path / "tx.sql"
    path.write_text(TX.replace("LOCK TABLE call_costs IN ACCESS EXCLUSIVE MODE", "SELECT 1 / 0"))
    result, events = await run_migration(db_url, path, options=OPTIONS)
    assert result.status == "failed"
    assert "The transaction was rolled back: nothing changed." in (result.error or "")
    assert "the transaction was rolled back whole" in said(events)
    assert not await table_exists(helper, "audit_marks")


async def test_succeeded_means_every_statement_took_effect(
    db_url: str, helper: asyncpg.Connection, tmp_path: Path
) -> None:
    path = tmp_path / "tx.sql"
    path.write_text(TX.replace("LOCK TABLE call_costs IN ACCESS EXCLUSIVE MODE", "SELECT 1"))
    result, events = await run_migration(db_url, path, options=OPTIONS)
    assert result.status == "succeeded"
    assert "■ run succeeded" in said(events)
    assert await helper.fetchval("SELECT count(*) FROM audit_marks") == 1
    done, _ = await run_migration(db_url, path, "rollback", options=OPTIONS)
    assert done.status == "succeeded"
    assert not await table_exists(helper, "audit_marks")  # "rollback succeeded": it is gone


async def test_invalid_index_left_is_invalid_and_dropped_is_rebuilt(
    db_url: str, helper: asyncpg.Connection
) -> None:
    await helper.execute("BEGIN; INSERT INTO call_costs (user_id, billing_date, amount_cents) "
                         "VALUES (1, current_date, 5)")  # fmt: skip
    options = RunOptions(max_wait_s=0.2, progress_interval_s=0.05)
    result, events = await run_migration(db_url, options=options)
    await helper.execute("ROLLBACK")
    name = "idx_call_costs_user_billing_date"
    assert f"INVALID index left: {name}" in said(events)
    assert await helper.fetchval(
        "SELECT indisvalid FROM pg_index WHERE indexrelid = to_regclass($1)", name
    ) is False  # fmt: skip
    again, events = await run_migration(db_url)
    assert again.status == "succeeded"
    assert f"dropped INVALID index {name}; building it again" in said(events)
    assert await helper.fetchval(
        "SELECT indisvalid FROM pg_index WHERE indexrelid = to_regclass($1)", name
    ) is True  # fmt: skip
    assert not of(ev.InvalidIndex, events)[-1].action == "left"
