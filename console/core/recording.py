"""Turning a run's result into a history.toml record."""

from __future__ import annotations

from console.core.events import RunResult
from console.core.history import RunRecord, StatementRecord


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
