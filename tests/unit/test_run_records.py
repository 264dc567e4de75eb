"""Following a run's event log, and its history record while it lives."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path

from console.core import events as ev
from console.core.history import HistoryStore, RunRecord, StatementRecord
from console.core.run.process import follow

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
STARTED = ev.RunStarted("m", "run", "up", 1, False, "why", "db", 9, NOW, "r1", 99, "h", "/l")


async def collect(log: Path, alive: list[bool]) -> list[ev.Event]:
    return [e async for e in follow(log, lambda: alive[0], poll_s=0.01)]


async def test_a_runner_gone_without_a_last_word_is_said_lost(tmp_path: Path) -> None:
    log = tmp_path / "run.jsonl"
    log.write_text(ev.encode(STARTED) + "\n")
    alive = [True]

    async def die() -> None:
        await asyncio.sleep(0.05)
        alive[0] = False

    dying = asyncio.create_task(die())
    events = await collect(log, alive)
    await dying
    assert events == [STARTED, ev.RunnerLost(0, str(log))]


async def test_a_line_written_in_two_parts_is_read_once(tmp_path: Path) -> None:
    log = tmp_path / "run.jsonl"
    line = ev.encode(STARTED) + "\n"
    done = ev.encode(ev.RunRefused("held", "wait", 4)) + "\n"
    log.write_text(line[:20])

    async def finish() -> None:
        await asyncio.sleep(0.05)
        with log.open("a") as fh:
            fh.write(line[20:] + done)

    writing = asyncio.create_task(finish())
    events = await collect(log, [True])
    await writing
    assert events == [STARTED, ev.RunRefused("held", "wait", 4)]


def test_the_record_lives_from_start_to_finish_and_keeps_the_faces_actions(
    tmp_path: Path,
) -> None:
    store = HistoryStore(tmp_path / "history.toml")
    record = RunRecord(
        "m", status="running", started_at=NOW, run_id="r1", runner_pid=99, host="h",
        statements=[StatementRecord(1, 11, "CREATE INDEX …", "running", None, 1)],
    )  # fmt: skip
    store.start_run(record)
    store.add_action("r1", {"what": "terminate", "pid": 4, "by": "bob", "at": NOW})
    (loaded,) = store.load().runs
    assert (loaded.status, loaded.runner_pid, loaded.host) == ("running", 99, "h")
    record.status, record.finished_at = "succeeded", NOW
    record.statements[0].status = "succeeded"
    store.finish_run(record)
    (done,) = store.load().runs
    assert done.status == "succeeded" and done.statements[0].status == "succeeded"
    assert done.actions == [{"what": "terminate", "pid": 4, "by": "bob", "at": NOW}]
    assert store.load().row("m").status == "applied"
