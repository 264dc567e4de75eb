"""The wait policy for one statement, applied to what each monitor poll sees.

docs/lock-policy.md is the rule; this is the code that follows it:

* a concurrent statement (``CREATE INDEX CONCURRENTLY``, ``REINDEX … CONCURRENTLY``,
  ``DROP INDEX CONCURRENTLY``, ``DETACH PARTITION … CONCURRENTLY``) runs with
  ``lock_timeout = 0``; while it waits to take its table lock, the console bounds
  that wait itself (``LOCK_TIMEOUT``: cancel, nothing is built yet); while it waits
  for other transactions it is never cancelled by a timeout, only reported, and
  after ``max_wait`` the operator is asked, or the run gives up (``GIVE_UP``);
* any other statement keeps the server's own ``lock_timeout``: its waits are
  reported, the server ends them.

Every wait is reported when it starts, when whom it waits for changes, every
``REMIND_S`` while it lasts, and when it ends (``WaitEnded``, with how long).
Pure logic: the runner feeds it reports and carries out its verdicts.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from console.core import events as ev
from console.core import waits
from console.core.run.options import ASK, REMIND_S, RunOptions

Emit = Callable[[ev.Event], None]
LOCK_TIMEOUT, GIVE_UP = "lock timeout", "give up"


@dataclass(frozen=True)
class Block:
    """Who blocked an attempt, and on what: the retry pause ends when they let go."""

    pids: tuple[int, ...]
    relation_oid: int | None  # the table it waited to lock (None: it waited for a transaction)
    relation: str | None
    mode: str  # the lock mode it wanted, as pg_locks writes it


@dataclass
class _Episode:
    kind: str
    started: float
    last_said: float
    key: tuple[object, ...]
    who: str
    asked: bool = False


class WaitPolicy:
    def __init__(
        self,
        number: int,
        concurrent: bool,
        options: RunOptions,
        on_max_wait: str,
        emit: Emit,
        redact: Callable[[str], str] = str,
    ):
        self.number = number
        self.concurrent = concurrent
        self.options = options
        self.on_max_wait = on_max_wait
        self.emit = emit
        self.redact = redact
        self.block: Block | None = None  # the latest table-lock wait with its blockers
        self._episode: _Episode | None = None

    @property
    def waiting(self) -> str | None:
        """The kind of the wait going on, if any."""
        return self._episode.kind if self._episode else None

    def observe(self, report: waits.WaitReport, now: float) -> str | None:
        """One poll's view; returns LOCK_TIMEOUT or GIVE_UP when the statement must stop."""
        wait, progress = report.wait, report.progress
        cic_wait = progress is not None and progress.phase.startswith(waits.CIC_WAIT_PHASES)
        if wait is None and not cic_wait:
            self.finish(now)
            return None
        transactions = self.concurrent and (wait is None or wait.for_transactions)
        kind = ev.TRANSACTIONS_WAIT if transactions else ev.LOCK_WAIT
        blockers = report.direct_blockers
        if wait is not None and not wait.for_transactions and blockers:
            self.block = Block(blockers, wait.relation_oid, wait.relation, wait.mode)
        who = self.redact(_who(report))
        phase = progress.phase if progress else None
        locker = progress.current_locker_pid if progress else 0
        key = (kind, blockers, phase, locker)
        episode = self._episode
        if episode is None or episode.kind != kind:
            self.finish(now)
            waited = wait.waited_s if wait is not None and wait.waited_s is not None else 0.0
            episode = self._episode = _Episode(kind, now - waited, -REMIND_S, (), who)
        if who:
            episode.who = who
        if key != episode.key or now - episode.last_said >= REMIND_S:
            episode.key, episode.last_said = key, now
            self.emit(
                ev.Waiting(
                    self.number,
                    self.redact(report.reason),
                    blockers,
                    phase,
                    kind,
                    round(now - episode.started, 3),
                )
            )
        return self._verdict(episode, now)

    def _verdict(self, episode: _Episode, now: float) -> str | None:
        waited = now - episode.started
        if not self.concurrent:
            return None  # the server's lock_timeout bounds it
        if episode.kind == ev.LOCK_WAIT:
            return LOCK_TIMEOUT if waited >= self.options.lock_timeout_s else None
        limit = self.options.max_wait_s
        if limit is None or waited < limit or episode.asked:
            return None
        episode.asked = True
        asking = self.on_max_wait == ASK
        holder = self.block.pids[0] if self.block and self.block.pids else None
        pid = _first_pid(episode.key) or holder
        self.emit(ev.MaxWaitReached(self.number, round(waited, 3), pid, episode.who, asking))
        return None if asking else GIVE_UP

    def next_poll_in(self, now: float) -> float | None:
        """Time left to the lock-timeout deadline of a table-lock wait, to poll right then."""
        episode = self._episode
        if episode is None or not self.concurrent or episode.kind != ev.LOCK_WAIT:
            return None
        return max(0.0, episode.started + self.options.lock_timeout_s - now)

    def keep_waiting(self, now: float) -> None:
        """The operator chose to keep waiting: ask again after another max_wait."""
        if self._episode is not None:
            self._episode.started = now
            self._episode.asked = False

    def waited(self, now: float) -> float:
        return 0.0 if self._episode is None else now - self._episode.started

    @property
    def who(self) -> str:
        return self._episode.who if self._episode else ""

    def finish(self, now: float) -> None:
        """The wait (if any) is over: say for how long and for whom."""
        episode, self._episode = self._episode, None
        if episode is not None:
            waited = round(now - episode.started, 3)
            self.emit(ev.WaitEnded(self.number, waited, episode.kind, episode.who))


def _who(report: waits.WaitReport) -> str:
    """The session the root waits for now, described (pid, application, state, query)."""
    p = report.progress
    pids = [p.current_locker_pid] if p and p.current_locker_pid else []
    pids += list(report.direct_blockers)
    by_pid = {s.pid: s for s in report.sessions}
    for pid in pids:
        if pid in by_pid:
            return waits.describe(by_pid[pid])
    return f"pid {pids[0]}" if pids else ""


def _first_pid(key: tuple[object, ...]) -> int | None:
    _kind, blockers, _phase, locker = key
    if isinstance(locker, int) and locker:
        return locker
    if isinstance(blockers, tuple) and blockers:
        return int(blockers[0])
    return None
