"""Following a run's event log, and the runner a face launched (``Launched``).

Light on purpose: the CLI's face loads this, not the engine, while its forked runner
loads the engine and connects (``handoff``).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import subprocess
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path

from console.core import events as ev
from console.core.run.pids import runner_alive
from console.core.run.request import exit_code
from console.core.words import Outcome

FOLLOW_POLL_S = 0.25  # how often a follower without a wake pipe looks at the log


@dataclass
class Launched:
    """A runner process this face started."""

    pid: int
    run_id: str
    log: Path
    wake: int | None  # read end of the pipe the runner pokes after each event
    popen: subprocess.Popen[bytes] | None = None
    history: Path | None = None  # where the run is recorded: its word if the log has none

    def alive(self) -> bool:
        if self.popen is not None:
            return self.popen.poll() is None
        try:
            pid, _status = os.waitpid(self.pid, os.WNOHANG)
        except ChildProcessError:
            return bool(runner_alive(self.pid))
        return pid == 0


async def follow(
    log: Path,
    alive: Callable[[], bool | None],
    *,
    wake: int | None = None,
    poll_s: float = FOLLOW_POLL_S,
    runner_pid: int = 0,
    start_at: int = 0,
    recorded: Callable[[], ev.Event | None] | None = None,
) -> AsyncIterator[ev.Event]:
    """The run's events from the start of its log (or byte ``start_at``), live, until it
    ends. If the runner goes away without a last word, a RunnerLost event says so;
    unless ``recorded`` finds how it ended in history.toml (the log could not be
    written: a full disk), which is then said, after a RecordProblem saying why."""
    loop = asyncio.get_running_loop()
    poked = asyncio.Event()
    closed = False

    def readable() -> None:
        nonlocal closed
        try:
            data = os.read(wake, 4096) if wake is not None else b""
        except BlockingIOError:
            return
        except OSError:
            data = b""
        if not data:
            closed = True
            if wake is not None:
                loop.remove_reader(wake)
        poked.set()

    if wake is not None:
        os.set_blocking(wake, False)
        loop.add_reader(wake, readable)
    try:
        with log.open("r", encoding="utf-8") as fh:
            fh.seek(start_at)
            partial, ended = "", False
            while True:
                chunk = fh.read()
                if chunk:
                    lines = (partial + chunk).split("\n")
                    partial = lines.pop()
                    for line in lines:
                        event = ev.decode(line) if line.strip() else None
                        if event is None:
                            continue
                        yield event
                        if isinstance(event, ev.TERMINAL):
                            return
                    continue
                if ended:
                    # Off the loop: a long history.toml takes a while to read (the TUI).
                    last = None if recorded is None else await asyncio.to_thread(recorded)
                    if last is None:
                        yield ev.RunnerLost(runner_pid, str(log))
                        return
                    yield ev.RecordProblem(
                        f"The run's event log {log} ends before the run did (is its disk "
                        "full?): the outcome below is the one history.toml records."
                    )
                    yield last
                    return
                if closed or alive() is False:
                    ended = True  # read once more: a last line may have come as it ended
                    continue
                poked.clear()
                # Not asyncio.wait_for: on Python 3.11 a cancel that comes as the poke
                # ends the wait (a closed terminal as the runner logs an event) is lost
                # there, and the face follows the run to its end instead of stopping.
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(poll_s):
                        await poked.wait()
    finally:
        if wake is not None and not closed:
            loop.remove_reader(wake)
        if wake is not None:
            try:
                os.close(wake)
            except OSError:
                pass


def follow_launched(launched: Launched) -> AsyncIterator[ev.Event]:
    return follow(
        launched.log,
        launched.alive,
        wake=launched.wake,
        runner_pid=launched.pid,
        recorded=recorded(launched.history, launched.run_id),
    )


def recorded(history: Path | None, run_id: str) -> Callable[[], ev.Event | None] | None:
    """How history.toml says the run ended (``recording.recorded_end``), looked up when
    asked: only a follower whose runner left no last word asks. None without a history."""
    if history is None:
        return None

    def look() -> ev.Event | None:
        from console.core.recording import recorded_end

        return recorded_end(history, run_id)

    return look


def log_here(log: str | None) -> Path | None:
    """A recorded run's event log, if it is a file on this machine: a run's ``log`` comes
    from history.toml, which people edit (a device or a FIFO would never end or block)."""
    path = Path(log) if log else None
    return path if path is not None and path.is_file() else None


def code_of(event: ev.Event) -> int | None:
    """The exit code a face returns once it has seen this event, if it ends the run."""
    if isinstance(event, ev.RunFinished):
        return exit_code(event.result.status)
    if isinstance(event, ev.RunRefused):
        return event.exit_code
    if isinstance(event, ev.RunnerLost):
        return exit_code(Outcome.INTERRUPTED)
    if isinstance(event, ev.RemoteEnded):
        return exit_code(Outcome.SUCCEEDED if event.ok else Outcome.FAILED)
    return None
