"""The CLI's runner, forked before the engine loads, and the plan handed over to it.

The runner is forked as the process starts, before the command line is read
(``early``), and the two work side by side (on two CPUs, at once):

    face                                  runner (a session of its own, no terminal)
    fork ──────────────────────────────▶  loads asyncio, asyncpg and the engine
    reads the command line, reads and
    plans the file (pglast), reads
    history.toml
    hands them over ───────────────────▶  takes the run lock, connects, preflight,
                                          looks for an interrupted run
                  ◀──────────────────── ready, or refused (message, hint, exit code)
    asks the operator (unless --yes)
    go, or closes its end ─────────────▶  runs; or ends with nothing done, nothing recorded
    follows the run's event log

So a run waits for the face's reading and planning, or for the runner's loading,
whichever takes longer, not for both. The runner never loads the SQL parser (the
plan comes ready), and it checks the database on its own sessions, as the face's
``control.prepare`` does for the TUI. When the face has a question to ask, those
sessions close before it is asked and open again after go: nothing of the run is
held on the server while the operator reads it.

The messages go over a socket pair, as pickles with a length before them: both ends
are this program, one process forked in two, and the plan is nested dataclasses. If
the face goes away before it says go (Ctrl-C at the question, a closed terminal,
kill -9), its end of the socket closes, and the runner ends without running anything.

This module loads nothing heavy (the face imports it before it plans), and its
``runner`` is the forked runner's life from the handoff on.
"""

from __future__ import annotations

import contextlib
import gc
import os
import pickle
import signal
import socket
import struct
import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from console.errors import ConsoleError, ExitCode

if TYPE_CHECKING:
    from types import TracebackType

    from console.core.history import RunRecord
    from console.core.model import Migration, SectionPlan
    from console.core.run.execute import Gate
    from console.core.run.request import RunRequest
    from console.core.run.runner import MigrationRunner
    from console.core.run.tail import Launched
    from console.settings import ConnectionSettings

READY = "ready"
GO = b"g"
_SIZE = struct.Struct("!I")


@dataclass(frozen=True)
class Handed:
    """What the face hands its runner: the run, and the file as the face read and planned it."""

    settings: ConnectionSettings
    request: RunRequest
    migration: Migration
    plan: SectionPlan
    open_runs: list[RunRecord]  # its runs history.toml says are running: interrupted?
    migrations_dir: Path
    resuming: bool = False  # the run resumes an interrupted one: that check is not made
    ask: bool = False  # the face asks the operator: nothing is held while it does
    closes: RunRecord | None = None  # the interrupted record, ended as the run starts
    # history.toml as the face read and checked it: the runner's first write does not
    # parse it again while the file still holds that text.
    reading: tuple[str, dict[str, Any]] | None = None


@dataclass(frozen=True)
class Refused:
    """Why the runner will not run: as the face's own checks would have said it."""

    message: str
    hint: str
    exit_code: int


class RunnerGone(ConsoleError):
    exit_code = ExitCode.FAILED


class ForkedRunner:
    """The face's end: hand over, hear the runner's verdict, say go (or nothing)."""

    def __init__(self, pid: int, sock: socket.socket, wake: int):
        self.pid = pid
        self.sock = sock
        self.wake = wake  # read end of the pipe the runner pokes after each event
        self.request: RunRequest | None = None
        self._gone = False

    def __enter__(self) -> ForkedRunner:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.abort()  # a no-op once go() was said

    def hand_over(self, handed: Handed) -> None:
        from console.core.run.request import start_log

        start_log(handed.request)
        self.request = handed.request
        # A runner that ended already (it could not start) left its reason on the socket:
        # verdict() reads it.
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            _send(self.sock, handed)

    def verdict(self) -> None:
        """Wait until the runner is ready to run; its refusal is raised as the face's own
        checks would raise it (same sentence, same exit code)."""
        said = _receive(self.sock)
        if isinstance(said, Refused):
            raise ConsoleError(said.message, said.hint, exit_code=ExitCode(said.exit_code))
        if said != READY:
            where = self._errors()
            said_something = where is not None and where.exists() and where.stat().st_size > 0
            raise RunnerGone(
                f"The runner (pid {self.pid}) ended before the run started; nothing was run.",
                f"What it said is in {where}." if said_something else "Try again.",
            )

    def go(self) -> Launched:
        from console.core.run.tail import Launched

        assert self.request is not None
        assert self.request.log_path is not None
        self.sock.sendall(GO)
        self.sock.close()
        self._gone = True
        return Launched(
            self.pid,
            self.request.run_id,
            self.request.log_path,
            self.wake,
            history=self.request.history_path,
        )

    def abort(self) -> None:
        """Nothing is to run: the runner reads the end of the socket and ends. Its event
        log goes too: a run that never started has nothing to follow, and a refusal was
        said on this face's terminal. What the runner wrote to stderr stays, if anything."""
        if self._gone:
            return
        self._gone = True
        self.sock.close()
        with contextlib.suppress(OSError):
            os.close(self.wake)
        log, errors = self.request.log_path if self.request is not None else None, self._errors()
        if log is not None:
            with contextlib.suppress(OSError):
                log.unlink()
        if errors is not None:
            with contextlib.suppress(OSError):
                if errors.stat().st_size == 0:
                    errors.unlink()
        with contextlib.suppress(ChildProcessError):
            os.waitpid(self.pid, os.WNOHANG)  # reaped now if it has ended already

    def _errors(self) -> Path | None:
        log = self.request.log_path if self.request is not None else None
        return None if log is None else log.with_suffix(".stderr")


