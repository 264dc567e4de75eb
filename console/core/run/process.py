"""The runner process: a run that outlives the terminal and the face that started it.

A face launches the runner (``launch``) and follows its event log (``follow``).
The runner is its own session leader, with no terminal and its output going
nowhere, so neither a closed terminal (SIGHUP), a closed pipe, Ctrl-C in the
terminal nor the face quitting stops it. SIGINT and SIGTERM sent to the runner
itself cancel the running statement on the server and record the run; only
SIGKILL stops it without a record of its outcome (the record of what it did is
written as it goes, and ``recovery`` takes it from there).

The CLI forks (the runner starts in a few milliseconds with everything already
imported); the TUI, which has threads, spawns ``python -m console.core.run`` and
hands it the request on its stdin, so the password is never on a command line.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import json
import os
import signal
import subprocess
import sys
import traceback
from collections.abc import AsyncIterator, Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import platformdirs

from console.core import events as ev
from console.core.run.execute import RunRequest, execute_run, exit_code
from console.core.run.options import RunOptions
from console.core.run.pids import runner_alive, this_host
from console.core.run.runner import MigrationRunner
from console.errors import ExitCode
from console.settings import ConnectionSettings

__all__ = ["Launched", "follow", "launch", "log_path_for", "runner_alive", "this_host"]
STATE_ENV = "MIGRATION_CONSOLE_STATE_DIR"
FOLLOW_POLL_S = 0.25  # how often a follower without a wake pipe looks at the log


def state_dir() -> Path:
    """Where runs keep their event logs: $MIGRATION_CONSOLE_STATE_DIR, else the platform's
    state folder (~/.local/state/migration-console on Linux)."""
    override = os.environ.get(STATE_ENV)
    if override:
        return Path(override).expanduser()
    return platformdirs.user_state_path("migration-console")


def log_path_for(migration: str, action: str, run_id: str) -> Path:
    return state_dir() / "runs" / f"{migration}-{action}-{run_id}.jsonl"


# -- launching -------------------------------------------------------------------------------


@dataclass
class Launched:
    """A runner process this face started."""

    pid: int
    run_id: str
    log: Path
    wake: int | None  # read end of the pipe the runner pokes after each event
    popen: subprocess.Popen[bytes] | None = None

    def alive(self) -> bool:
        if self.popen is not None:
            return self.popen.poll() is None
        try:
            pid, _status = os.waitpid(self.pid, os.WNOHANG)
        except ChildProcessError:
            return bool(runner_alive(self.pid))
        return pid == 0


def launch(settings: ConnectionSettings, request: RunRequest, *, fork: bool) -> Launched:
    """Start the runner. ``fork`` only from a process without threads (the CLI)."""
    assert request.log_path is not None
    request.log_path.parent.mkdir(parents=True, exist_ok=True)
    request.log_path.touch()
    errors = request.log_path.with_suffix(".stderr")
    read, write = os.pipe()
    os.set_blocking(write, False)
    if fork:
        pid = os.fork()
        if pid == 0:  # the runner
            gc.enable()  # whatever its face did while loading (the gc docs' fork recipe)
            code = int(ExitCode.FAILED)
            try:
                os.close(read)
                os.setsid()
                _detach_stdio(errors)
                code = runner_main(settings, request, write)
            except BaseException:  # noqa: BLE001 - the last word goes to the stderr file
                traceback.print_exc()
            finally:
                os._exit(code)
        os.close(write)
        return Launched(pid, request.run_id, request.log_path, read)
    with errors.open("ab") as err:
        proc = subprocess.Popen(
            [sys.executable, "-m", "console.core.run"],
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            stderr=err,
            start_new_session=True,
            pass_fds=(write,),
        )
    os.close(write)
    assert proc.stdin is not None
    proc.stdin.write(json.dumps(_spec(settings, request, write)).encode())
    proc.stdin.close()
    return Launched(proc.pid, request.run_id, request.log_path, read, proc)


def _detach_stdio(errors: Path) -> None:
    null = os.open(os.devnull, os.O_RDWR)
    err = os.open(errors, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    for fd, target in ((0, null), (1, null), (2, err)):
        os.dup2(target, fd)
    os.close(null)
    os.close(err)


def _spec(settings: ConnectionSettings, request: RunRequest, wake: int) -> dict[str, Any]:
    req = asdict(request)
    for key in ("migration_path", "history_path", "log_path"):
        req[key] = None if req[key] is None else str(req[key])
    return {"settings": asdict(settings), "request": req, "wake_fd": wake}


def from_spec(spec: dict[str, Any]) -> tuple[ConnectionSettings, RunRequest, int | None]:
    s = spec["settings"]
    settings = ConnectionSettings(**{**s, "secrets": tuple(s.get("secrets", ()))})
    r = dict(spec["request"])
    r["options"] = RunOptions(**r["options"])
    for key in ("migration_path", "history_path", "log_path"):
        r[key] = None if r[key] is None else Path(r[key])
    r["skip"] = tuple(r.get("skip", ()))
    return settings, RunRequest(**r), spec.get("wake_fd")


# -- the runner's own main -------------------------------------------------------------------


def runner_main(settings: ConnectionSettings, request: RunRequest, wake: int | None) -> int:
    """Run to the end whatever happens to the face; the exit code is the run's."""
    signal.signal(signal.SIGHUP, signal.SIG_IGN)
    early: list[signal.Signals] = []  # until the event loop takes them over
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda num, _frame: early.append(signal.Signals(num)))
    return asyncio.run(_run(settings, request, wake, early))


async def _run(
    settings: ConnectionSettings,
    request: RunRequest,
    wake: int | None,
    early: list[signal.Signals],
) -> int:
    loop = asyncio.get_running_loop()
    runner: MigrationRunner | None = None
    pending: list[str] = []

    def on_signal(sig: signal.Signals) -> None:
        why = f"cancelled: the runner got {sig.name}"
        if runner is not None:
            runner.request_cancel(why)
        else:
            pending.append(why)

    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, on_signal, sig)
    for sig in early:
        on_signal(sig)

    def opened(r: MigrationRunner) -> None:
        nonlocal runner
        runner = r
        if pending:
            r.request_cancel(pending[0])

    refused: list[int] = []
    result = await execute_run(
        settings,
        request,
        [lambda e: refused.append(e.exit_code) if isinstance(e, ev.RunRefused) else None],
        wake_fd=wake,
        on_open=opened,
    )
    if result is None:
        return refused[0] if refused else int(ExitCode.FAILED)
    return exit_code(result.status)


# -- following -------------------------------------------------------------------------------


async def follow(
    log: Path,
    alive: Callable[[], bool | None],
    *,
    wake: int | None = None,
    poll_s: float = FOLLOW_POLL_S,
    runner_pid: int = 0,
    start_at: int = 0,
) -> AsyncIterator[ev.Event]:
    """The run's events from the start of its log (or byte ``start_at``), live, until it
    ends. If the runner goes away without a last word, a RunnerLost event says so."""
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
                    yield ev.RunnerLost(runner_pid, str(log))
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
