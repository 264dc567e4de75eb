"""Starting a run from the command line: hand the plan to its runner, ask, follow it.

`run`, `rollback` and `recover --resume` end here. The face forks its runner before it
loads anything heavy (``core/run/handoff.py``), reads and plans the file and loads the
terminal renderer while the runner loads the engine and connects, hands the plan over,
hears whether the database passed the runner's checks, asks, says go and follows.
"""

from __future__ import annotations

import gc
import os
import select
import signal
import sys
from typing import TYPE_CHECKING

from console.cli import render
from console.cli.follow import catch_signals, follow, say
from console.errors import BadInput, ExitCode

if TYPE_CHECKING:
    from console.cli.context import Context
    from console.core.history import HistoryStore
    from console.core.run.handoff import ForkedRunner, Handed


def confirm(question: str) -> bool:
    if not sys.stdin.isatty():
        raise BadInput(
            "Refusing to change the database without confirmation: there is no terminal to ask on.",
            "Pass --yes to confirm in advance.",
        )
    render.out.print(question + render.escape(" [y/N] "), end="")  # the brackets are not markup
    try:
        answer = read_line()
    except EOFError:
        return False
    return answer.strip().lower() in ("y", "yes")


def read_line() -> str:
    """The operator's answer: a line from the terminal (EOFError at its end), as input()
    reads it, except that Ctrl-C is never lost. input() waits in a plain read(): a SIGINT
    that lands as the question appears, after Python last looked for signals and before
    that read() starts, is only acted on once a line is typed, so Ctrl-C did nothing.
    select() on the terminal and on the signals' wakeup pipe returns for a signal that
    came before it too, and Python raises KeyboardInterrupt as it returns."""
    terminal = sys.stdin.fileno()
    wake, poke = os.pipe()
    os.set_blocking(poke, False)
    before = signal.set_wakeup_fd(poke, warn_on_full_buffer=False)
    try:
        while terminal not in select.select([terminal, wake], [], [])[0]:
            os.read(wake, 512)  # a signal that raised nothing here: keep waiting
    finally:
        signal.set_wakeup_fd(before)
        os.close(wake)
        os.close(poke)
    line = sys.stdin.readline()
    if not line:
        raise EOFError
    return line.rstrip("\n")


def question(ctx: Context, handed: Handed, *, resuming: bool) -> str:
    """The run's confirmation, worded by the core as the TUI's modal shows it."""
    from console.core.run.confirm import confirmation

    request = handed.request
    c = confirmation(
        handed.migration.name,
        request.action,
        ctx.settings.display,
        handed.plan,
        request.skip,
        resuming=resuming,
    )
    return render.escape(f"{c.body}\n{c.title}")


def hand_over_confirm_follow(
    ctx: Context, runner: ForkedRunner, handed: Handed, store: HistoryStore
) -> int:
    """Hand the plan to the forked runner, hear its checks, ask (unless --yes), say go and
    follow the run to its end. Until go, the runner ends on its own if this face goes
    away or says no (``ForkedRunner``). A run that resumes an interrupted one closes
    that record itself, as it starts (``Handed.closes``)."""
    runner.hand_over(handed)
    # What following needs (asyncio, the events, rich and the lines it prints) loads
    # while the runner connects and checks: this face has nothing else to do then.
    from console.cli import aio
    from console.core import narrate  # noqa: F401 - the event printer's words
    from console.core.run.tail import follow_launched

    render.console()

    runner.verdict()
    agreed = ctx.yes or confirm(question(ctx, handed, resuming=handed.resuming))
    if not agreed:
        render.out.print("Nothing was done.")
        return ExitCode.OK
    early = catch_signals()  # until follow takes over: none may kill the face unheard
    # Everything loaded so far is kept out of later collections, and this process's
    # exit does not walk it (the gc docs' recipe).
    gc.freeze()
    launched = runner.go()
    events = follow_launched(launched)
    elsewhere: list[str] = []  # where the record went if history.toml could not take it
    name = handed.migration.name
    code = aio.run(follow(events, launched.pid, name, early=early, fallback=elsewhere))
    if elsewhere:
        say(f"  recorded in {elsewhere[-1]} (not in {store.path}: see above)")
    elif code in (ExitCode.OK, ExitCode.FAILED, ExitCode.INTERRUPTED):
        say(f"  recorded in {store.path}")
    return code  # main leaves with os._exit: nothing is torn down
