"""The one way to run a migration: open, execute, close, every event to its sinks.

``execute_run`` is what the runner process calls (``process.py``); tests and
benchmarks call it in-process. Faces never build a runner themselves: they
launch the runner process and follow its event log.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import TYPE_CHECKING, Any

from console.core import events as ev
from console.core.model import Migration, SectionPlan
from console.core.run.request import RunRequest
from console.core.run.runner import MigrationRunner
from console.core.run.sinks import EventLog, Recorder
from console.errors import ConsoleError
from console.settings import ConnectionSettings

if TYPE_CHECKING:
    from console.core.history import RunRecord
    from console.core.run.record import HistorySink

Sink = Callable[[ev.Event], None]
Gate = Callable[[MigrationRunner], Awaitable[None]]


class NotStarted(Exception):  # noqa: N818 - not an error: the face said no
    """Raised by a gate when its face will not have the run after all (the operator said
    no, or the face went away before saying yes): nothing was done, nothing is recorded."""


async def execute_run(
    settings: ConnectionSettings,
    request: RunRequest,
    sinks: Sequence[Sink] = (),
    *,
    wake_fd: int | None = None,
    on_open: Callable[[MigrationRunner], None] | None = None,
    migration: Migration | None = None,
    plan: SectionPlan | None = None,
    gate: Gate | None = None,
    closes: RunRecord | None = None,
    reading: tuple[str, dict[str, Any]] | None = None,
) -> ev.RunResult | None:
    """Run it; None when the runner refused to start (a RunRefused event says why) or its
    ``gate`` said not to (NotStarted: no event at all).

    ``migration`` and ``plan``: the file as its face read and planned it (the CLI's forked
    runner never loads the SQL parser); else the runner reads and plans the file itself.
    ``gate``: awaited once the runner holds the run lock and the database passed its
    checks, before anything runs; a ConsoleError from it refuses the run.
    ``closes``: the interrupted record this run resumes, ended with the run's first
    record (``recovery.resumed``): not at all if the run never starts. ``reading``:
    history.toml as the face read and checked it (``HistoryStore.reading``)."""
    if migration is None:
        from console.core.migration_file import parse_migration

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
        plan=plan,
    )
    history: Callable[[], HistorySink] | None = None
    if request.history_path is not None:
        history = _history_sink(settings, request, runner, closes, reading)
    log = EventLog(request.log_path, wake_fd) if request.log_path is not None else None
    recorder = Recorder(history, log, _problem)
    emit = Fanout([recorder, *sinks])
    try:
        try:
            await runner.open()
            if gate is not None:
                await gate(runner)
        except NotStarted:
            await runner.close()
            return None
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


def _history_sink(
    settings: ConnectionSettings,
    request: RunRequest,
    runner: MigrationRunner,
    closes: RunRecord | None,
    reading: tuple[str, dict[str, Any]] | None,
) -> Callable[[], HistorySink]:
    """The run's record, made on the recorder's thread as it starts (with what its
    writes load), while the runner connects."""
    assert request.history_path is not None
    path = request.history_path
    statements = [p.statement for p in runner.plan.statements]

    def make() -> HistorySink:
        from console.core.history import (
            HistoryStore,
            document,  # noqa: F401 - tomlkit, for the writes
        )
        from console.core.run.record import HistorySink

        return HistorySink(
            HistoryStore(path, seen=reading),  # the face's reading: not parsed again
            statements,
            operator=request.operator,
            environment=request.environment,
            database=settings.display,
            notes=request.notes,
            resumes=request.resumes,
            closes=closes,
        )

    return make


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
