"""The command line's entry: parse once, hand the command its context, and turn what
goes wrong into a sentence, a hint and an exit code (a traceback only with --debug).

The arguments are declared in ``arguments.py``, the context in ``context.py``, each
command in its module under ``commands/``, imported only when it is the one chosen.
"""

from __future__ import annotations

import contextlib
import os
import sys
from typing import TYPE_CHECKING, NoReturn

if TYPE_CHECKING:
    from collections.abc import Sequence

    from console.cli.context import Context

# A run's face holds nothing that needs Python's teardown once the command is done: its
# runner is another process, which writes history.toml. It leaves with os._exit, which
# spares the interpreter's teardown of everything loaded (the engine, the parser, rich:
# 40 ms and more, part of every run's fixed cost).
QUICK_EXIT = frozenset({"run", "rollback"})


def main(argv: Sequence[str] | None = None) -> int:
    from console.cli.arguments import build_parser

    ns = build_parser().parse_args(argv)  # --help and --version end here
    from console.core.run import early

    if not early.forks(ns.command, getattr(ns, "resume", False)):
        early.discard()  # the entry guessed a run from the words: none is to come
    from console.cli.context import from_arguments
    from console.cli.render import error
    from console.errors import ExitCode

    ctx = from_arguments(ns)
    debug = ctx.debug or os.environ.get("MIGRATION_CONSOLE_DEBUG") == "1"
    if ns.command is None and not (sys.stdin.isatty() and sys.stdout.isatty()):
        error(
            "The console needs a terminal, and this is not one (input or output is redirected).",
            "Run a command instead, e.g. `migration-console status`, "
            "`migration-console run MIGRATION --yes` or `migration-console blockers`; "
            "`migration-console --help` lists them all.",
        )
        return ExitCode.BAD_INPUT
    code = _dispatch(ctx, debug)
    if ctx.command in QUICK_EXIT:
        leave_now(code)
    return code


def _dispatch(ctx: Context, debug: bool) -> int:
    from collections.abc import Coroutine

    from console.cli.commands import handler
    from console.cli.render import error
    from console.errors import ConsoleError, ExitCode

    try:
        result = handler(ctx.command)(ctx)
        if isinstance(result, Coroutine):
            from console.cli import aio  # asyncio: not before a run's face has forked

            result = aio.run(result)
        return int(result)
    except ConsoleError as exc:
        if debug:
            raise
        error(exc.message, exc.hint)
        return int(exc.exit_code)
    except KeyboardInterrupt:
        if debug:
            raise
        error("Interrupted.", "Nothing further was done; history.toml holds what was recorded.")
        from console.cli import aio

        aio.exit_now_if_stuck(ExitCode.INTERRUPTED)
        return ExitCode.INTERRUPTED
    except Exception as exc:  # noqa: BLE001 - last resort: a sentence, never a traceback
        if debug:
            raise
        error(
            f"Unexpected error: {ctx.redact(f'{type(exc).__name__}: {exc}')}",
            "Run again with --debug to see the traceback, and report it.",
        )
        return ExitCode.FAILED


def leave_now(code: int) -> NoReturn:
    """Exit at once: what was printed is flushed, nothing else is torn down."""
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError, AttributeError):  # a closed pipe or terminal; None
            pass  # (Python's stream when the command started with that descriptor closed)
    os._exit(code)


def entry() -> None:
    """The program: a run's runner is forked before anything else loads (``early``)."""
    standard_streams_open()
    for stream in (sys.stdout, sys.stderr):
        # What the output cannot hold (an ASCII terminal, PYTHONIOENCODING) prints as
        # "?": never an error in the middle of a run's lines (its runner goes on).
        with contextlib.suppress(AttributeError, ValueError):
            stream.reconfigure(errors="replace")  # type: ignore[union-attr]
    try:
        hide_secrets_from_ps(sys.orig_argv)
    except Exception:  # noqa: BLE001, S110 - best effort: never in the command's way
        pass
    from console.core.run import early

    if early.wanted(sys.argv[1:]):
        early.start()
    sys.exit(main())


def standard_streams_open() -> None:
    """Descriptors 0, 1 and 2 open, on /dev/null if they came closed (``cmd >&-``, a
    service manager): else the next file opened takes one of them, a print could land
    in it, and the runner's detaching would close it. Python's streams follow."""
    for fd, name, mode in ((0, "stdin", "r"), (1, "stdout", "w"), (2, "stderr", "w")):
        try:
            os.fstat(fd)
            continue
        except OSError:
            pass
        null = os.open(os.devnull, os.O_RDWR)  # the lowest free descriptor: this one
        if null != fd:
            os.dup2(null, fd)
            os.close(null)
        if getattr(sys, name) is None:
            setattr(sys, name, open(fd, mode, closefd=False))  # noqa: SIM115 - for life


def hide_secrets_from_ps(argv: list[str]) -> None:
    """A password given on the command line (``--database-url``) is in the process's
    command line, which every user of the machine can read (``ps``, /proc/PID/cmdline).
    The process title becomes the same command line with the secrets masked, before a
    runner is forked (it inherits the title). It showed from the program's start until
    here, some tens of milliseconds: DATABASE_URL, PGPASSWORD or ~/.pgpass never do."""

    def may_hold_one(arg: str) -> bool:
        return "://" in arg or "password" in arg.lower()

    if not any(may_hold_one(a) for a in argv):
        return
    from console.connection import Redactor, as_text, secrets_of

    shown = [Redactor(secrets_of(a))(a) if may_hold_one(a) else a for a in argv]
    if shown != argv:
        import shlex

        from setproctitle import setproctitle

        setproctitle(as_text(shlex.join(shown)))  # what the system could not decode: U+FFFD
