"""Running a migration section: locks, timeouts, retries, progress, cancel, invalid indexes.

``MigrationRunner`` owns three connections, each with one job:

* the run lock session (``lock``): holds a session-level advisory lock and never
  opens a transaction;
* the migration's own session (``run``): executes the statements;
* the monitor session (``monitor``): polls ``pg_stat_progress_create_index``,
  checks for INVALID indexes and cancels the run's statement on request; each
  of its queries is a single autocommit statement, so it never holds a snapshot
  that a ``CREATE INDEX CONCURRENTLY`` would wait for.

Use it as ``async with MigrationRunner(...) as runner: result = await runner.execute(emit)``.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

import asyncpg

from console.core import events as ev
from console.core import waits
from console.core.errors import BadInput, LockHeld
from console.core.model import Migration, SectionPlan, StatementPlan
from console.core.plan import plan_section
from console.core.preflight import preflight
from console.core.settings import ConnectionSettings
from console.db import catalog, runlock
from console.db.catalog import IndexState
from console.db.connect import LOCK, MONITOR, RUN, close_quietly, connect

Emit = Callable[[ev.Event], None]
Recorder = Callable[[ev.RunResult], None]

LOCK_NOT_AVAILABLE = "55P03"
DEADLOCK = "40P01"
QUERY_CANCELED = "57014"
RETRYABLE = {LOCK_NOT_AVAILABLE, DEADLOCK}
ACTIONS = {"run": "up", "rollback": "down"}


@dataclass(frozen=True)
class RunOptions:
    """Timeouts and retries. Defaults are documented in the README."""

    lock_timeout_s: float = 5.0  # how long one statement may wait for a lock
    lock_retries: int = 5  # extra attempts after a lock timeout or deadlock
    backoff_s: float = 2.0  # first pause between attempts, doubled each time
    backoff_max_s: float = 30.0
    statement_timeout_s: float = 0.0  # 0 = no limit (index builds can take hours)
    progress_interval_s: float = 0.5

    @property
    def attempts(self) -> int:
        return 1 + max(0, self.lock_retries)

    def backoff(self, attempt: int) -> float:
        return float(min(self.backoff_s * 2 ** (attempt - 1), self.backoff_max_s))


class _Cancelled(Exception):
    pass


class StatementError(Exception):
    def __init__(self, message: str, sqlstate: str | None):
        super().__init__(message)
        self.message = message
        self.sqlstate = sqlstate


def _ms(seconds: float) -> str:
    return f"{int(seconds * 1000)}ms"


def _now() -> datetime:
    return datetime.now(UTC)


class MigrationRunner:
    def __init__(
        self,
        settings: ConnectionSettings,
        migration: Migration,
        action: str = "run",
        options: RunOptions | None = None,
        *,
        recorder: Recorder | None = None,
    ):
        if action not in ACTIONS:
            raise ValueError(action)
        section = migration.section(ACTIONS[action])
        if section is None or not section.statements:
            raise BadInput(
                f"{migration.path} has no statements in its "
                f"`-- migrate:{ACTIONS[action]}` section.",
                "Add them to the file, or pick another migration.",
            )
        self.settings = settings
        self.migration = migration
        self.action = action
        self.options = options or RunOptions()
        self.plan: SectionPlan = plan_section(section)
        self.recorder = recorder
        self.server: catalog.ServerInfo | None = None
        self._lock_conn: asyncpg.Connection | None = None
        self._run: asyncpg.Connection | None = None
        self._mon: asyncpg.Connection | None = None
        self._locked = False
        self._cancel = asyncio.Event()
        self._current: int | None = None
        self._actions: list[dict[str, object]] = []
        self._wait_key: tuple[object, ...] | None = None
        self._emit: Emit = lambda _e: None

    # -- lifecycle -----------------------------------------------------------------

    async def __aenter__(self) -> MigrationRunner:
        try:
            await self.open()
        except BaseException:
            await self.close()
            raise
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def open(self) -> None:
        """Take the run lock (or refuse at once), connect, and check the database."""
        name = self.migration.name
        self._lock_conn = await connect(self.settings, LOCK, name)
        self._locked = await runlock.try_acquire(self._lock_conn, name)
        if not self._locked:
            holder = await runlock.holder(self._lock_conn, name)
            who = (
                f"pid {holder.pid} ({holder.application_name or 'no application name'}, "
                f"role {holder.role}, from {holder.client}, since "
                f"{holder.since.astimezone(UTC):%Y-%m-%d %H:%M:%S} UTC)"
                if holder
                else "another session"
            )
            raise LockHeld(
                f"Migration {name} is already being run or rolled back by {who}.",
                "Wait for it to finish, or watch it with `migration-console blockers`.",
            )
        self._mon = await connect(self.settings, MONITOR, name)
        self.server = await preflight(self._mon, self.plan)
        await waits.analyse(self._mon, None)  # prepare the wait queries before they matter
        self._run = await connect(self.settings, RUN, name)
        await self._run.execute(
            "SELECT set_config('lock_timeout', $1, false), "
            "set_config('statement_timeout', $2, false)",
            _ms(self.options.lock_timeout_s),
            _ms(self.options.statement_timeout_s),
        )
        self._run.add_log_listener(self._on_notice)

    async def close(self) -> None:
        for conn in (self._run, self._mon):
            await close_quietly(conn)
        if self._locked and self._lock_conn is not None and not self._lock_conn.is_closed():
            try:
                await asyncio.wait_for(runlock.release(self._lock_conn, self.migration.name), 5)
            except Exception:  # noqa: BLE001 - closing the session releases it anyway
                pass
        await close_quietly(self._lock_conn)

    @property
    def run_pid(self) -> int:
        assert self._run is not None
        return int(self._run.get_server_pid())

    def record_action(self, action: dict[str, object]) -> None:
        """An operator's action on another session during this run (kept in its history)."""
        self._actions.append(action)

    def request_cancel(self) -> None:
        """Ask the running statement to stop; the server cancels it, the run ends cancelled."""
        self._cancel.set()

    # -- the run -------------------------------------------------------------------

    async def execute(self, emit: Emit) -> ev.RunResult:
        assert self._run is not None, "open() first"
        assert self._mon is not None, "open() first"
        self._emit = emit
        started = _now()
        results = [
            ev.StatementResult(p.statement.number, p.statement.line, p.statement.first_line)
            for p in self.plan.statements
        ]
        emit(
            ev.RunStarted(
                self.migration.name,
                self.action,
                self.plan.section.name,
                len(results),
                self.plan.in_transaction,
                self.plan.reason,
                self.settings.display,
                self.run_pid,
                started,
            )
        )
        status, error, sqlstate = "succeeded", None, None
        try:
            if self.plan.in_transaction:
                await self._run_transaction(results)
            else:
                for sp, res in zip(self.plan.statements, results, strict=True):
                    await self._run_autocommit(sp, res)
        except _Cancelled:
            status, error, sqlstate = "cancelled", "cancelled by the operator", QUERY_CANCELED
        except StatementError as exc:
            status, error, sqlstate = "failed", exc.message, exc.sqlstate
        except asyncpg.PostgresError as exc:
            status, error, sqlstate = "failed", self._describe(exc, 0), exc.sqlstate
        except (asyncpg.InterfaceError, OSError) as exc:
            status, sqlstate = "failed", None
            error = (
                f"Lost the connection to the server during statement {self._current or '?'} "
                f"({self.settings.redact(str(exc))}). Check what took effect with "
                "`migration-console verify` before running again."
            )
        except asyncio.CancelledError:
            # The caller cancelled us outright (e.g. the app is quitting): stop the
            # server-side statement, record the run, then let the cancellation through.
            await asyncio.shield(self._hard_cancel(results, started))
            raise
        return await self._finish(status, error, sqlstate, results, started)

    async def _finish(
        self,
        status: str,
        error: str | None,
        sqlstate: str | None,
        results: list[ev.StatementResult],
        started: datetime,
    ) -> ev.RunResult:
        """The run's result, with any INVALID index left: announced, then recorded."""
        result = ev.RunResult(
            self.migration.name,
            self.action,
            status,
            started,
            _now(),
            results,
            self.settings.redact(error) if error else None,
            sqlstate,
            await self._invalid_left(),
            list(self._actions),
        )
        self._emit(ev.RunFinished(result))
        if self.recorder is not None:
            self.recorder(result)
        return result

    async def _hard_cancel(self, results: list[ev.StatementResult], started: datetime) -> None:
        try:
            if self._mon is not None and self._current is not None:
                await catalog.cancel_backend(self._mon, self.run_pid)
        except Exception:  # noqa: BLE001 - best effort while shutting down
            pass
        for res in results:
            if res.status == "running":
                res.status = "cancelled"
        await self._finish(
            "cancelled",
            "cancelled: the console was stopped during the run",
            QUERY_CANCELED,
            results,
            started,
        )

    async def _run_autocommit(self, sp: StatementPlan, res: ev.StatementResult) -> None:
        attempts = self.options.attempts
        for attempt in range(1, attempts + 1):
            res.attempts, res.status = attempt, "running"
            self._emit(ev.StatementStarted(res.number, res.line, sp.statement.sql, attempt))
            t0 = time.monotonic()
            try:
                await self._drop_invalid_leftover(sp)
                tag = await self._exec(sp.statement.sql, res.number)
            except asyncpg.PostgresError as exc:
                res.duration_s = time.monotonic() - t0
                res.status = "failed"
                self._emit(
                    ev.StatementFailed(res.number, res.duration_s, exc.sqlstate, self._msg(exc))
                )
                if exc.sqlstate in RETRYABLE and attempt < attempts and not self._cancel.is_set():
                    await self._retry_pause(res.number, attempt, exc)
                    continue
                await self._report_invalid(sp, res.number)
                raise StatementError(self._describe(exc, res.line), exc.sqlstate) from None
            except _Cancelled:
                res.duration_s, res.status = time.monotonic() - t0, "cancelled"
                await self._report_invalid(sp, res.number)
                raise
            res.duration_s, res.status = time.monotonic() - t0, "succeeded"
            self._emit(ev.StatementFinished(res.number, res.duration_s, tag))
            return

    async def _run_transaction(self, results: list[ev.StatementResult]) -> None:
        assert self._run is not None
        for sp in self.plan.statements:
            await self._drop_invalid_leftover(sp)
        attempts = self.options.attempts
        for attempt in range(1, attempts + 1):
            tr = self._run.transaction()
            await tr.start()
            res = results[0]
            try:
                for sp, res in zip(self.plan.statements, results, strict=True):
                    res.attempts, res.status = attempt, "running"
                    self._emit(ev.StatementStarted(res.number, res.line, sp.statement.sql, attempt))
                    t0 = time.monotonic()
                    try:
                        tag = await self._exec(sp.statement.sql, res.number)
                    finally:
                        res.duration_s = time.monotonic() - t0
                    res.status = "succeeded"
                    self._emit(ev.StatementFinished(res.number, res.duration_s, tag))
                await tr.commit()
                return
            except (asyncpg.PostgresError, _Cancelled) as exc:
                await self._rollback(tr)
                for other in results:
                    if other.status in ("succeeded", "running"):
                        other.status = "rolled back"
                res.status = "cancelled" if isinstance(exc, _Cancelled) else "failed"
                if isinstance(exc, _Cancelled):
                    self._emit(
                        ev.TransactionRolledBack("cancelled: nothing in the section took effect")
                    )
                    raise
                self._emit(
                    ev.StatementFailed(res.number, res.duration_s, exc.sqlstate, self._msg(exc))
                )
                self._emit(ev.TransactionRolledBack("the transaction was rolled back whole"))
                if exc.sqlstate in RETRYABLE and attempt < attempts and not self._cancel.is_set():
                    await self._retry_pause(res.number, attempt, exc)
                    continue
                raise StatementError(
                    self._describe(exc, res.line)
                    + " The transaction was rolled back: nothing changed.",
                    exc.sqlstate,
                ) from None

    async def _rollback(self, tr: asyncpg.transaction.Transaction) -> None:
        try:
            await tr.rollback()
        except Exception:  # noqa: BLE001 - the connection may be gone; the server rolls back
            pass

    async def _exec(self, sql: str, number: int) -> str:
        """Run one statement on the run session while polling progress and watching for cancel."""
        assert self._run is not None
        assert self._mon is not None
        if self._cancel.is_set():
            raise _Cancelled()
        self._current = number
        self._wait_key = None
        task = asyncio.ensure_future(self._run.execute(sql))
        cancel_wait = asyncio.ensure_future(self._cancel.wait())
        cancel_sent = False
        try:
            while not task.done():
                await asyncio.wait(
                    {task, cancel_wait},
                    timeout=self.options.progress_interval_s,
                    return_when=asyncio.FIRST_COMPLETED,
                )
                if task.done():
                    break
                if self._cancel.is_set() and not cancel_sent:
                    cancel_sent = True
                    self._emit(ev.CancelRequested(self.run_pid))
                    await catalog.cancel_backend(self._mon, self.run_pid)
                    continue
                await self._poll_progress(number)
            try:
                return str(task.result())
            except asyncpg.QueryCanceledError:
                if self._cancel.is_set():
                    raise _Cancelled() from None
                raise
        except asyncio.CancelledError:
            if not task.done():
                await asyncio.shield(self._stop_task(task))
            raise
        finally:
            cancel_wait.cancel()
            self._current = None

    async def _stop_task(self, task: asyncio.Future[str]) -> None:
        try:
            if self._mon is not None:
                await catalog.cancel_backend(self._mon, self.run_pid)
            await asyncio.wait_for(asyncio.shield(task), 10)
        except BaseException:  # noqa: BLE001 - the statement's own error is expected here
            pass

    async def _poll_progress(self, number: int) -> None:
        """One monitor refresh (about 1 ms of server time): the build's progress, and,
        once and again whenever it changes, what the statement is waiting for."""
        assert self._mon is not None
        try:
            report = await waits.analyse(self._mon, self.run_pid)
        except (asyncpg.PostgresError, OSError):
            return
        p = report.progress
        if p is not None:
            self._emit(
                ev.IndexProgress(
                    number, p.index, p.table, p.phase, p.blocks_done, p.blocks_total,
                    p.tuples_done, p.tuples_total, p.lockers_done, p.lockers_total,
                    p.current_locker_pid,
                )
            )  # fmt: skip
        blockers = tuple(sorted(n.session.pid for n in report.tree if n.depth == -1))
        phase = p.phase if p else None
        waiting = bool(blockers) or bool(phase and phase.startswith(waits.CIC_WAIT_PHASES))
        key = (blockers, phase) if waiting else None
        if key != self._wait_key:
            self._wait_key = key
            if waiting:
                self._emit(ev.Waiting(number, self.settings.redact(report.reason), blockers, phase))

    async def _retry_pause(self, number: int, attempt: int, exc: asyncpg.PostgresError) -> None:
        wait = self.options.backoff(attempt)
        self._emit(ev.LockRetry(number, attempt, self.options.attempts, wait, self._msg(exc)))
        try:
            await asyncio.wait_for(self._cancel.wait(), timeout=wait)
        except TimeoutError:
            return
        raise _Cancelled()

    # -- invalid indexes -------------------------------------------------------------

    def _index_name(self, sp: StatementPlan) -> str | None:
        if sp.index is None:
            return None
        return sp.index.lookup_name

    async def _drop_invalid_leftover(self, sp: StatementPlan) -> None:
        """An INVALID index of the same name would make IF NOT EXISTS skip silently: drop it."""
        name = self._index_name(sp)
        if name is None:
            return
        assert self._run is not None
        assert self._mon is not None
        (state,) = await catalog.indexes(self._mon, [name])
        if not state.invalid:
            return
        if state.building_pid is not None and state.building_pid != self.run_pid:
            raise StatementError(
                f"Index {state.qualified} is being built right now "
                f"by session {state.building_pid}.",
                None,
            )
        self._emit(
            ev.InvalidIndex(state.qualified or name, state.table, "dropping", sp.statement.number)
        )
        drop = await catalog.drop_index_statement(self._mon, state.qualified or name)
        await self._exec(drop, sp.statement.number)
        self._emit(
            ev.InvalidIndex(state.qualified or name, state.table, "dropped", sp.statement.number)
        )

    async def _invalid(self, plans: tuple[StatementPlan, ...]) -> list[IndexState]:
        """INVALID indexes among those the statements build or drop (none if unreachable)."""
        names = [n for sp in plans for n in (self._index_name(sp), sp.drops_index) if n]
        if not names or self._mon is None or self._mon.is_closed():
            return []
        try:
            states = await catalog.indexes(self._mon, names)
        except (asyncpg.PostgresError, OSError):
            return []
        return [s for s in states if s.invalid]

    async def _report_invalid(self, sp: StatementPlan, number: int) -> None:
        for s in await self._invalid((sp,)):
            self._emit(ev.InvalidIndex(s.qualified or s.name, s.table, "left", number))

    async def _invalid_left(self) -> list[str]:
        return sorted({s.qualified or s.name for s in await self._invalid(self.plan.statements)})

    # -- text --------------------------------------------------------------------------

    def _on_notice(self, _conn: object, message: object) -> None:
        severity = str(getattr(message, "severity", "NOTICE"))
        text = self.settings.redact(str(getattr(message, "message", message)))
        self._emit(ev.ServerNotice(severity, text, self._current))

    def _msg(self, exc: asyncpg.PostgresError) -> str:
        return self.settings.redact(str(getattr(exc, "message", None) or exc))

    def _describe(self, exc: asyncpg.PostgresError, line: int) -> str:
        where = f"{self.migration.path.name}:{line}"
        text = f"{where}: {self._msg(exc)} (SQLSTATE {exc.sqlstate})."
        if exc.sqlstate in RETRYABLE:
            text += (
                f" It kept waiting for a lock after {self.options.attempts} attempts;"
                " see who holds it with `migration-console blockers`."
            )
        return text
