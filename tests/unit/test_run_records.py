"""Following a run's event log, and its history record while it lives."""

from __future__ import annotations

import asyncio
import os
import signal
import tomllib
from datetime import UTC, datetime
from pathlib import Path

from console.core import events as ev
from console.core.history import HistoryStore, RunRecord, StatementRecord
from console.core.run.tail import follow

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


async def test_a_follower_stopped_as_the_runner_pokes_it_stops(tmp_path: Path) -> None:
    """A closed terminal (SIGHUP) that comes as the runner pokes the face: the follower's
    task is cancelled in the same turn of the loop as its wait ends. Python 3.11's
    asyncio.wait_for returned then, and the face followed the run to its end."""
    log = tmp_path / "run.jsonl"
    log.write_text(ev.encode(STARTED) + "\n")
    read, write = os.pipe()
    loop = asyncio.get_running_loop()
    waiting = asyncio.Event()

    async def face() -> None:
        async for _e in follow(log, lambda: True, wake=read, poll_s=3600):
            waiting.set()  # it read the log: it waits for the next poke now

    task = asyncio.create_task(face())
    await waiting.wait()
    loop.add_signal_handler(signal.SIGUSR1, task.cancel)
    try:
        os.write(write, b".")  # the runner wrote an event: the wait ends...
        os.kill(os.getpid(), signal.SIGUSR1)  # ...as the terminal closes
        done, _ = await asyncio.wait({task}, timeout=30)  # bounds the wait; never met
        assert task in done and task.cancelled()
    finally:
        loop.remove_signal_handler(signal.SIGUSR1)
        task.cancel()
        os.close(write)


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


def test_a_final_record_history_toml_cannot_take_goes_to_the_fallback_file(
    tmp_path: Path,
) -> None:
    # Any failure of the last write (not only the store's own HistoryError) leaves the
    # record next to the event log, and is raised: the face says where the record went.
    import pytest

    from console.core.model import Statement
    from console.core.run.record import HistorySink

    class Failing(HistoryStore):
        def finish_run(self, run: RunRecord, *, closes: RunRecord | None = None) -> None:
            raise UnicodeEncodeError("utf-8", "x", 0, 1, "surrogates not allowed")

    log = tmp_path / "runs" / "m-run-r1.jsonl"
    log.parent.mkdir()
    started = ev.RunStarted(
        "m", "run", "up", 1, False, "why", "db", 9, NOW, "r1", 99, "h", str(log)
    )
    sink = HistorySink(
        Failing(tmp_path / "history.toml"),
        [Statement("ANALYZE t", 11, 1, 1)],
        operator="ana",
        environment={},
        database="db",
    )
    sink.take(started)
    sink.flush()
    result = ev.RunResult(
        "m", "run", "succeeded", NOW, NOW, [ev.StatementResult(1, 11, "ANALYZE t", "succeeded")],
        run_id="r1",
    )  # fmt: skip
    sink.take(ev.RunFinished(result))
    with pytest.raises(UnicodeEncodeError):
        sink.flush()
    assert sink.fallback == tmp_path / "runs" / "m-run-r1.record.toml"
    (saved,) = tomllib.loads(sink.fallback.read_text())["runs"]
    assert (saved["run_id"], saved["status"], saved["executed_by"]) == ("r1", "succeeded", "ana")
