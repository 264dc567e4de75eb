"""A run's record in history.toml, kept up to date as its events come (``HistorySink``).

It writes the run's record when it starts (``status = "running"``, runner pid, host,
log), after each statement that commits on its own, and at the end; a killed runner
leaves a record of exactly what took effect. Statements of a transactional section
take effect together at COMMIT, so their record is written then. If history.toml
cannot be written at the end, the record goes to a fallback file next to the event
log, and the run's outcome stays what it was. A run that resumes an interrupted one
ends that record in the same write as its own first one: history.toml never says a
run was resumed by one that never started.

The ``Recorder`` (``sinks``) makes it on its own thread, at its first write.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

from console.core import events as ev
from console.core.history import HistoryStore, RunRecord, StatementRecord
from console.core.model import Statement
from console.core.recording import to_record
from console.core.words import Outcome


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
        closes: RunRecord | None = None,
    ):
        self.store = store
        self.operator = operator
        self.environment = dict(environment)
        self.database = database
        self.notes = notes
        self.resumes = resumes
        # The interrupted record this run resumes, ended with this run's first record
        # that reaches history.toml (``recovery.resumed``).
        self._closes = closes
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
        if self._closes is not None:  # it ended as this run started
            self._closes.finished_at = e.started_at
            resolution = self._closes.extra.get("resolution")
            if isinstance(resolution, dict):
                resolution["at"] = e.started_at.replace(microsecond=0)
        self._dirty = True

    def _set(self, number: int, **changes: object) -> None:
        old = self._statements.get(number)
        if old is not None:
            self._statements[number] = replace(old, **changes)  # type: ignore[arg-type]

    def _write(self) -> None:
        assert self._record is not None
        self._record.statements = list(self._statements.values())
        self.store.start_run(self._record, closes=self._closes)  # replaces this run_id's
        self._closes = None

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
            self.store.finish_run(record, closes=self._closes)
            self._closes = None
        except Exception:  # a full disk, a locked file, text it cannot hold: the fallback
            import tomlkit

            self.fallback = _fallback_path(self._record.log, self.store.path)
            closed = [self._closes.to_toml()] if self._closes is not None else []
            text = tomlkit.dumps({"runs": [*closed, record.to_toml()]})
            # Whatever it holds is kept, as the bytes it came as.
            self.fallback.write_text(text, encoding="utf-8", errors="surrogateescape")
            raise


def _fallback_path(log: str, history: Path) -> Path:
    base = Path(log) if log else history
    return base.with_name(base.stem + ".record.toml")
