"""The migration's own session: one statement at a time, under the lock policy.

While a statement runs, the monitor (``watch.Watch``) polls its progress and its
waits; the wait policy (``policy.WaitPolicy``) judges each poll and its verdicts
are carried out here: a concurrent statement's table-lock wait is cancelled after
``--lock-timeout`` (only if it still waits), a wait for other transactions is
given up after ``--max-wait`` when no face asks. A cancel reaches the server from
the monitor, else from a fresh session. What the server answers is sorted into
``failures`` (failed, cancelled, lost); ``attempts`` decides what comes next.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import asyncpg

from console.connection import MONITOR
from console.core import events as ev
from console.core import waits
from console.core.durations import duration, pg_ms
from console.core.locks import lock_mode
from console.core.run.failures import LOCK_NOT_AVAILABLE, Cancelled, Failed, Lost
from console.core.run.keeper import RunLock
from console.core.run.options import RunOptions
from console.core.run.policy import GIVE_UP, LOCK_TIMEOUT, WaitPolicy
from console.core.run.watch import LOST, Watch, is_disconnect
from console.db import activity, catalog
from console.db.connect import close_quietly, connect
from console.errors import ConsoleError
from console.settings import ConnectionSettings

Emit = Callable[[ev.Event], None]


@dataclass(eq=False)
class RunSession:
    """The run session (``conn``, connected by the runner) and the statement on it."""

    settings: ConnectionSettings
    migration: str
    options: RunOptions
    on_max_wait: str
    watch: Watch
    lock: RunLock
    emit: Emit
    conn: asyncpg.Connection | None = field(default=None, init=False)
    cancel_requested: asyncio.Event = field(default_factory=asyncio.Event, init=False)
    cancel_why: str = field(default="cancelled by the operator", init=False)
    policy: WaitPolicy | None = field(default=None, init=False)  # the latest statement's
    current: int | None = field(default=None, init=False)  # the statement running, if any
    # LOCK_TIMEOUT or GIVE_UP: why the console cancels the statement running
    _stop: str | None = field(default=None, init=False)
    _lock_timeout: float | None = field(default=None, init=False)  # as set on the session

    @property
    def pid(self) -> int:
        assert self.conn is not None
        return int(self.conn.get_server_pid())

    async def configure(self) -> None:
        """The session's timeouts from the options; its server notices become events."""
        assert self.conn is not None
        self._lock_timeout = self.options.lock_timeout_s
        await self.conn.execute(
            "SELECT set_config('lock_timeout', $1, false), "
            "set_config('statement_timeout', $2, false)",
            pg_ms(self._lock_timeout),
            pg_ms(self.options.statement_timeout_s or None),
        )
        self.conn.add_log_listener(self._on_notice)

    def request_cancel(self, why: str) -> None:
        """Ask the running statement to stop; the server cancels it, the run ends cancelled."""
        if not self.cancel_requested.is_set():
            self.cancel_why = why
            self.cancel_requested.set()

    def give_up(self) -> None:
        """The operator gave up the wait: cancel the statement, by the policy's name."""
        self._stop = GIVE_UP
        asyncio.get_running_loop().create_task(self.cancel_backend())

    # -- one statement ---------------------------------------------------------------

    async def execute(self, sql: str, number: int, concurrent: bool) -> str:
        """Run one statement on the run session while the watch polls and applies the policy."""
        assert self.conn is not None
        if self.cancel_requested.is_set():
            raise Cancelled(self.cancel_why)
        await self.lock.ensure()
        await self._set_lock_timeout(None if concurrent else self.options.lock_timeout_s)
        self.current, self._stop = number, None
        policy = self.policy = WaitPolicy(
            number, concurrent, self.options, self.on_max_wait, self.emit, self.settings.redact
        )
        task = asyncio.ensure_future(self.conn.execute(sql))
        ended = asyncio.Event()
        task.add_done_callback(lambda _t: ended.set())
        watcher = asyncio.ensure_future(self._poll(policy, ended))
        cancel_wait = asyncio.ensure_future(self.cancel_requested.wait())
        try:
            await asyncio.wait({task, cancel_wait}, return_when=asyncio.FIRST_COMPLETED)
            if not task.done():
                self.emit(ev.CancelRequested(self.pid))
                await self.cancel_backend()
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
            self.current = None

    def _outcome(self, task: asyncio.Future[str], policy: WaitPolicy) -> str:
        number = policy.number
        try:
            return str(task.result())
        except asyncpg.QueryCanceledError as exc:
            if self.cancel_requested.is_set():
                raise Cancelled(self.cancel_why) from None
            if self._stop == LOCK_TIMEOUT:
                raise Failed(self._lock_timeout_text(policy), LOCK_NOT_AVAILABLE, retryable=True,
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

    async def guard(self, step: Awaitable[object], number: int | None = None) -> None:
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
            f"The connection to the server was lost during statement {self.current or '?'} "
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

    async def _poll(self, policy: WaitPolicy, ended: asyncio.Event) -> None:
        """Poll while the statement runs: progress, waits, and the policy's verdicts. Ends
        as soon as the statement does; a poll in flight is never cut off (its session is
        used next for the checks after the statement)."""
        delays = self.options.poll_delays()
        pid = self.pid
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
                self.emit(
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
                await self.cancel_backend()

    async def cancel_backend(self) -> None:
        """Cancel the run session's statement: from the monitor, else a fresh session."""
        pid = self.pid
        if await self.watch.call(lambda c: catalog.cancel_backend(c, pid)) is not None:
            return
        try:
            conn = await connect(self.settings, MONITOR, self.migration, connect_timeout=5)
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
            await self.cancel_backend()
            await asyncio.wait_for(asyncio.shield(task), 10)
        except BaseException:  # noqa: BLE001 - the statement's own error is expected here
            pass

    async def _set_lock_timeout(self, seconds: float | None) -> None:
        """lock_timeout on the run session: the option, or 0 for concurrent statements."""
        if seconds == self._lock_timeout:
            return
        assert self.conn is not None
        try:
            await self.conn.execute("SELECT set_config('lock_timeout', $1, false)", pg_ms(seconds))
        except (asyncpg.PostgresError, *LOST) as exc:
            if is_disconnect(exc):
                raise Lost(self._lost_text(exc)) from None
            raise
        self._lock_timeout = seconds

    def _on_notice(self, _conn: object, message: object) -> None:
        severity = str(getattr(message, "severity", "NOTICE"))
        text = self.settings.redact(str(getattr(message, "message", message)))
        self.emit(ev.ServerNotice(severity, text, self.current))


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
