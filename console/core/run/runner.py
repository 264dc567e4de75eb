"""Running a migration section: open its sessions, run it, say how it ended, close.

``MigrationRunner`` owns three connections, each with one job:

* the run lock (``keeper.RunLock``): a session-level advisory lock on an idle
  session that also listens for messages to the run; taken again if lost;
* the migration's own session (``session.RunSession``): executes the statements
  under the lock policy, attempted and retried by ``attempts``;
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
from collections.abc import Callable, Sequence
from datetime import UTC, datetime

import asyncpg

from console.connection import RUN
from console.core import events as ev
from console.core import waits
from console.core.model import Migration, SectionPlan
from console.core.preflight import preflight
from console.core.run import attempts, invalid
from console.core.run.failures import Cancelled, Failed, Lost
from console.core.run.keeper import RunLock
from console.core.run.options import FAIL, RunOptions
from console.core.run.pids import process_start
from console.core.run.request import ACTIONS
from console.core.run.session import RunSession
from console.core.run.watch import Watch
from console.core.words import Outcome
from console.db import catalog
from console.db.connect import close_quietly, connect
from console.errors import BadInput, LockHeld
from console.settings import ConnectionSettings

Emit = Callable[[ev.Event], None]
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
        plan: SectionPlan | None = None,
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
        if plan is None:  # the SQL parser, loaded only by a runner that plans for itself
            from console.core.plan import plan_section

            plan = plan_section(section)
        elif plan.section != section:
            raise ValueError("the plan is of another section")
        self.plan: SectionPlan = plan
        self.run_id = run_id
        self.skip = set(skip)
        self.on_max_wait = on_max_wait
        self.log = log
        self.server: catalog.ServerInfo | None = None
        self._emit: Emit = lambda _e: None
        self.watch = Watch(settings, migration.name, self._say)
        self.lock = RunLock(settings, migration.name, run_id, self._say, self.control)
        self.session = RunSession(
            settings, migration.name, self.options, on_max_wait, self.watch, self.lock, self._say
        )
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
            self.session.conn = await run
        except BaseException:
            await self._claim(monitor, run)  # close() then closes whatever was opened
            raise
        await self.session.configure()
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
            if task is run and self.session.conn is None:
                self.session.conn = task.result()  # the monitor's is the watch's already

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
        await close_quietly(self.session.conn)
        await self.watch.close()
        await self.lock.release()

    @property
    def run_pid(self) -> int:
        return self.session.pid

    def request_cancel(self, why: str = "cancelled by the operator") -> None:
        """Ask the running statement to stop; the server cancels it, the run ends cancelled."""
        self.session.request_cancel(why)

    def control(self, what: str, by: str) -> None:
        """A message from a face (NOTIFY on the run-lock session, or a signal)."""
        s = self.session
        if what == "cancel":
            self._emit(ev.Decision("cancel the run", by))
            self.request_cancel(f"cancelled by {by}")
        elif what == "keep" and s.policy is not None:
            self._emit(ev.Decision("keep waiting", by))
            s.policy.keep_waiting(time.monotonic())
        elif what == "give_up" and s.policy is not None and s.current is not None:
            self._emit(ev.Decision("give up the build", by))
            s.give_up()

    # -- the run -------------------------------------------------------------------

    async def execute(self, emit: Emit) -> ev.RunResult:
        assert self.session.conn is not None, "open() first"
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
        status, error, sqlstate = Outcome.SUCCEEDED, None, None
        lost = False
        try:
            if self.plan.in_transaction:
                await attempts.transaction(self.session, self.plan.statements, results)
            else:
                for sp, res in zip(self.plan.statements, results, strict=True):
                    if res.number in self.skip:
                        res.status = Outcome.SKIPPED
                        emit(ev.StatementSkipped(res.number, "done by the run this one resumes"))
                        continue
                    await attempts.autocommit(self.session, sp, res)
        except Cancelled as exc:
            status, error, sqlstate = Outcome.CANCELLED, exc.message, "57014"
        except Failed as exc:
            status, error, sqlstate = Outcome.FAILED, self._describe(exc), exc.sqlstate
        except LockHeld as exc:
            status, error = Outcome.FAILED, f"{exc.message} {exc.hint}"
        except Lost as exc:
            status, error, lost = Outcome.FAILED, exc.message, True
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
        patience_s = RECHECK_AFTER_LOSS_S if lost else 0.0
        left = await invalid.left_after(self.watch, self.plan.statements, patience_s)
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
        if self.session.current is not None:
            await self.session.cancel_backend()
        for res in results:
            if res.status == Outcome.RUNNING:
                res.status = Outcome.CANCELLED
        why = "cancelled: the console was stopped during the run"
        await self._finish(Outcome.CANCELLED, why, "57014", results, started)

    def _describe(self, failure: Failed) -> str:
        by_number = {p.statement.number: p.statement.line for p in self.plan.statements}
        line = by_number.get(failure.number) if failure.number else None
        return failure.describe(self.migration.path.name, line)
