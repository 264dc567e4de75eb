"""Where a run's events go besides a face: history.toml, and the run's event log.

``HistorySink`` writes the run's record when it starts (``status = "running"``,
runner pid, host, log), after each statement that commits on its own, and at the
end; a killed runner leaves a record of exactly what took effect. Statements of
a transactional section take effect together at COMMIT, so their record is
written then. If history.toml cannot be written at the end, the record goes to a
fallback file next to the event log, and the run's outcome stays what it was.

``EventLog`` appends each event as a JSON line to the run's log file and wakes a
face that follows it through a pipe (nothing happens if that face is gone).

``Recorder`` does both on a thread of its own, so that a statement never waits for
history.toml (a write is a parse, a rename and two fsyncs: 3-10 ms, sixteen of them
for the shipped migration). It keeps one rule: an event is in the log only once the
record says what it says, so a face, a test or an operator that saw it in the log
and then killed the runner finds it in history.toml. Events that come while a write
is under way are written together, once.
"""

from __future__ import annotations

import os
import queue
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import IO

import tomlkit

from console.core import events as ev
from console.core.history import HistoryStore, RunRecord, StatementRecord
from console.core.model import Statement
from console.core.recording import to_record
from console.core.words import Outcome
from console.errors import ConsoleError

PROGRESS_EVERY_S = 1.0  # the log keeps a build's progress at most this often per phase


class HistorySink:
    def __init__(
        self,
        store: HistoryStore,
        statements: Sequence[Statement],
        *,
        operator: str,
        environment: dict[str, str],
        database: str,
        notes: str = "",
        resumes: str = "",
    ):
        self.store = store
        self.operator = operator
        self.environment = dict(environment)
        self.database = database
        self.notes = notes
        self.resumes = resumes
        self.fallback: Path | None = None
        self._statements = {
            s.number: StatementRecord(s.number, s.line, s.sql, Outcome.NOT_RUN, None, 0)
            for s in statements
        }
        self._record: RunRecord | None = None
        self._in_transaction = False
        self._dirty = False  # the record changed since it was last written
        self._result: ev.RunResult | None = None  # the run ended: write its final record

    def take(self, e: ev.Event) -> None:
        """Note what the event changes in the record; `flush` writes it."""
        if isinstance(e, ev.RunStarted):
            self._started(e)
        elif self._record is None:
            return
        elif isinstance(e, ev.StatementStarted):
            self._set(e.number, status=Outcome.RUNNING, attempts=e.attempt)
            # which statement was in flight, should the runner die
            self._dirty = self._dirty or not self._in_transaction
        elif isinstance(e, ev.StatementSkipped):
            self._set(e.number, status=Outcome.SKIPPED)
            self._dirty = True
        elif isinstance(e, ev.StatementFailed | ev.StatementFinished):
            status = Outcome.SUCCEEDED if isinstance(e, ev.StatementFinished) else Outcome.FAILED
            self._set(e.number, status=status, duration_s=round(e.duration_s, 3))
            self._dirty = self._dirty or not self._in_transaction
        elif isinstance(e, ev.RunFinished):
            self._result = e.result

    def flush(self) -> None:
        """Write what `take` noted since the last write: the record as it stands, or the
        finished run's record (to the fallback file too, and raised, if history.toml
        cannot take it)."""
        if self._result is not None:
            result, self._result, self._dirty = self._result, None, False
            self._finished(result)
        elif self._dirty:
            self._dirty = False
            self._write()

    def _started(self, e: ev.RunStarted) -> None:
        self._in_transaction = e.in_transaction
        self._record = RunRecord(
            migration=e.migration,
            action=e.action,
            status=Outcome.RUNNING,
            started_at=e.started_at,
            executed_by=self.operator,
            environment=self.environment,
            database=self.database,
            statements=list(self._statements.values()),
            notes=self.notes,
            run_id=e.run_id,
            runner_pid=e.runner_pid,
            runner_started=e.runner_started or None,
            host=e.host,
            log=e.log,
            extra={"resumes": self.resumes} if self.resumes else {},
        )
        self._dirty = True

    def _set(self, number: int, **changes: object) -> None:
        old = self._statements.get(number)
        if old is not None:
            self._statements[number] = replace(old, **changes)  # type: ignore[arg-type]

    def _write(self) -> None:
        assert self._record is not None
        self._record.statements = list(self._statements.values())
        self.store.start_run(self._record)  # replaces the record with this run_id

    def _finished(self, result: ev.RunResult) -> None:
        assert self._record is not None
        record = to_record(
            result,
            operator=self.operator,
            environment=self.environment,
            database=self.database,
            notes=self.notes,
        )
        record.runner_pid, record.runner_started = (
            self._record.runner_pid,
            self._record.runner_started,
        )
        record.host, record.log = self._record.host, self._record.log
        record.extra.update(self._record.extra)
        try:
            self.store.finish_run(record)
        except ConsoleError:
            self.fallback = _fallback_path(self._record.log, self.store.path)
            text = tomlkit.dumps({"runs": [record.to_toml()]})
            self.fallback.write_text(text, encoding="utf-8")
            raise