def runner(sock: int, wake: int) -> int:
    """The forked runner's life (``early.fork``), given the file descriptors of its end of
    the socket pair and of the wake pipe's write end; returns its exit code."""
    return _runner(socket.socket(fileno=sock), wake)


def _say_failed(sock: socket.socket, exc: BaseException, *, before: bool) -> None:
    """A runner that failed before it was ready tells its face why (a face that is past
    go, or gone, hears nothing: the traceback is in the run's stderr file). ``before``
    the handoff (a broken install, say) it knows no secret, and says the error itself."""
    text = f"{type(exc).__name__}: {exc}" if before else type(exc).__name__
    with contextlib.suppress(Exception):
        _send(
            sock,
            Refused(
                f"The runner could not start ({text}); nothing was run.",
                "Check the console's installation (pip check), then run again."
                if before
                else "Its traceback is in the .stderr file next to the run's event log.",
                int(ExitCode.FAILED),
            ),
        )


def _runner(sock: socket.socket, wake: int) -> int:
    got: list[Handed] = []  # what the face handed over, once it has
    try:
        return _run_handed(sock, wake, got)
    except BaseException as exc:
        traceback.print_exc()  # to the run's stderr file once it is known, else nowhere
        _say_failed(sock, exc, before=not got)
        return int(ExitCode.FAILED)


def _run_handed(sock: socket.socket, wake: int, got: list[Handed]) -> int:
    signal.signal(signal.SIGHUP, signal.SIG_IGN)
    # The engine loads while the face reads the file; none of it is garbage.
    from console.core.run import process

    gc.freeze()
    gc.enable()  # whatever the face did while loading (the gc docs' fork recipe)
    handed = _receive(sock)
    if not isinstance(handed, Handed):
        return int(ExitCode.OK)  # the face went away before it handed anything over
    got.append(handed)
    assert handed.request.log_path is not None
    _stderr_to(handed.request.log_path.with_suffix(".stderr"))
    gate: Gate | None = None
    if handed.ask:
        # Checked on sessions that close before the question: while the operator reads
        # it, nothing of the run is held on the server. The run opens again after go.
        refusal = process.check_only(handed.settings, handed)
        if refusal is not None:
            _send(sock, Refused(refusal.message, refusal.hint, int(refusal.exit_code)))
            return int(refusal.exit_code)
        _send(sock, READY)
        sock.setblocking(True)
        if _exactly(sock, len(GO)) != GO:
            return int(ExitCode.OK)  # no, or the face went away: nothing was done
    else:

        async def held(runner: MigrationRunner) -> None:
            await process.checks_passed(runner, handed)
            _send(sock, READY)
            if await _one_byte(sock) != GO:
                from console.core.run.execute import NotStarted

                raise NotStarted

        gate = held
    said: list[Refused] = []
    given = process.Given(
        handed.migration,
        handed.plan,
        gate,
        lambda r: said.append(Refused(r.message, r.hint, r.exit_code)),
        handed.closes,
        handed.reading,
    )
    code = process.runner_main(handed.settings, handed.request, wake, given)
    if said and gate is not None:  # else the face follows the log, which says it
        with contextlib.suppress(OSError):
            _send(sock, said[0])
    return code


async def _one_byte(sock: socket.socket) -> bytes:
    import asyncio

    sock.setblocking(False)
    try:
        return await asyncio.get_running_loop().sock_recv(sock, 1)
    except OSError:
        return b""


def _send(sock: socket.socket, message: object) -> None:
    data = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
    sock.sendall(_SIZE.pack(len(data)) + data)


def _receive(sock: socket.socket) -> object:
    """The next message, or None at the end of the socket (the other end went away)."""
    head = _exactly(sock, _SIZE.size)
    if head is None:
        return None
    body = _exactly(sock, _SIZE.unpack(head)[0])
    return None if body is None else pickle.loads(body)  # noqa: S301 - our own fork's


def _exactly(sock: socket.socket, n: int) -> bytes | None:
    chunks, left = [], n
    while left:
        try:
            chunk = sock.recv(min(left, 1 << 20))
        except ConnectionError:
            return None
        if not chunk:
            return None
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


def _stderr_to(path: Path) -> None:
    err = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    os.dup2(err, 2)
    os.close(err)
