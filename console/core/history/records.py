"""The records history.toml holds, as dataclasses: runs, their statements, the migration table."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from console.core.words import RUN_OUTCOMES, Outcome, Standing

RUN, ROLLBACK = "run", "rollback"
SQL_CHARS = 200


@dataclass
class StatementRecord:
    number: int
    line: int
    sql: str
    status: str  # e.g. "succeeded", "failed", "skipped", "cancelled", "not run"
    duration_s: float | None = None
    attempts: int = 1
    extra: dict[str, Any] = field(default_factory=dict)

    def to_toml(self) -> dict[str, Any]:
        out = dict(self.extra)
        duration = None if self.duration_s is None else round(float(self.duration_s), 3)
        out.update(
            number=self.number,
            line=self.line,
            sql=fold_sql(self.sql),
            status=self.status,
            duration_s=duration,
            attempts=self.attempts,
        )
        return _drop_none(out)


@dataclass
class RunRecord:
    migration: str
    action: str = RUN  # "run" or "rollback"
    status: str = Outcome.SUCCEEDED  # an Outcome of RUN_OUTCOMES
    started_at: datetime | None = None
    finished_at: datetime | None = None
    executed_by: str = ""
    environment: dict[str, str] = field(default_factory=dict)  # project/environment/service
    database: str = ""  # already masked by the caller
    statements: list[StatementRecord] = field(default_factory=list)
    error: str | None = None
    notes: str = ""
    invalid_indexes: list[str] = field(default_factory=list)
    actions: list[dict[str, Any]] = field(default_factory=list)  # what/pid/at/by
    duration_s: float | None = None  # computed from the timestamps when None
    run_id: str = ""  # names the record while it is updated
    runner_pid: int | None = None  # the runner process, and the host it runs on
    runner_started: int | None = None  # when it started (clock ticks): tells it from a reused pid
    host: str = ""
    log: str = ""  # the run's event log (JSON lines)
    extra: dict[str, Any] = field(default_factory=dict)

    def to_toml(self) -> dict[str, Any]:
        if self.action not in (RUN, ROLLBACK):
            raise ValueError(f"action must be run or rollback, not {self.action!r}")
        if self.status not in RUN_OUTCOMES:
            raise ValueError(
                f"status must be one of {', '.join(RUN_OUTCOMES)}, not {self.status!r}"
            )
        if self.started_at is None:
            raise ValueError("a run record needs started_at")
        if self.finished_at is None and self.status not in (Outcome.RUNNING, Outcome.INTERRUPTED):
            raise ValueError("a finished run record needs finished_at")
        started = _utc(self.started_at)
        finished = _utc(self.finished_at) if self.finished_at else None
        duration = self.duration_s
        if duration is None and finished is not None:
            duration = (finished - started).total_seconds()
        out = dict(self.extra)
        out.update(
            migration=self.migration,
            action=self.action,
            status=self.status,
            run_id=self.run_id or None,
            started_at=started,
            finished_at=finished,
            duration_s=None if duration is None else round(duration, 3),
            executed_by=self.executed_by,
            environment={k: str(v) for k, v in self.environment.items() if v},
            database=self.database,
            runner_pid=self.runner_pid,
            runner_started=self.runner_started,
            host=self.host or None,
            log=self.log or None,
        )
        if self.status in (Outcome.FAILED, Outcome.INTERRUPTED) and self.error:
            out["error"] = self.error
        out["notes"] = self.notes
        if self.invalid_indexes:
            out["invalid_indexes"] = list(self.invalid_indexes)
        out["statements"] = [s.to_toml() for s in self.statements]
        if self.actions:
            out["actions"] = [_drop_none(a) for a in self.actions]
        return _drop_none(out)

    @property
    def summary(self) -> str:
        """A short result for the migrations table, e.g. "run succeeded in 12.3 s"."""
        if self.status in (Outcome.FAILED, Outcome.INTERRUPTED) and self.error:
            return f"{self.action} failed: {first_sentence(self.error)}"
        secs = self.duration_s
        if secs is None and self.started_at and self.finished_at:
            secs = (self.finished_at - self.started_at).total_seconds()
        word = "in" if self.status == Outcome.SUCCEEDED else "after"
        took = f" {word} {secs:.1f} s" if secs is not None else ""
        return f"{self.action} {self.status}{took}"


@dataclass
class MigrationRow:
    migration: str
    status: str = Standing.PENDING
    date: date | None = None
    executed_by: str = ""
    notes: str = ""  # a person's words: the console never writes them
    result: str = ""  # the last run's outcome, written by the console
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass
class HistoryData:
    migrations: list[MigrationRow] = field(default_factory=list)
    runs: list[RunRecord] = field(default_factory=list)
    raw: dict[str, Any] = field(default_factory=dict)

    def row(self, migration: str) -> MigrationRow | None:
        return next((r for r in reversed(self.migrations) if r.migration == migration), None)

    def runs_of(self, migration: str) -> list[RunRecord]:
        return [r for r in self.runs if r.migration == migration]


def fold_sql(sql: str) -> str:
    return " ".join(sql.split())[:SQL_CHARS]


def first_sentence(text: str) -> str:
    line = text.strip().splitlines()[0] if text.strip() else ""
    m = re.match(r"(.+?[.!?])(\s|$)", line)
    return (m.group(1) if m else line)[:SQL_CHARS]


def _utc(value: datetime) -> datetime:
    if value.tzinfo is None:
        raise ValueError("history timestamps must be timezone-aware")
    value = value.astimezone(UTC)
    return value.replace(microsecond=value.microsecond // 1000 * 1000)


def _drop_none(d: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in d.items() if v is not None}
