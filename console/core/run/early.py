"""A run command's runner, forked first thing: before the console loads anything else.

A run's way to its first statement is mostly Python loading modules: the runner's
(asyncio, asyncpg, the engine) and the face's (the command line, its context, the
file's planning, history.toml). Forked as the process starts, the runner loads its part
while the face reads the command line and loads its own, on the other CPU; the face
then hands it the plan (``handoff``) through ``forked``, which takes the runner forked
here, or forks one then. A guess that turns out wrong (the command fails to parse,
asks for --help, or is no run) costs nothing but that CPU: the face never hands
anything over, and the runner ends, having done nothing, when the face's end of the
socket closes.

What both sides load (``SHARED``: asyncio, the model, the request, history.toml's
store, the handoff, the event log's reader) is loaded once, before the fork. Each side
loaded it on its own before, and with the face, the runner and the server's backends
sharing two CPUs, a run waited for that CPU time (9 ms at the median of 120 runs).

This module itself loads nothing the interpreter and its package have not loaded
already (``_socket`` is built in): the entry imports it before anything else of the
console's.
"""

from __future__ import annotations

import _socket
import contextlib
import gc
import importlib
import os
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Iterator

    from console.core.run.handoff import ForkedRunner

# A runner forked by ``start`` and not yet taken: its pid, the face's end of the socket
# pair (a file descriptor), the read end of the pipe the runner pokes after each event.
_waiting: tuple[int, int, int] | None = None
_gc_was_on = False  # ``start`` turned garbage collection off: ``loading`` turns it on

RUNS = frozenset({"run", "rollback"})

# Loaded before the fork: what the face (reading, planning, handing over, following)
# and the runner (the engine) would each load.
SHARED = (
    "asyncio",
    "console.connection",
    "console.settings",
    "console.core.model",
    "console.core.history.store",
    "console.core.run.request",
    "console.core.run.handoff",
    "console.core.run.tail",
)


def forks(command: str | None, resume: bool = False) -> bool:
    """Whether a parsed command forks a runner: run, rollback, recover --resume."""
    return command in RUNS or (command == "recover" and resume)


def wanted(argv: list[str]) -> bool:
    """Whether the command line seems to name a command that forks a runner (``forks``):
    a guess made before any parsing (a migration called "run" fools it)."""
    if any(a in ("-h", "--help", "--version") for a in argv):
        return False
    return any(a in RUNS for a in argv) or ("recover" in argv and "--resume" in argv)


def start() -> None:
    """Load what both sides need (``SHARED``), fork the runner (from the entry: no
    threads, no event loop yet), and keep it for ``forked``. Garbage collection stays
    off while the face loads (``loading``)."""
    global _waiting, _gc_was_on
    _gc_was_on = gc.isenabled()
    gc.disable()  # loading makes objects by the hundred thousand, none of them garbage
    try:
        for name in SHARED:
            importlib.import_module(name)
    except Exception:  # noqa: BLE001 - a broken install: each side says so as it loads
        pass
    _waiting = fork()


def forked() -> ForkedRunner:
    """The face's end of the runner ``start`` forked, else of one forked now (only from a
    process with no threads and no event loop). It learns everything, the connection
    too, from what the face hands over (``handoff``)."""
    import socket

    from console.core.run.handoff import ForkedRunner

    pid, face, wake = take() or fork()
    return ForkedRunner(pid, socket.socket(fileno=face), wake)


@contextlib.contextmanager
def loading() -> Iterator[None]:
    """No garbage collection while a run command loads its modules and checks: the gc
    module's recipe for a process that forks (disable early, freeze before the fork).
    Loading makes objects by the hundred thousand, and none of them is garbage."""
    collecting = gc.isenabled() or _gc_was_on
    gc.disable()
    try:
        yield
    finally:
        # Frozen first: the allocations counted while collection was off would make the
        # first one after it a full collection of everything just loaded (6 ms).
        gc.freeze()
        if collecting:
            gc.enable()


def take() -> tuple[int, int, int] | None:
    """The runner ``start`` forked, once; None if there is none."""
    global _waiting
    waiting, _waiting = _waiting, None
    return waiting


def discard() -> None:
    """The guess was wrong: the runner forked by ``start`` ends (its end of the socket
    closes), and garbage collection is on again if ``start`` turned it off."""
    global _gc_was_on
    waiting = take()
    if waiting is not None:
        pid, face, wake = waiting
        os.close(face)
        os.close(wake)
        # Reaped when it ends (it reads the socket's end once it has loaded), so that a
        # face that lives on (the console) keeps no zombie of it.
        import threading

        threading.Thread(target=_reap, args=(pid,), name="early-reap", daemon=True).start()
    if _gc_was_on:
        _gc_was_on = False
        gc.enable()


def fork() -> tuple[int, int, int]:
    """Fork a runner: it becomes a session of its own with no terminal and waits for
    what the face hands it (``handoff``). Returns its pid, the face's end of the socket
    and the read end of the wake pipe."""
    face, runner = _socket.socketpair(_socket.AF_UNIX, _socket.SOCK_STREAM)
    wake_read, wake_write = os.pipe()
    os.set_blocking(wake_write, False)
    pid = os.fork()
    if pid == 0:  # the runner
        code = 1  # ExitCode.FAILED, unless the runner says otherwise
        try:
            os.setsid()  # no terminal: Ctrl-C and a closed terminal are the face's alone
            gc.disable()
            face.close()
            os.close(wake_read)
            _detach_stdio()
            from console.core.run import handoff

            code = handoff.runner(runner.detach(), wake_write)
        except BaseException:  # noqa: BLE001 - the last word goes to the stderr file
            import traceback

            traceback.print_exc()
        finally:
            os._exit(code)
    runner.close()
    os.close(wake_write)
    return pid, face.detach(), wake_read


def _reap(pid: int) -> None:
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, 0)


def _detach_stdio() -> None:
    null = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(null, fd)
    os.close(null)
