"""Running a migration section: the lock policy, retries, progress, cancel, invalid indexes.

``MigrationRunner`` owns three connections, each with one job:

* the run lock (``keeper.RunLock``): a session-level advisory lock on an idle
  session that also listens for messages to the run; taken again if lost;
* the migration's own session (``run``): executes the statements;
* the monitor (``watch.Watch``): polls progress and waits, bounds table-lock
  waits of concurrent statements, cancels on request; reconnects when lost.

Use ``execute.execute_run`` (open, execute, close, events to sinks), or
``async with MigrationRunner(...) as runner: result = await runner.execute(emit)``.
"""

from __future__ import annotations

import asyncio
import os
import socket
import time
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime

import asyncpg

from console.core import events as ev
from console.core import waits
from console.core.durations import duration, pg_ms
from console.core.locks import lock_mode
from console.core.model import Migration, SectionPlan, StatementPlan
from console.core.plan import plan_section
from console.core.preflight import preflight
from console.core.run import invalid
from console.core.run.keeper import RunLock
from console.core.run.options import FAIL, RunOptions
from console.core.run.pids import process_start
from console.core.run.policy import GIVE_UP, LOCK_TIMEOUT, WaitPolicy
from console.core.run.retry import Cancelled, Failed, Lost, retrying
from console.core.run.watch import LOST, Watch, is_disconnect
from console.db import activity, catalog
from console.db.connect import MONITOR, RUN, close_quietly, connect
from console.errors import BadInput, ConsoleError, LockHeld
from console.settings import ConnectionSettings

