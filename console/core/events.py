"""What a run reports while it happens: small frozen dataclasses, in order.

The runner process writes them to its event log as JSON lines (``encode``);
the faces read them back (``decode``): the CLI prints them, the TUI turns them
into lines on its Run panel. Nothing here knows either face.
"""

from __future__ import annotations

import dataclasses
import json
import typing
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

# How a statement waits: for a table lock it has to take ("lock"), or, as a
# concurrent statement, for other transactions to end ("transactions").
LOCK_WAIT, TRANSACTIONS_WAIT = "lock", "transactions"


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
    run_id: str = ""
    runner_pid: int = 0  # the runner process
    host: str = ""
    log: str = ""  # the event log's path
    runner_started: int = 0  # when the runner process started (tells it from a reused pid)


@dataclass(frozen=True)
class RunRefused:
    """The runner could not start the run (lock held, preflight, connection); nothing ran."""

    message: str
    hint: str
    exit_code: int


@dataclass(frozen=True)
class StatementStarted:
    number: int
    line: int
    sql: str
    attempt: int = 1


@dataclass(frozen=True)
class StatementSkipped:
    number: int
    reason: str


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
    blockers: tuple[int, ...] = ()  # who blocked the attempt: the pause ends when they let go


@dataclass(frozen=True)
class RetryNow:
    """The sessions that blocked the last attempt let go: the pause ends early."""

    number: int
    blockers: tuple[int, ...]


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

    @property
    def waiting(self) -> bool:
        """A phase that waits for other transactions, where a percentage means nothing."""
        return self.phase.startswith("waiting")


@dataclass(frozen=True)
class InvalidIndex:
    """An INVALID index: found before a build (and dropped), or left after a failure."""

    index: str
    table: str | None
    action: str  # "dropping", "dropped", "left", "building" (another session builds it now)
    number: int | None = None


@dataclass(frozen=True)
class Waiting:
    """The migration's statement waits; ``reason`` says for whom and why."""

    number: int
    reason: str
    blockers: tuple[int, ...]  # pids it waits for directly
    phase: str | None = None  # the CREATE INDEX phase when there is one
    kind: str = LOCK_WAIT  # LOCK_WAIT or TRANSACTIONS_WAIT
    waited_s: float = 0.0  # how long it has waited so far


@dataclass(frozen=True)
class WaitEnded:
    """A wait is over: for how long, and for whom (also for waits shorter than a poll)."""

    number: int
    waited_s: float
    kind: str
    who: str  # "pid 123 (psql, ...)" or "" when nobody was seen


@dataclass(frozen=True)
class MaxWaitReached:
    """A concurrent statement has waited --max-wait for other transactions."""

    number: int
    waited_s: float
    holder_pid: int | None
    holder: str  # the holder, described
    asking: bool  # True: a face asks the operator; False: the run gives up the build


@dataclass(frozen=True)
class Decision:
    """An operator's answer, received by the runner (keep waiting, give up, cancel)."""

    what: str
    by: str


@dataclass(frozen=True)
class HelperSession:
    """A helper session (monitor, run lock) was lost, reconnected, or its lock taken."""

    role: str  # "monitor" or "lock"
    state: str  # "lost", "reconnected", "retaken", "taken"
    detail: str = ""


@dataclass(frozen=True)
class TransactionRolledBack:
    reason: str


@dataclass(frozen=True)
class CancelRequested:
    pid: int


@dataclass(frozen=True)
class RecordProblem:
    """history.toml could not be written; ``fallback`` names where the record went."""

    message: str
    fallback: str = ""


@dataclass(frozen=True)
class RunnerLost:
    """A face's view: the runner process ended without recording an outcome."""

    runner_pid: int
    log: str


@dataclass(frozen=True)
class RemoteEnded:
    """A face's view of a run on another machine, followed from the database: it ended
    (its run lock was released); ``state`` is what the database shows now."""

    migration: str
    state: str  # e.g. "applied", "pending", "invalid index"
    ok: bool  # what the action meant to reach
    detail: str = ""


@dataclass
class StatementResult:
    number: int
    line: int
    sql: str
    # "succeeded", "failed", "cancelled", "rolled back", "skipped", "running", "not run"
    status: str = "not run"
    duration_s: float = 0.0
    attempts: int = 0


@dataclass
class RunResult:
    migration: str
    action: str
    status: str  # an Outcome: succeeded, failed, cancelled (interrupted when recovered)
    started_at: datetime
    finished_at: datetime
    statements: list[StatementResult] = field(default_factory=list)
    error: str | None = None
    sqlstate: str | None = None
    invalid_indexes: list[str] = field(default_factory=list)
    actions: list[dict[str, object]] = field(default_factory=list)  # sessions acted on
    run_id: str = ""

    @property
    def duration_s(self) -> float:
        return (self.finished_at - self.started_at).total_seconds()


@dataclass(frozen=True)
class RunFinished:
    result: RunResult


Event = (
    RunStarted
    | RunRefused
    | StatementStarted
    | StatementSkipped
    | StatementFinished
    | StatementFailed
    | ServerNotice
    | LockRetry
    | RetryNow
    | IndexProgress
    | InvalidIndex
    | Waiting
    | WaitEnded
    | MaxWaitReached
    | Decision
    | HelperSession
    | TransactionRolledBack
    | CancelRequested
    | RecordProblem
    | RunnerLost
    | RemoteEnded
    | RunFinished
)
TERMINAL = (RunFinished, RunRefused, RunnerLost, RemoteEnded)  # nothing follows these

# -- the event log's JSON lines ------------------------------------------------------------

_CLASSES: dict[str, type[Any]] = {c.__name__: c for c in typing.get_args(Event)}


def encode(event: Event) -> str:
    """One JSON line: {"event": "Waiting", ...fields}."""
    return json.dumps({"event": type(event).__name__, **dataclasses.asdict(event)}, default=_json)


def decode(line: str) -> Event | None:
    """The event a line holds; None for a line that is not one (torn, or from a newer console)."""
    try:
        data = json.loads(line)
        cls = _CLASSES[data.pop("event")]
        return typing.cast(Event, _build(cls, data))
    except (ValueError, KeyError, TypeError, AttributeError):
        return None


def _json(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    raise TypeError(type(value).__name__)


def _build(cls: type[Any], data: dict[str, Any]) -> Any:
    hints = typing.get_type_hints(cls)
    known = {f.name for f in dataclasses.fields(cls)}
    kwargs: dict[str, Any] = {}
    for name, value in data.items():
        if name not in known:
            continue  # a field a newer console wrote
        hint = hints[name]
        if hint is datetime:
            value = datetime.fromisoformat(value)
        elif hint is RunResult:
            value = _build(RunResult, value)
        elif typing.get_origin(hint) is tuple:
            value = tuple(value)
        elif name == "statements" and cls is RunResult:
            value = [_build(StatementResult, s) for s in value]
        kwargs[name] = value
    return cls(**kwargs)
