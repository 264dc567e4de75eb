"""What a run reports while it happens: small frozen dataclasses, in order.

The CLI prints them; the TUI turns them into Messages. Nothing here knows
either face.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime


@dataclass(frozen=True)
class RunStarted:
    migration: str
    action: str  # "run" or "rollback"
    section: str  # "up" or "down"
    statements: int
    in_transaction: bool
    reason: str
    database: str  # masked
    pid: int  # the migration session's backend pid
    started_at: datetime


@dataclass(frozen=True)
class StatementStarted:
    number: int
    line: int
    sql: str
    attempt: int = 1


@dataclass(frozen=True)
class StatementFinished:
    number: int
    duration_s: float
    status: str  # the server's command tag, e.g. "CREATE INDEX"


@dataclass(frozen=True)
class StatementFailed:
    number: int
    duration_s: float
    sqlstate: str | None
    message: str


@dataclass(frozen=True)
class ServerNotice:
    severity: str
    message: str
    number: int | None  # statement running when it arrived


@dataclass(frozen=True)
class LockRetry:
    number: int
    attempt: int  # the attempt that just failed
    attempts: int  # the most that will be made
    wait_s: float
    message: str


@dataclass(frozen=True)
class IndexProgress:
    number: int
    index: str | None
    table: str | None
    phase: str
    blocks_done: int
    blocks_total: int
    tuples_done: int
    tuples_total: int
    lockers_done: int
    lockers_total: int
    current_locker_pid: int

    @property
    def fraction(self) -> float | None:
        if self.blocks_total:
            return min(1.0, self.blocks_done / self.blocks_total)
        if self.tuples_total:
            return min(1.0, self.tuples_done / self.tuples_total)
        return None


@dataclass(frozen=True)
class InvalidIndex:
    """An INVALID index: found before a build (and dropped), or left after a failure."""

    index: str
    table: str | None
    action: str  # "dropping", "dropped", "left"
    number: int | None = None


@dataclass(frozen=True)
class Waiting:
    """The migration's statement waits; ``reason`` says for whom and why."""

    number: int
    reason: str
    blockers: tuple[int, ...]  # pids it waits for directly
    phase: str | None = None  # the CREATE INDEX phase when there is one


@dataclass(frozen=True)
class TransactionRolledBack:
    reason: str


@dataclass(frozen=True)
class CancelRequested:
    pid: int


@dataclass
class StatementResult:
    number: int
    line: int
    sql: str
    status: str = "not run"  # "succeeded", "failed", "cancelled", "rolled back", "not run"
    duration_s: float = 0.0
    attempts: int = 0


@dataclass
class RunResult:
    migration: str
    action: str
    status: str  # "succeeded", "failed", "cancelled"
    started_at: datetime
    finished_at: datetime
    statements: list[StatementResult] = field(default_factory=list)
    error: str | None = None
    sqlstate: str | None = None
    invalid_indexes: list[str] = field(default_factory=list)
    actions: list[dict[str, object]] = field(default_factory=list)  # sessions acted on

    @property
    def duration_s(self) -> float:
        return (self.finished_at - self.started_at).total_seconds()


@dataclass(frozen=True)
class RunFinished:
    result: RunResult


Event = (
    RunStarted
    | StatementStarted
    | StatementFinished
    | StatementFailed
    | ServerNotice
    | LockRetry
    | IndexProgress
    | InvalidIndex
    | Waiting
    | TransactionRolledBack
    | CancelRequested
    | RunFinished
)