Emit = Callable[[ev.Event], None]
ACTIONS = {"run": "up", "rollback": "down"}
RECHECK_AFTER_LOSS_S = 60.0  # how long to wait for the server to come back to check indexes
WARM_WAIT_S = 6.0  # the wait queries being prepared: longer than the monitor's timeout


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
        run_id: str = "",
        skip: Sequence[int] = (),
        on_max_wait: str = FAIL,
        log: str = "",
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
        self.run_id = run_id
        self.skip = set(skip)
        self.on_max_wait = on_max_wait
        self.log = log
        self.server: catalog.ServerInfo | None = None
        self._emit: Emit = lambda _e: None
        self.watch = Watch(settings, migration.name, self._say)
        self.lock = RunLock(settings, migration.name, run_id, self._say, self.control)
        self._run: asyncpg.Connection | None = None
        self._cancel = asyncio.Event()
        self._cancel_why = "cancelled by the operator"
        self._stop: str | None = None  # LOCK_TIMEOUT or GIVE_UP: why the console cancels
        self._policy: WaitPolicy | None = None
        self._current: int | None = None
        self._lock_timeout: float | None = None
        self._warm: asyncio.Future[waits.WaitReport | None] | None = None  # see open()

    def _say(self, e: ev.Event) -> None:
        self._emit(e)

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
        """Take the run lock (or refuse at once), connect, and check the database.

        The sessions open side by side, in the order that matters: the monitor while
        the lock is taken, the migration's own session (named as the run's) only once
        the lock is held, while the preflight runs on the monitor. The first failure
        in that order is the one raised; a session opened for nothing is closed."""
        monitor = asyncio.ensure_future(self.watch.open())
        run: asyncio.Future[asyncpg.Connection] | None = None
        try:
            await self.lock.acquire()
            run = asyncio.ensure_future(connect(self.settings, RUN, self.migration.name))
            conn = await monitor
            self.server = await preflight(conn, self.plan)
            self._run = await run
        except BaseException:
            await self._claim(monitor, run)  # close() then closes whatever was opened
            raise
        self._lock_timeout = self.options.lock_timeout_s
        await self._run.execute(
            "SELECT set_config('lock_timeout', $1, false), "
            "set_config('statement_timeout', $2, false)",
            pg_ms(self._lock_timeout),
            pg_ms(self.options.statement_timeout_s or None),
        )
        self._run.add_log_listener(self._on_notice)
        # Prepare the wait queries before they matter (the first poll), on the monitor's
        # turn, while the run starts: a statement that ends before then never waits on it.
        self._warm = asyncio.ensure_future(self.watch.call(lambda c: waits.analyse(c, None)))

    async def _claim(
        self,
        monitor: asyncio.Future[asyncpg.Connection],
        run: asyncio.Future[asyncpg.Connection] | None,
    ) -> None:
        """After a failed open: connections still on their way are stopped, one that
        arrived unclaimed becomes the runner's, so that close() closes it."""
        tasks = [t for t in (monitor, run) if t is not None]
        for task in tasks:
            task.cancel()  # nothing if it is done
        await asyncio.wait(tasks)
        for task in tasks:  # a later failure of theirs is not the one that counts
            if task.cancelled() or task.exception() is not None:
                continue
            if task is run and self._run is None:
                self._run = task.result()  # the monitor's is the watch's already

    async def close(self) -> None:
        if self._warm is not None:
            # Its queries end within the monitor's statement_timeout; cancelling them
            # would cost a connection of its own (a CancelRequest), so only a hung one is.
            await asyncio.wait([self._warm], timeout=WARM_WAIT_S)
            if not self._warm.done():
                self._warm.cancel()
                await asyncio.wait([self._warm])
            if not self._warm.cancelled():
                self._warm.exception()  # the same queries run at every poll: it shows there
        await close_quietly(self._run)
        await self.watch.close()
        await self.lock.release()

    @property
    def run_pid(self) -> int:
        assert self._run is not None
        return int(self._run.get_server_pid())

    def request_cancel(self, why: str = "cancelled by the operator") -> None:
        """Ask the running statement to stop; the server cancels it, the run ends cancelled."""
        if not self._cancel.is_set():
            self._cancel_why = why
            self._cancel.set()

    def control(self, what: str, by: str) -> None:
        """A message from a face (NOTIFY on the run-lock session, or a signal)."""
        if what == "cancel":
            self._emit(ev.Decision("cancel the run", by))
            self.request_cancel(f"cancelled by {by}")
        elif what == "keep" and self._policy is not None:
            self._emit(ev.Decision("keep waiting", by))
            self._policy.keep_waiting(time.monotonic())
        elif what == "give_up" and self._policy is not None and self._current is not None:
            self._emit(ev.Decision("give up the build", by))
            self._stop = GIVE_UP
            asyncio.get_running_loop().create_task(self._cancel_backend())

    # -- the run -------------------------------------------------------------------

    async def execute(self, emit: Emit) -> ev.RunResult:
        assert self._run is not None, "open() first"
        self._emit = emit
        started = _now()
        results = [
            ev.StatementResult(p.statement.number, p.statement.line, p.statement.first_line)
            for p in self.plan.statements
        ]
        emit(
            ev.RunStarted(
                self.migration.name, self.action, self.plan.section.name, len(results),
                self.plan.in_transaction, self.plan.reason, self.settings.display, self.run_pid,
                started, self.run_id, os.getpid(), socket.gethostname(), self.log,
                process_start(os.getpid()) or 0,
            )
        )  # fmt: skip
        status, error, sqlstate = ev.SUCCEEDED, None, None
        lost = False
        try:
            if self.plan.in_transaction:
                await self._run_transaction(results)
            else:
                for sp, res in zip(self.plan.statements, results, strict=True):
                    if res.number in self.skip:
                        res.status = "skipped"
                        emit(ev.StatementSkipped(res.number, "done by the run this one resumes"))
                        continue
                    await self._run_autocommit(sp, res)
        except Cancelled as exc:
            status, error, sqlstate = ev.CANCELLED, exc.message, "57014"
        except Failed as exc:
            status, error, sqlstate = ev.FAILED, self._describe(exc), exc.sqlstate
        except LockHeld as exc:
            status, error = ev.FAILED, f"{exc.message} {exc.hint}"
        except Lost as exc:
            status, error, lost = ev.FAILED, exc.message, True
        except asyncio.CancelledError:
            # The caller cancelled us outright: stop the server-side statement, record
            # the run, then let the cancellation through.
            await asyncio.shield(self._stopped_outright(results, started))
            raise
        return await self._finish(status, error, sqlstate, results, started, lost=lost)

    async def _finish(
        self,
        status: str,
        error: str | None,
        sqlstate: str | None,
        results: list[ev.StatementResult],
        started: datetime,
        *,
        lost: bool = False,
    ) -> ev.RunResult:
        """The run's result, with any INVALID index left: announced, then returned."""
        left = await self._invalid_left(RECHECK_AFTER_LOSS_S if lost else 0.0)
        if left is None:
            left = []
            error = (error or "") + " The console could not check for INVALID indexes afterwards."
        result = ev.RunResult(
            self.migration.name, self.action, status, started, _now(), results,
            self.settings.redact(error) if error else None, sqlstate, left, [], self.run_id,
        )  # fmt: skip
        self._emit(ev.RunFinished(result))
        return result

    async def _stopped_outright(self, results: list[ev.StatementResult], started: datetime) -> None:
        if self._current is not None:
            await self._cancel_backend()
        for res in results:
            if res.status == "running":
                res.status = "cancelled"
        why = "cancelled: the console was stopped during the run"
        await self._finish(ev.CANCELLED, why, "57014", results, started)

    async def _run_autocommit(self, sp: StatementPlan, res: ev.StatementResult) -> None:
        async def attempt(n: int) -> None:
            await self.lock.ensure()  # never start a statement without the run lock
            res.attempts, res.status = n, "running"
            self._emit(ev.StatementStarted(res.number, res.line, sp.statement.sql, n))
            t0 = time.monotonic()
            try:
                await self._drop_invalid_leftover(sp)
                tag = await self._exec(sp.statement.sql, res.number, sp.concurrent)
            except (Failed, Cancelled, Lost) as exc:
                res.duration_s = time.monotonic() - t0
                res.status = "cancelled" if isinstance(exc, Cancelled) else "failed"
                if not isinstance(exc, Cancelled):
                    code = exc.sqlstate if isinstance(exc, Failed) else None
                    self._emit(ev.StatementFailed(res.number, res.duration_s, code, exc.message))
                raise
            res.duration_s, res.status = time.monotonic() - t0, "succeeded"
            self._emit(ev.StatementFinished(res.number, res.duration_s, tag))

        try:
            await retrying(self.options, self._cancel, attempt, self._retry_pause)
        except (Failed, Cancelled, Lost):
            await self._report_invalid(sp, res.number)
            raise

    async def _run_transaction(self, results: list[ev.StatementResult]) -> None:
        assert self._run is not None
        run = self._run
        for sp in self.plan.statements:
            await self._drop_invalid_leftover(sp)

        async def attempt(n: int) -> None:
            await self.lock.ensure()
            tr = run.transaction()
            await self._guard(tr.start())
            res, committing = results[0], False
            try:
                for sp, res in zip(self.plan.statements, results, strict=True):
                    res.attempts, res.status = n, "running"
                    self._emit(ev.StatementStarted(res.number, res.line, sp.statement.sql, n))
                    t0 = time.monotonic()
                    try:
                        tag = await self._exec(sp.statement.sql, res.number, False)
                    finally:
                        res.duration_s = time.monotonic() - t0
                    res.status = "succeeded"
                    self._emit(ev.StatementFinished(res.number, res.duration_s, tag))
                committing = True
                await self._guard(tr.commit(), number=res.number)
            except (Failed, Cancelled) as exc:
                await _rollback(tr)
                _mark(results, "rolled back")
                if isinstance(exc, Cancelled):
                    res.status = "cancelled"
                    self._emit(
                        ev.TransactionRolledBack("cancelled: nothing in the section took effect")
                    )
                    raise
                res.status = "failed"
                self._emit(
                    ev.StatementFailed(res.number, res.duration_s, exc.sqlstate, exc.message)
                )
                self._emit(ev.TransactionRolledBack("the transaction was rolled back whole"))
                exc.note = " The transaction was rolled back: nothing changed."
                raise
            except Lost as exc:
                # The server rolls back an open transaction when its session ends; a
                # COMMIT in flight may or may not have landed.
                _mark(results, "unknown" if committing else "rolled back")
                if not committing:
                    res.status = "failed"
                    self._emit(ev.StatementFailed(res.number, res.duration_s, None, exc.message))
                raise

        await retrying(self.options, self._cancel, attempt, self._retry_pause)

    # -- one statement ---------------------------------------------------------------

    async def _exec(self, sql: str, number: int, concurrent: bool) -> str:
        """Run one statement on the run session while the watch polls and applies the policy."""
        assert self._run is not None
        if self._cancel.is_set():
            raise Cancelled(self._cancel_why)
        await self.lock.ensure()
        await self._set_lock_timeout(None if concurrent else self.options.lock_timeout_s)
        self._current, self._stop = number, None
        policy = self._policy = WaitPolicy(
            number, concurrent, self.options, self.on_max_wait, self._emit, self.settings.redact
        )
        task = asyncio.ensure_future(self._run.execute(sql))
        ended = asyncio.Event()
        task.add_done_callback(lambda _t: ended.set())
        watcher = asyncio.ensure_future(self._watch(policy, ended))
        cancel_wait = asyncio.ensure_future(self._cancel.wait())
        try:
            await asyncio.wait({task, cancel_wait}, return_when=asyncio.FIRST_COMPLETED)
            if not task.done():
                self._emit(ev.CancelRequested(self.run_pid))
                await self._cancel_backend()
                await asyncio.wait({task})
            return self._outcome(task, policy)
        except asyncio.CancelledError:
            if not task.done():
                await asyncio.shield(self._stop_task(task))
            raise
        finally:
            ended.set()
            cancel_wait.cancel()
            await _settle(watcher)
            policy.finish(time.monotonic())
            self._current = None

    def _outcome(self, task: asyncio.Future[str], policy: WaitPolicy) -> str:
        number = policy.number
        try:
            return str(task.result())
        except asyncpg.QueryCanceledError as exc:
            if self._cancel.is_set():
                raise Cancelled(self._cancel_why) from None
            if self._stop == LOCK_TIMEOUT:
                raise Failed(self._lock_timeout_text(policy), "55P03", retryable=True,
                             block=policy.block, number=number) from None  # fmt: skip
            if self._stop == GIVE_UP:
                waited = duration(policy.waited(time.monotonic()) or self.options.max_wait_s or 0)
                raise Failed(
                    f"gave up after waiting {waited} for other transactions to end "
                    f"({policy.who or 'holder unknown'})",
                    "57014",
                    number=number,
                ) from None
            if "user request" in str(exc):
                raise Cancelled("cancelled from another session (pg_cancel_backend)") from None
            raise Failed.of(exc, self.settings.redact, block=policy.block, number=number) from None
        except asyncpg.PostgresError as exc:
            if is_disconnect(exc):
                raise Lost(self._lost_text(exc)) from None
            raise Failed.of(exc, self.settings.redact, block=policy.block, number=number) from None
        except LOST as exc:
            raise Lost(self._lost_text(exc)) from None

    async def _guard(self, step: Awaitable[object], number: int | None = None) -> None:
        """A transaction step (BEGIN, COMMIT) with its errors sorted like a statement's."""
        try:
            await step
        except asyncpg.PostgresError as exc:
            if is_disconnect(exc):
                raise Lost(self._lost_text(exc)) from None
            raise Failed.of(exc, self.settings.redact, number=number) from None
        except LOST as exc:
            raise Lost(self._lost_text(exc)) from None

    def _lost_text(self, exc: BaseException) -> str:
        return (
            f"The connection to the server was lost during statement {self._current or '?'} "
            f"({self.settings.redact(str(exc)) or type(exc).__name__}); did the server restart? "
            "Check what took effect with `migration-console status` before running again."
        )

    def _lock_timeout_text(self, policy: WaitPolicy) -> str:
        block = policy.block
        what = (
            f"its {lock_mode(block.mode)} lock on {block.relation}"
            if block and block.relation
            else "its lock"
        )
        return (
            f"waited {duration(self.options.lock_timeout_s)} to take {what} "
            f"(--lock-timeout; held by {policy.who or 'another session'}); nothing was built"
        )

    async def _watch(self, policy: WaitPolicy, ended: asyncio.Event) -> None:
        """Poll while the statement runs: progress, waits, and the policy's verdicts. Ends
        as soon as the statement does; a poll in flight is never cut off (its session is
        used next for the checks after the statement)."""
        delays = self.options.poll_delays()
        pid = self.run_pid
        while not ended.is_set():
            delay = next(delays)
            deadline = policy.next_poll_in(time.monotonic())
            try:
                await asyncio.wait_for(
                    ended.wait(), min(delay, deadline) if deadline is not None else delay
                )
                return
            except TimeoutError:
                pass
            if self._stop is not None:
                return
            report = await self.watch.call(lambda c: waits.analyse(c, pid))
            if report is None or ended.is_set():
                continue
            p = report.progress
            if p is not None:
                self._emit(
                    ev.IndexProgress(
                        policy.number, p.index, p.table, p.phase, p.blocks_done, p.blocks_total,
                        p.tuples_done, p.tuples_total, p.lockers_done, p.lockers_total,
                        p.current_locker_pid,
                    )
                )  # fmt: skip
            verdict = policy.observe(report, time.monotonic())
            if verdict == LOCK_TIMEOUT:
                self._stop = verdict
                if not await self.watch.call(lambda c: activity.cancel_if_lock_wait(c, pid)):
                    self._stop = None  # the lock came at that moment: the build goes on
            elif verdict == GIVE_UP:
                self._stop = verdict
                await self._cancel_backend()

    async def _cancel_backend(self) -> None:
        """Cancel the run session's statement: from the monitor, else a fresh session."""
        pid = self.run_pid
        if await self.watch.call(lambda c: catalog.cancel_backend(c, pid)) is not None:
            return
        try:
            conn = await connect(self.settings, MONITOR, self.migration.name, connect_timeout=5)
        except ConsoleError:
            return  # nothing reaches the server: the statement ends when the session does
        try:
            await catalog.cancel_backend(conn, pid)
        except Exception:  # noqa: BLE001 - best effort
            pass
        finally:
            await close_quietly(conn)

    async def _stop_task(self, task: asyncio.Future[str]) -> None:
        try:
            await self._cancel_backend()
            await asyncio.wait_for(asyncio.shield(task), 10)
        except BaseException:  # noqa: BLE001 - the statement's own error is expected here
            pass

    async def _set_lock_timeout(self, seconds: float | None) -> None:
        """lock_timeout on the run session: the option, or 0 for concurrent statements."""
        if seconds == self._lock_timeout:
            return
        assert self._run is not None
        try:
            await self._run.execute("SELECT set_config('lock_timeout', $1, false)", pg_ms(seconds))
        except (asyncpg.PostgresError, *LOST) as exc:
            if is_disconnect(exc):
                raise Lost(self._lost_text(exc)) from None
            raise
        self._lock_timeout = seconds

    # -- retries ---------------------------------------------------------------------

    async def _retry_pause(self, failure: Failed, attempt: int) -> None:
        """The backoff, cut short as soon as the sessions that blocked the attempt let go."""
        wait = self.options.backoff(attempt)
        block = failure.block
        self._emit(
            ev.LockRetry(
                failure.number or 0, attempt, self.options.attempts, wait, failure.message,
                block.pids if block else (),
            )
        )  # fmt: skip
        released = await self.watch.released_check(block)
        end = time.monotonic() + wait
        while (left := end - time.monotonic()) > 0:
            if released is not None and await released():
                self._emit(ev.RetryNow(failure.number or 0, block.pids if block else ()))
                return
            step = min(left, self.options.progress_interval_s)
            try:
                await asyncio.wait_for(self._cancel.wait(), step)
            except TimeoutError:
                continue
            raise Cancelled(self._cancel_why)

    # -- invalid indexes -------------------------------------------------------------

    async def _drop_invalid_leftover(self, sp: StatementPlan) -> None:
        async def drop(sql: str) -> None:
            await self._exec(sql, sp.statement.number, True)

        await invalid.drop_leftover(self.watch, sp, self.run_pid, self._emit, drop)

    async def _report_invalid(self, sp: StatementPlan, number: int) -> None:
        for s in await invalid.invalid(self.watch, (sp,)) or []:
            self._emit(ev.InvalidIndex(invalid.qualified(s), s.table, "left", number))

    async def _invalid_left(self, patience_s: float) -> list[str] | None:
        return await invalid.left_after(self.watch, self.plan.statements, patience_s)

    # -- text --------------------------------------------------------------------------

    def _describe(self, failure: Failed) -> str:
        by_number = {p.statement.number: p.statement.line for p in self.plan.statements}
        line = by_number.get(failure.number) if failure.number else None
        return failure.describe(self.migration.path.name, line)

    def _on_notice(self, _conn: object, message: object) -> None:
        severity = str(getattr(message, "severity", "NOTICE"))
        text = self.settings.redact(str(getattr(message, "message", message)))
        self._emit(ev.ServerNotice(severity, text, self._current))


async def _settle(watcher: asyncio.Future[None], limit_s: float = 10.0) -> None:
    """Let the watcher finish its poll in flight (bounded), then it is gone."""
    try:
        await asyncio.wait_for(asyncio.shield(watcher), limit_s)
    except TimeoutError:
        watcher.cancel()
    except asyncio.CancelledError:
        watcher.cancel()
        raise
    except Exception:  # noqa: BLE001 - a failed poll was already told; the statement matters
        pass


def _mark(results: list[ev.StatementResult], status: str) -> None:
    for res in results:
        if res.status in ("succeeded", "running"):
            res.status = status


async def _rollback(tr: asyncpg.transaction.Transaction) -> None:
    try:
        await tr.rollback()
    except Exception:  # noqa: BLE001 - the connection may be gone; the server rolls back
        pass
