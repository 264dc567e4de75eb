"""The one way to run a migration: open, execute, close, every event to its sinks.

``execute_run`` is what the runner process calls (``process.py``); tests and
benchmarks call it in-process. Faces never build a runner themselves: they
launch the runner process and follow its event log.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from console.core import events as ev
from console.core.history import HistoryStore
from console.core.migration_file import parse_migration
from console.core.run.options import FAIL, RunOptions
from console.core.run.runner import MigrationRunner
from console.core.run.sinks import EventLog, HistorySink, Recorder
from console.core.words import Outcome
from console.errors import ConsoleError, ExitCode
from console.settings import ConnectionSettings

Sink = Callable[[ev.Event], None]
EXIT_CODES: dict[str, ExitCode] = {
    Outcome.SUCCEEDED: ExitCode.OK,
    Outcome.CANCELLED: ExitCode.INTERRUPTED,
}


def exit_code(status: str) -> int:
    """A run's outcome as the CLI's exit code (failed and interrupted: 1)."""
    return int(EXIT_CODES.get(status, ExitCode.FAILED))


def new_run_id() -> str:
    return f"{datetime.now(UTC):%Y%m%dT%H%M%SZ}-{secrets.token_hex(3)}"


@dataclass(frozen=True)
class RunRequest:
    """Everything a runner needs besides the connection."""

    migration_path: Path
    action: str = "run"
    options: RunOptions = field(default_factory=RunOptions)
    operator: str = ""
    environment: dict[str, str] = field(default_factory=dict)
    notes: str = ""
    history_path: Path | None = None  # None: no record (benchmarks)
    log_path: Path | None = None  # None: no event log
    run_id: str = field(default_factory=new_run_id)
    on_max_wait: str = FAIL  # "ask" when a face will ask the operator
    skip: tuple[int, ...] = ()  # statements done by the run this one resumes
    resumes: str = ""  # that run's id


async def execute_run(
    settings: ConnectionSettings,
    request: RunRequest,
    sinks: Sequence[Sink] = (),
    *,
    wake_fd: int | None = None,
    on_open: Callable[[MigrationRunner], None] | None = None,
) -> ev.RunResult | None:
    """Run it; None when the runner refused to start (a RunRefused event says why)."""
    migration = parse_migration(request.migration_path)
    runner = MigrationRunner(
        settings,
        migration,
        request.action,
        request.options,
        run_id=request.run_id,
        skip=request.skip,
        on_max_wait=request.on_max_wait,
        log=str(request.log_path or ""),
    )
    history = None
    if request.history_path is not None:
        history = HistorySink(
            HistoryStore(request.history_path),
            [p.statement for p in runner.plan.statements],
            operator=request.operator,
            environment=request.environment,
            database=settings.display,
            notes=request.notes,
            resumes=request.resumes,
        )
    log = EventLog(request.log_path, wake_fd) if request.log_path is not None else None
    recorder = Recorder(history, log, _problem)
    emit = Fanout([recorder, *sinks])
    try:
        try:
            await runner.open()
        except ConsoleError as exc:
            await runner.close()
            emit(ev.RunRefused(exc.message, exc.hint, int(exc.exit_code)))
            return None
        except BaseException:
            await runner.close()
            raise
        if on_open is not None:
            on_open(runner)
        try:
            return await runner.execute(emit)
        finally:
            # The record is written before the run lock is let go (off the loop: a long
            # history.toml takes tens of ms to check and write); the sessions close even
            # if this wait is cancelled.
            try:
                await asyncio.to_thread(recorder.drain)
            finally:
                await runner.close()
    finally:
        recorder.close()


class Fanout:
    """Hands each event to every sink in order. A sink that fails (history.toml on a
    full disk) never stops the run: the others hear a RecordProblem first."""

    def __init__(self, sinks: Sequence[Sink]):
        self.sinks = list(sinks)
        self._said: set[str] = set()

    def __call__(self, e: ev.Event) -> None:
        for i, sink in enumerate(self.sinks):
            try:
                sink(e)
            except (ConsoleError, OSError) as exc:
                problem = _problem(sink, exc, e)
                if problem.message not in self._said:
                    self._said.add(problem.message)
                    for other in self.sinks[i + 1 :]:
                        _quietly(other, problem)


def _problem(sink: object, exc: BaseException, e: ev.Event) -> ev.RecordProblem:
    text = exc.message if isinstance(exc, ConsoleError) else str(exc)
    fallback = getattr(sink, "fallback", None)
    if isinstance(e, ev.RunFinished) and fallback is not None:
        return ev.RecordProblem(
            f"{text} The migration itself is done ({e.result.action} {e.result.status}); "
            f"its record is in {fallback}. Do not run it again because of this: copy the "
            "record into history.toml once it can be written.",
            str(fallback),
        )
    return ev.RecordProblem(f"{text} The run goes on; the record is written again later.")


def _quietly(sink: Sink, e: ev.Event) -> None:
    try:
        sink(e)
    except (ConsoleError, OSError):
        pass
