"""A run's result as a history.toml record, and a record as the result it tells."""

from __future__ import annotations

from pathlib import Path

from console.core.events import RunFinished, RunResult, StatementResult
from console.core.history import HistoryStore, RunRecord, StatementRecord
from console.core.words import Outcome
from console.errors import ConsoleError

# A record's status once its run has ended on its own (interrupted is said by recovery).
ENDED = (Outcome.SUCCEEDED, Outcome.FAILED, Outcome.CANCELLED)


def to_record(
    result: RunResult, *, operator: str, environment: dict[str, str], database: str, notes: str = ""
) -> RunRecord:
    return RunRecord(
        migration=result.migration,
        action=result.action,
        status=result.status,
        started_at=result.started_at,
        finished_at=result.finished_at,
        executed_by=operator,
        environment=dict(environment),
        database=database,
        statements=[
            StatementRecord(
                number=s.number,
                line=s.line,
                sql=s.sql,
                status=s.status,
                duration_s=round(s.duration_s, 3),
                attempts=s.attempts,
            )
            for s in result.statements
        ],
        error=result.error,
        notes=notes,
        invalid_indexes=list(result.invalid_indexes),
        actions=[dict(a) for a in result.actions],
        run_id=result.run_id,
    )


def to_result(record: RunRecord) -> RunResult:
    """The result a finished run's record tells (``to_record``'s way back)."""
    assert record.started_at is not None
    assert record.finished_at is not None
    return RunResult(
        record.migration,
        record.action,
        record.status,
        record.started_at,
        record.finished_at,
        [
            StatementResult(s.number, s.line, s.sql, s.status, s.duration_s or 0.0, s.attempts)
            for s in record.statements
        ],
        record.error,
        None,
        list(record.invalid_indexes),
        [],
        record.run_id,
    )


def recorded_end(history: Path, run_id: str) -> RunFinished | None:
    """How history.toml says the run ``run_id`` ended, if it has ended: for a face whose
    runner left no last word in its event log (a full disk: the log is written as it
    goes, history.toml is checked at every write). None if it says nothing of an end."""
    try:
        runs = HistoryStore(history).load().runs
    except (ConsoleError, OSError):
        return None
    record = next((r for r in reversed(runs) if r.run_id == run_id), None)
    if record is None or record.status not in ENDED or record.finished_at is None:
        return None
    return RunFinished(to_result(record))
