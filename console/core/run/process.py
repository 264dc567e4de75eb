"""The runner process: a run that outlives the terminal and the face that started it.

A face launches the runner (``launch``) and follows its event log (``tail.follow``).
The runner is its own session leader, with no terminal and its output going
nowhere, so neither a closed terminal (SIGHUP), a closed pipe, Ctrl-C in the
terminal nor the face quitting stops it. SIGINT and SIGTERM sent to the runner
itself cancel the running statement on the server and record the run; only
SIGKILL stops it without a record of its outcome (the record of what it did is
written as it goes, and ``recovery`` takes it from there).

The CLI forks its runner before it loads the engine and hands it the plan
(``handoff``); the TUI, which has threads, spawns ``python -m console.core.run``
and hands it the request on its stdin. Either way the password is never on a
command line.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import asyncpg

from console.core import events as ev
from console.core.model import Migration, SectionPlan
from console.core.run.execute import Gate, execute_run
from console.core.run.options import RunOptions
from console.core.run.request import RunRequest, exit_code, start_log
from console.core.run.runner import MigrationRunner
from console.core.run.tail import Launched
from console.errors import ConnectError, ConsoleError, ExitCode
from console.settings import ConnectionSettings

if TYPE_CHECKING:
    from console.core.history import RunRecord
    from console.core.run.handoff import Handed

__all__ = ["Given", "check_only", "checks_passed", "from_spec", "launch", "runner_main"]


# -- launching -------------------------------------------------------------------------------


def launch(
    settings: ConnectionSettings, request: RunRequest, closes: RunRecord | None = None
) -> Launched:
    """Start the runner as ``python -m console.core.run``, the request on its stdin (the
    TUI's way: it has threads, so it never forks; the CLI forks, see ``handoff``).
    ``closes``: the interrupted record the run resumes (``recovery.resumed``)."""
    log = start_log(request)
    errors = log.with_suffix(".stderr")
    read, write = os.pipe()
    os.set_blocking(write, False)
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
    proc.stdin.write(json.dumps(_spec(settings, request, write, closes)).encode())
    proc.stdin.close()
    return Launched(proc.pid, request.run_id, log, read, proc, request.history_path)


def _spec(
    settings: ConnectionSettings, request: RunRequest, wake: int, closes: RunRecord | None
) -> dict[str, Any]:
    req = asdict(request)
    for key in ("migration_path", "history_path", "log_path"):
        req[key] = None if req[key] is None else str(req[key])
    spec = {"settings": asdict(settings), "request": req, "wake_fd": wake}
    if closes is not None:  # as history.toml holds it (datetimes are not JSON)
        import tomlkit

        spec["closes"] = tomlkit.dumps({"runs": [closes.to_toml()]})
    return spec


def from_spec(
    spec: dict[str, Any],
) -> tuple[ConnectionSettings, RunRequest, int | None, RunRecord | None]:
    s = spec["settings"]
    settings = ConnectionSettings(**{**s, "secrets": tuple(s.get("secrets", ()))})
    r = dict(spec["request"])
    r["options"] = RunOptions(**r["options"])
    for key in ("migration_path", "history_path", "log_path"):
        r[key] = None if r[key] is None else Path(r[key])
    r["skip"] = tuple(r.get("skip", ()))
    closes = None
    if spec.get("closes"):
        import tomli

        from console.core.history.schema import parse

        closes = parse(tomli.loads(spec["closes"]), "the runner's request").runs[0]
    return settings, RunRequest(**r), spec.get("wake_fd"), closes


# -- the runner's own main -------------------------------------------------------------------


@dataclass(frozen=True)
class Given:
    """What a runner's face gave it besides the request (``handoff``; the TUI's spawn
    gives ``closes`` alone): ``migration``, ``plan``, ``gate``, ``closes`` and
    ``reading`` as ``execute_run`` takes them; ``refused`` hears why the runner refused
    to start, if it did."""

    migration: Migration | None = None
    plan: SectionPlan | None = None
    gate: Gate | None = None
    refused: Callable[[ev.RunRefused], None] | None = None
    closes: RunRecord | None = None  # the interrupted record the run resumes
    reading: tuple[str, dict[str, Any]] | None = None  # history.toml as the face read it


def runner_main(
    settings: ConnectionSettings, request: RunRequest, wake: int | None, given: Given = Given()
) -> int:
    """Run to the end whatever happens to the face; the exit code is the run's."""
    signal.signal(signal.SIGHUP, signal.SIG_IGN)
    early: list[signal.Signals] = []  # until the event loop takes them over
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda num, _frame: early.append(signal.Signals(num)))
    return asyncio.run(_run(settings, request, wake, early, given))


def check_only(settings: ConnectionSettings, handed: Handed) -> ConsoleError | None:
    """The runner's checks (run lock, preflight, an interrupted run) on sessions closed
    again at once: why it would refuse, or None."""

    async def check() -> None:
        request = handed.request
        async with MigrationRunner(
            settings,
            handed.migration,
            request.action,
            request.options,
            run_id=request.run_id,
            plan=handed.plan,
        ) as runner:
            await checks_passed(runner, handed)

    try:
        asyncio.run(check())
    except ConsoleError as exc:
        return exc
    return None


async def checks_passed(runner: MigrationRunner, handed: Handed) -> None:
    """What ``control.prepare`` checks for the TUI that the runner's own open does not:
    an interrupted run of this migration not yet resolved (BadInput, exit 2)."""
    if handed.resuming or not handed.open_runs:
        return
    from console.core.run import recovery

    name = runner.migration.name

    async def check(conn: asyncpg.Connection) -> bool:
        await recovery.refuse_if_interrupted(conn, handed.open_runs, handed.migrations_dir)
        return True

    if await runner.watch.call(check) is None:
        raise ConnectError(
            f"The database did not answer the check for an interrupted run of {name}; "
            "nothing was run.",
            "Try again in a moment.",
        )


async def _run(
    settings: ConnectionSettings,
    request: RunRequest,
    wake: int | None,
    early: list[signal.Signals],
    given: Given = Given(),
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

    refused: list[ev.RunRefused] = []
    result = await execute_run(
        settings,
        request,
        [lambda e: refused.append(e) if isinstance(e, ev.RunRefused) else None],
        wake_fd=wake,
        on_open=opened,
        migration=given.migration,
        plan=given.plan,
        gate=given.gate,
        closes=given.closes,
        reading=given.reading,
    )
    if result is not None:
        return exit_code(result.status)
    if not refused:
        return int(ExitCode.OK)  # its face said no before it started: nothing was done
    if given.refused is not None:
        given.refused(refused[0])
    return refused[0].exit_code
