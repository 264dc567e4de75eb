"""What a run reports while it happens: small frozen structs, in order.

The runner process writes them to its event log as JSON lines (``encode``);
the faces read them back (``decode``): the CLI prints them, the TUI turns them
into lines on its Run panel. Nothing here knows either face.

The events are msgspec structs: msgspec writes and reads the lines, typed (a
datetime comes back a datetime, a run's result a RunResult). A long log reads back
forty times faster than with json and a walk of the type hints (``attach``, the
TUI's catch-up: ``bench/bench_events.py``), and a struct class costs a fifteenth of
a frozen dataclass to create, which a run's runner does as it starts. A run's result
stays a dataclass: history.toml's records are made of it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import msgspec

# How a statement waits: for a table lock it has to take ("lock"), or, as a
# concurrent statement, for other transactions to end ("transactions").
LOCK_WAIT, TRANSACTIONS_WAIT = "lock", "transactions"


class _Event(msgspec.Struct, frozen=True, tag=True, tag_field="event"):
    """An event's line names its class: {"event": "Waiting", ...its fields}. Each event
    says frozen=True again for the type checkers; msgspec would inherit it."""


class RunStarted(_Event, frozen=True):
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


class RunRefused(_Event, frozen=True):
    """The runner could not start the run (lock held, preflight, connection); nothing ran."""

    message: str
    hint: str
    exit_code: int


class StatementStarted(_Event, frozen=True):
    number: int
    line: int
    sql: str
    attempt: int = 1


class StatementSkipped(_Event, frozen=True):
    number: int
    reason: str


class StatementFinished(_Event, frozen=True):
    number: int
    duration_s: float
    status: str  # the server's command tag, e.g. "CREATE INDEX"


class StatementFailed(_Event, frozen=True):
    number: int
    duration_s: float
    sqlstate: str | None
    message: str


class ServerNotice(_Event, frozen=True):
    severity: str
    message: str
    number: int | None  # statement running when it arrived


class LockRetry(_Event, frozen=True):
    number: int
    attempt: int  # the attempt that just failed
    attempts: int  # the most that will be made
    wait_s: float
    message: str
    blockers: tuple[int, ...] = ()  # who blocked the attempt: the pause ends when they let go


class RetryNow(_Event, frozen=True):
    """The sessions that blocked the last attempt let go: the pause ends early."""

    number: int
    blockers: tuple[int, ...]


class IndexProgress(_Event, frozen=True):
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


class InvalidIndex(_Event, frozen=True):
    """An INVALID index: found before a build (and dropped), or left after a failure."""

    index: str
    table: str | None
    action: str  # "dropping", "dropped", "left", "building" (another session builds it now)
    number: int | None = None


class Waiting(_Event, frozen=True):
    """The migration's statement waits; ``reason`` says for whom and why."""

    number: int
    reason: str
    blockers: tuple[int, ...]  # pids it waits for directly
    phase: str | None = None  # the CREATE INDEX phase when there is one
    kind: str = LOCK_WAIT  # LOCK_WAIT or TRANSACTIONS_WAIT
    waited_s: float = 0.0  # how long it has waited so far


class WaitEnded(_Event, frozen=True):
    """A wait is over: for how long, and for whom (also for waits shorter than a poll)."""

    number: int
    waited_s: float
    kind: str
    who: str  # "pid 123 (psql, ...)" or "" when nobody was seen


class MaxWaitReached(_Event, frozen=True):
    """A concurrent statement has waited --max-wait for other transactions."""

    number: int
    waited_s: float
    holder_pid: int | None
    holder: str  # the holder, described
    asking: bool  # True: a face asks the operator; False: the run gives up the build


class Decision(_Event, frozen=True):
    """An operator's answer, received by the runner (keep waiting, give up, cancel)."""

    what: str
    by: str


class HelperSession(_Event, frozen=True):
    """A helper session (monitor, run lock) was lost, reconnected, or its lock taken."""

    role: str  # "monitor" or "lock"
    state: str  # "lost", "reconnected", "retaken", "taken"
    detail: str = ""


class TransactionRolledBack(_Event, frozen=True):
    reason: str


class CancelRequested(_Event, frozen=True):
    pid: int


class RecordProblem(_Event, frozen=True):
    """history.toml could not be written; ``fallback`` names where the record went."""

    message: str
    fallback: str = ""


class RunnerLost(_Event, frozen=True):
    """A face's view: the runner process ended without recording an outcome."""

    runner_pid: int
    log: str


class RemoteEnded(_Event, frozen=True):
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


class RunFinished(_Event, frozen=True):
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

_ENCODER = msgspec.json.Encoder()
_decoder: msgspec.json.Decoder[Any] | None = None  # made at the first line read


def encode(event: Event) -> str:
    """One JSON line: {"event": "Waiting", ...fields}. A path or a message that holds
    bytes that are not UTF-8 (a folder's name, say) is written with U+FFFD for them."""
    try:
        return _ENCODER.encode(event).decode()
    except UnicodeEncodeError:  # a lone surrogate: no JSON reader takes it
        import json

        text = json.dumps(msgspec.to_builtins(event), ensure_ascii=False)
        try:
            return text.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
        except UnicodeEncodeError:  # a surrogate no system decoding makes
            return text.encode("utf-8", "replace").decode("utf-8")


def decode(line: str | bytes) -> Event | None:
    """The event a line holds; None for a line that is not one (torn, or from a newer
    console). Fields a newer console added are left out."""
    global _decoder
    if _decoder is None:
        _decoder = msgspec.json.Decoder(Event)
    try:
        return _decoder.decode(line)
    except msgspec.DecodeError:  # its ValidationError too: no such event, a wrong field
        return None
