"""The TUI's side of runs: start, follow, cancel, answer, quit during a run.

A run is carried out by a runner process (``console.core.run.process``); the TUI
launches it and follows its event log into the Run panel. Quitting can leave it
running: reopening the console (or ``migration-console attach``) follows it
again. Runs found as the console starts are ``found_runs``'s: followed, or, when
interrupted, offered to the operator to adopt, resume or mark.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import TYPE_CHECKING

from console.core.durations import duration
from console.core.run import RunOptions
from console.core.run.confirm import confirmation
from console.core.run.pids import this_host
from console.core.words import Outcome
from console.errors import ConsoleError
from console.glyphs import G
from console.lazy import lazy
from console.tui import found_runs
from console.tui.active_run import ActiveRun
from console.tui.dialogs.choice import Choice, ChoiceModal
from console.tui.dialogs.confirm import ConfirmModal
from console.tui.widgets.blockers import BlockersPanel
from console.tui.widgets.checklist import ChecklistPanel
from console.tui.widgets.history import HistoryPanel
from console.tui.widgets.run_log import RunPanel

if TYPE_CHECKING:
    from console.core import events as ev
    from console.core.model import MigrationPlan
    from console.core.run import control, recovery
    from console.core.run.tail import Launched
    from console.core.service import ConsoleService
    from console.tui.app import MigrationConsoleApp
else:
    ev = lazy("console.core.events")  # its 24 dataclasses: after the first frame
    control = lazy("console.core.run.control")
    recovery = lazy("console.core.run.recovery")


class RunController:
    def __init__(self, app: MigrationConsoleApp, options: RunOptions | None, notes: str) -> None:
        self.app = app
        self.options = options or RunOptions()
        self.notes = notes  # stored with every run started here
        self.active: ActiveRun | None = None
        self.left: ActiveRun | None = None  # the run the operator quit and left running
        self.last_result: ev.RunResult | None = None  # of the last run followed to its end

    @property
    def service(self) -> ConsoleService:
        return self.app.service

    @property
    def panel(self) -> RunPanel:
        return self.app.query_one(RunPanel)

    # -- in workers: the App's keys land here ----------------------------------------------

    def launch_selected(self, action: str) -> None:
        """r and b: run or roll back the selected migration (asks first)."""
        name = self.app.selected_migration()
        if name:
            self.launch(name, action)

    def launch(self, name: str, action: str) -> None:
        self.app.run_worker(self.start(name, action), group="run", exit_on_error=False)

    def follow_in_worker(self, run: ActiveRun, events: AsyncIterator[ev.Event]) -> None:
        self.app.run_worker(self.follow(run, events), group="run", exit_on_error=False)

    def check(self) -> None:
        """At start: a run recorded as running, or interrupted (never under --read-only)."""
        if self.service.read_only:
            return
        self.app.run_worker(
            found_runs.check_at_start(self),
            group="runs-check",
            exclusive=True,
            exit_on_error=False,
        )

    def ask(self, e: ev.MaxWaitReached) -> None:
        self.app.run_worker(self.answer_max_wait(e), group="confirm", exit_on_error=False)

    def ask_cancel(self) -> None:
        """x: cancel the run's statement on the server, once the operator confirms."""
        if self.active is None:
            self.app.notify("No migration is running.", severity="warning")
            return
        self.app.run_worker(self.cancel(), group="confirm", exit_on_error=False)

    async def ask_quit(self) -> None:
        """q: quit at once when no run is followed; during a run, ask what becomes of it."""
        if self.active is None:
            await self.service.close()
            self.app.exit(0)
            return
        self.app.run_worker(self._quit_and_close(), group="confirm", exit_on_error=False)

    async def _quit_and_close(self) -> None:
        await self.quit()
        if self.app.return_value is not None:
            await self.service.close()

    async def wait(self) -> None:
        for worker in self.app.workers:
            if worker.group == "run":
                await worker.wait()

    # -- starting ------------------------------------------------------------------------

    async def start(
        self, name: str, action: str, resume: recovery.RunState | None = None
    ) -> ev.RunResult | None:
        if self.active is not None:
            self.app.notify("A run is already in progress.", severity="warning")
            return None
        try:
            plan = self.service.plan(name, action)
        except ConsoleError as exc:
            self.app.report(exc)
            return None
        if not await self.app.push_screen_wait(_confirm_run(self.app, name, action, plan, resume)):
            return None
        self.app.action_show_tab("run")
        try:
            await self.service.prepare_run(name, action, resuming=resume is not None)
            launched = self.service.launch_run(
                name, action, self.options, self.notes, resume=resume
            )
        except ConsoleError as exc:
            self.panel.write([f"{G.fail} {exc.message} {exc.hint}".strip()])
            self.app.report(exc)
            return None
        run = ActiveRun(name, action, launched.run_id, launched.pid, this_host(), str(launched.log))
        return await self.follow(run, control.follow_launched(launched), launched)

    # -- following -----------------------------------------------------------------------

    async def follow(
        self,
        run: ActiveRun,
        events: AsyncIterator[ev.Event],
        launched: Launched | None = None,
    ) -> ev.RunResult | None:
        """Feed the run's events to the Run panel until it ends."""
        self.active = run
        self.service.active = run
        self.panel.begin(run.log or None)
        result: ev.RunResult | None = None
        try:
            async for e in events:
                self._track(run, e)
                self.panel.handle(e)
                if isinstance(e, ev.MaxWaitReached) and e.asking:
                    # Asked in a worker, after a replayed log has been read to its end:
                    # a question the run has moved past is not put to the operator.
                    self.ask(e)
                if isinstance(e, ev.RunFinished):
                    result = e.result
                elif isinstance(e, ev.RunRefused):
                    self.app.report(ConsoleError(e.message, e.hint))
                elif isinstance(e, ev.RecordProblem):
                    self.app.notify(e.message, severity="error", timeout=30)
                elif isinstance(e, ev.RemoteEnded):
                    self.app.notify(
                        f"The run of {e.migration} ended; the database shows it {e.state}.",
                        severity="information" if e.ok else "error",
                    )
                elif isinstance(e, ev.RunnerLost):
                    self.app.notify(
                        f"The runner of {run.migration} ended without recording an outcome.",
                        severity="error",
                    )
        finally:
            self.active = None
            self.service.active = None
            self.service.active_pid = None
        if result is not None:
            self.last_result = result
            if result.status == Outcome.SUCCEEDED:
                self.app.notify(f"{result.action} succeeded")
            else:
                text = f"{result.action} {result.status}: {result.error or ''}"
                self.app.notify(text, severity="error")
        self.show_changes(run.migration)
        return result

    def show_changes(self, name: str) -> None:
        """What a run (or marking one) changed: the overview, the history, its checklist."""
        self.app.load_overview()
        self.app.query_one(HistoryPanel).load()
        self.app.query_one(ChecklistPanel).load(name)

    def _track(self, run: ActiveRun, e: ev.Event) -> None:
        if isinstance(e, ev.MaxWaitReached) and e.asking:
            run.asking = e
        elif isinstance(e, ev.WaitEnded | ev.StatementFinished | ev.StatementFailed | ev.Decision):
            run.asking = None
        if isinstance(e, ev.RunStarted):
            run.pid = self.service.active_pid = e.pid
            run.runner_started = e.runner_started or None
        elif isinstance(e, ev.LockRetry):
            run.pause_blockers = e.blockers
        elif isinstance(e, ev.RetryNow | ev.StatementStarted | ev.RunFinished):
            run.pause_blockers = ()

    # -- talking to the run ---------------------------------------------------------------

    async def cancel(self) -> None:
        run = self.active
        if run is None:
            return
        body = (
            f"Cancel the running statement of {run.migration} on the server"
            f"{f' (pid {run.pid})' if run.pid else ''}? A cancelled CREATE INDEX CONCURRENTLY "
            "leaves an INVALID index; the console reports it and drops it on the next run."
        )
        if await self.app.push_screen_wait(
            ConfirmModal("Cancel the run?", body, "Cancel run", "Keep running")
        ):
            await self._send(run, "cancel")

    async def _send(self, run: ActiveRun, what: str) -> None:
        try:
            how = await self.service.send(run, what)
        except ConsoleError as exc:
            self.app.report(exc)
            return
        self.panel.write([f"      {G.action} {self.service.operator}: {what} ({how})"])

    async def answer_max_wait(self, e: ev.MaxWaitReached) -> None:
        run = self.active
        if run is None or run.asking is not e:
            return
        holder = f"pid {e.holder_pid}" if e.holder_pid else "the holder"
        choices = [
            Choice("k", "Keep waiting (ask again after the same time)", "keep"),
            Choice("c", f"Cancel {holder}'s query", "cancel"),
            Choice("t", f"Terminate {holder}: its transaction rolls back", "terminate"),
            Choice("g", "Give up the build (leaves an INVALID index to drop)", "give_up"),
        ]
        body = (  # who holds it first: on a short terminal the rest is a scroll away
            f"Holder: {e.holder or 'not seen'}\n\nStatement {e.number} has waited "
            f"{duration(e.waited_s)} for other transactions to end. Nothing is lost while it "
            "waits; the build is kept."
        )
        answer = await self.app.push_screen_wait(
            ChoiceModal("The build is still waiting", body, choices)
        )
        if answer is None or self.active is not run:
            return
        if answer.value in ("cancel", "terminate") and e.holder_pid:
            session = next(
                (s for s in await self.service.sessions() if s.pid == e.holder_pid), None
            )
            if session is not None:
                await self.app.query_one(BlockersPanel).signal(session, answer.value)
            await self._send(run, "keep")
        else:
            await self._send(run, answer.value)

    async def quit(self) -> None:
        run = self.active
        if run is None:
            self.app.exit(0)
            return
        answer = await self.app.push_screen_wait(
            ChoiceModal(
                "Quit during a run?",
                f"{run.action} {run.migration} is running in its own process. Leave it running "
                f"and follow it later (reopen the console, or `migration-console attach "
                f"{run.migration}`), or cancel its statement on the server first.",
                [
                    Choice("l", "Leave it running and quit", "leave"),
                    Choice("c", "Cancel the run, wait for its record, then quit", "cancel"),
                    Choice("s", "Stay", "stay"),
                ],
            )
        )
        if answer is None or answer.value == "stay":
            return
        if answer.value == "leave":
            self.left = run
            self.app.exit(0)
            return
        await self._send(run, "cancel")
        await self.wait()
        self.app.exit(130)


def _confirm_run(
    app: MigrationConsoleApp,
    name: str,
    action: str,
    plan: MigrationPlan,
    resume: recovery.RunState | None,
) -> ConfirmModal:
    skip = recovery.resume_skips(resume) if resume else ()
    c = confirmation(
        name, action, app.service.settings.display, plan.section, skip, resuming=bool(resume)
    )
    return ConfirmModal(c.title, c.body, c.verb)
