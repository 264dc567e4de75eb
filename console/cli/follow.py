"""Following a run from the command line: its events printed as they come, until it ends.

A run is carried out by a runner process (``console.core.run.process``) that outlives
the command that follows it. Ctrl-C asks the runner to cancel (a second Ctrl-C stops
following); a closed terminal (SIGHUP), SIGTERM or a closed output pipe only stop the
following: the run goes on and is recorded, and ``attach`` picks it up again.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING

from console.cli import render
from console.glyphs import G

if TYPE_CHECKING:
    from console.cli.context import Context
    from console.core import events as ev
    from console.core.history import RunRecord

# What following needs is imported inside the functions that need it: a run's face
# loads the terminal renderer only after it has forked its runner (see ``launch``).


def say(text: str, *, error: bool = False) -> None:
    """Print, unless the output is gone (a closed pipe, a closed terminal)."""
    with contextlib.suppress(OSError):
        render.console(stderr=error).print(render.escape(text))


FOLLOW_SIGNALS = (signal.SIGINT, signal.SIGHUP, signal.SIGTERM)


def catch_signals() -> list[signal.Signals]:
    """Note the signals that come while the runner starts; ``follow`` acts on them."""
    caught: list[signal.Signals] = []
    for sig in FOLLOW_SIGNALS:
        signal.signal(sig, lambda num, _frame: caught.append(signal.Signals(num)))
    return caught


async def follow(
    events: AsyncIterator[ev.Event],
    runner_pid: int,
    name: str,
    *,
    cancels: bool = True,
    early: list[signal.Signals] | None = None,
    fallback: list[str] | None = None,
) -> int:
    """Print the run's events until it ends; the exit code is the run's. Ctrl-C cancels
    the run (``cancels``) and a second one stops following; SIGHUP, SIGTERM and a closed
    output stop following. The runner goes on whatever happens here."""
    import asyncio

    from console.core import events as ev
    from console.core.run.pids import runner_alive
    from console.core.run.tail import code_of
    from console.errors import ExitCode

    loop = asyncio.get_running_loop()
    me = asyncio.current_task()
    stopped: list[int] = []
    presses = 0
    leaving = (
        f"Stopped following: the run goes on in runner pid {runner_pid}; "
        f"`migration-console attach {name}` follows it, `migration-console cancel {name}` "
        "stops it."
    )

    def stop(code: int, text: str = "") -> None:
        if not stopped:
            stopped.append(code)
            if text:
                say(text, error=True)
            if me is not None:
                me.cancel()

    def on_sigint() -> None:
        nonlocal presses
        presses += 1
        if presses == 1 and cancels and runner_alive(runner_pid):
            say(
                f"Cancelling on the server{G.ellipsis} (Ctrl-C again stops following; the runner "
                "finishes the cancel and records the run)",
                error=True,
            )
            os.kill(runner_pid, signal.SIGINT)
        else:
            stop(ExitCode.INTERRUPTED, leaving)

    handlers = {
        signal.SIGINT: on_sigint,
        signal.SIGHUP: lambda: stop(128 + signal.SIGHUP),
        signal.SIGTERM: lambda: stop(128 + signal.SIGTERM, leaving),
    }
    for sig, fn in handlers.items():
        loop.add_signal_handler(sig, fn)
    for sig in early or ():
        handlers[sig]()
    printer = render.EventPrinter()
    code = int(ExitCode.FAILED)
    try:
        async for e in events:
            try:
                printer(e)
            except OSError:  # the output is gone: the run is not ours to stop
                _devnull_stdout()
                stop(ExitCode.FAILED)
            if isinstance(e, ev.RecordProblem) and e.fallback and fallback is not None:
                fallback.append(e.fallback)
            found = code_of(e)
            if found is not None:
                code = found
    except asyncio.CancelledError:
        if not stopped:
            raise
        return stopped[0]
    finally:
        for sig in handlers:
            loop.remove_signal_handler(sig)
    return code


def _devnull_stdout() -> None:
    null = os.open(os.devnull, os.O_WRONLY)
    os.dup2(null, sys.stdout.fileno())
    os.close(null)


def print_log(log: str) -> None:
    """A run's event log so far, as the lines following it would have printed."""
    from console.core import events as ev
    from console.core.run.tail import log_here

    if log_here(log) is not None:
        printer = render.EventPrinter()
        with open(log, encoding="utf-8") as fh:
            for line in fh:
                e = ev.decode(line)
                if e is not None:
                    printer(e)


async def follow_from_database(ctx: Context, record: RunRecord) -> int:
    """A run whose runner is on another machine, followed from what the database shows."""
    from console.core.run.remote import follow_from_database

    name = record.migration
    say(f"The run of {name} is on another machine ({record.host}): following it from the database.")
    events = follow_from_database(ctx.settings, name, record.action, ctx.migrations_dir)
    return await follow(events, 0, name, cancels=False)