def _fallback_path(log: str, history: Path) -> Path:
    base = Path(log) if log else history
    return base.with_name(base.stem + ".record.toml")


class EventLog:
    def __init__(self, path: Path, wake_fd: int | None = None):
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self._file: IO[str] | None = path.open("a", encoding="utf-8")
        self._wake = wake_fd
        self._progress: tuple[object, ...] = ()
        self._progress_at = 0.0

    def __call__(self, e: ev.Event) -> None:
        if isinstance(e, ev.IndexProgress) and self._skip(e):
            return
        if self._file is not None:
            try:
                self._file.write(ev.encode(e) + "\n")
                self._file.flush()
            except OSError:
                pass  # a full disk must not stop the run; history.toml still gets it
        self._poke()

    def _skip(self, e: ev.IndexProgress) -> bool:
        key = (e.number, e.phase, e.lockers_done, e.current_locker_pid)
        now = time.monotonic()
        if key == self._progress and now - self._progress_at < PROGRESS_EVERY_S:
            return True
        self._progress, self._progress_at = key, now
        return False

    def _poke(self) -> None:
        if self._wake is None:
            return
        try:
            os.write(self._wake, b".")
        except BlockingIOError:
            pass  # the face has not read the last pokes yet: it will read the file anyway
        except OSError:
            os.close(self._wake)  # the face is gone
            self._wake = None

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None
        if self._wake is not None:
            os.close(self._wake)
            self._wake = None


class Recorder:
    """The history sink and the event log, fed from a queue by a thread of their own.
    ``drain`` waits until everything handed in so far is written; ``close`` also stops
    the thread. A record that cannot be written becomes a RecordProblem in the log (once
    per message), before the events it concerns, as ``Fanout`` would say it."""

    def __init__(
        self,
        history: HistorySink | None,
        log: EventLog | None,
        problem: Callable[[HistorySink, BaseException, ev.Event], ev.RecordProblem],
    ):
        self.history = history
        self.log = log
        self._problem = problem
        self._said: set[str] = set()
        self._queue: queue.Queue[ev.Event | None] = queue.Queue()
        self._thread = threading.Thread(target=self._work, name="run-recorder", daemon=True)
        self._thread.start()

    def __call__(self, e: ev.Event) -> None:
        self._queue.put(e)

    def drain(self) -> None:
        self._queue.join()

    def close(self) -> None:
        if self._thread.is_alive():
            self._queue.put(None)
            self._thread.join()
        if self.log is not None:
            self.log.close()

    def _work(self) -> None:
        while True:
            batch = [self._queue.get()]
            while True:
                try:
                    batch.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            try:
                self._record([e for e in batch if e is not None])
            finally:
                for _ in batch:
                    self._queue.task_done()
            if None in batch:
                return

    def _record(self, events: list[ev.Event]) -> None:
        if not events:
            return
        said: list[ev.Event] = []
        if self.history is not None:
            for e in events:
                self.history.take(e)
            try:
                self.history.flush()
            except Exception as exc:  # noqa: BLE001 - a record problem never stops the run
                last = next((e for e in events if isinstance(e, ev.RunFinished)), events[-1])
                problem = self._problem(self.history, exc, last)
                if problem.message not in self._said:
                    self._said.add(problem.message)
                    said.append(problem)
        if self.log is not None:
            for e in said + events:
                self.log(e)
