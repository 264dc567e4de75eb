"""The operator console: wires the panels to ConsoleService; every database call is a worker."""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator, Iterable
from typing import Any

from rich.text import Text
from textual import on, work
from textual.app import App, ComposeResult, SystemCommand
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import Footer, Input, Static, TabbedContent, TabPane

from console.core import events as ev
from console.core.errors import ConsoleError
from console.core.run import RunOptions
from console.core.service import ConsoleService, Session
from console.tui.dialogs.confirm import ConfirmModal
from console.tui.dialogs.signoff import SignOffModal
from console.tui.run_controller import ActiveRun, RunController
from console.tui.widgets.blockers import BlockersPanel
from console.tui.widgets.checklist import ChecklistItem, ChecklistPanel
from console.tui.widgets.history import HistoryPanel
from console.tui.widgets.migrations import MigrationsPanel
from console.tui.widgets.plan import PlanPanel
from console.tui.widgets.run_log import RunPanel
from console.tui.widgets.verify import VerifyPanel

TABS = ("migrations", "checklist", "run", "blockers", "verify", "plan", "history")


class MigrationConsoleApp(App[int]):
    CSS_PATH = "console.tcss"
    TITLE = "migration console"
    BINDINGS = [
        # priority: under a burst of log lines a panel switch must not queue behind every
        # widget on the way to the app (check_action gives digits back to dialogs)
        *(
            Binding(str(i), f"show_tab('{t}')", t.title(), show=False, priority=True)
            for i, t in enumerate(TABS, 1)
        ),
        Binding("r", "run", "Run"),
        Binding("b", "rollback", "Rollback"),
        Binding("v", "verify", "Verify"),
        Binding("x", "cancel_run", "Stop run"),
        Binding("p", "pause", "Pause", show=False),
        Binding("plus,equals_sign", "refresh_rate(-0.5)", "Faster", show=False),
        Binding("minus", "refresh_rate(0.5)", "Slower", show=False),
        Binding("q", "quit", "Quit"),
    ]

    def __init__(
        self,
        service: ConsoleService,
        *,
        options: RunOptions | None = None,
        refresh_s: float = 1.0,
        start_refresh: bool = True,
        doctor: bool = True,
        notes: str = "",
        debug: bool = False,
    ) -> None:
        super().__init__()
        self.show_tracebacks = debug  # --debug: a crash shows Textual's traceback (with its locals)
        self.service = service
        self.options = options or RunOptions()
        self.notes = notes  # stored with every run started here
        self.refresh_s = refresh_s
        self.start_refresh = start_refresh
        self.doctor_at_start = doctor
        self._banner_kind = ""
        self.selected: str | None = None
        self.runs = RunController(self)
        self.last_result: ev.RunResult | None = None
        self.doctor_report: Any = None

    # -- layout ---------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        yield Static(self.service.settings.display, id="topbar", markup=False)
        yield Static("", id="banner", markup=False)
        with TabbedContent(id="tabs", initial="migrations"):
            with TabPane("Migrations", id="migrations"):
                yield MigrationsPanel()
            with TabPane("Checklist", id="checklist"):
                yield ChecklistPanel()
            with TabPane("Run", id="run"):
                yield RunPanel()
            with TabPane("Blockers", id="blockers"):
                yield BlockersPanel()
            with TabPane("Verify", id="verify"):
                yield VerifyPanel()
            with TabPane("Plan", id="plan"):
                yield PlanPanel()
            with TabPane("History", id="history"):
                yield HistoryPanel()
        yield Footer(compact=True)

    def on_mount(self) -> None:
        # Objects alive after start-up never need collecting: keep full GC passes short.
        self.call_after_refresh(gc.freeze)
        self.query_one("#migrations-table").focus()
        blockers = self.query_one(BlockersPanel)
        blockers.may_signal = self.service.may_signal
        blockers.read_only = self.service.read_only
        self.sub_title = self.service.settings.display
        self.load_overview()
        if self.doctor_at_start:
            self.run_doctor()
        self.show_history()
        if not self.service.read_only:
            self.check_runs()
        if self.start_refresh:
            self._blockers_timer = self.set_interval(self.refresh_s, self.refresh_blockers)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """--read-only: monitoring only, every action that changes the database hidden."""
        if self.service.read_only and action in ("run", "rollback", "cancel_run"):
            return False
        if action == "show_tab" and (isinstance(self.focused, Input) or self.screen.is_modal):
            return False  # a digit typed into a dialog stays in the dialog
        return True

    def get_system_commands(self, screen: Screen[Any]) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)
        for i, tab in enumerate(TABS, 1):
            yield SystemCommand(
                f"Show {tab}",
                f"Switch to the {tab} panel (key {i})",
                lambda t=tab: self.action_show_tab(t),
            )
        if self.service.read_only:
            return
        yield SystemCommand("Run migration", "Run the selected migration (r)", self.action_run)
        yield SystemCommand("Roll back migration", "Run the down section (b)", self.action_rollback)
        yield SystemCommand("Verify migration", "Check indexes and queries (v)", self.action_verify)
        yield SystemCommand(
            "Cancel run", "Cancel the running statement on the server (x)", self.action_cancel_run
        )
        yield SystemCommand(
            "Pause blockers", "Pause or resume the live refresh (p)", self.action_pause
        )

    # -- banner and errors ------------------------------------------------------------------

    def _fatal_error(self) -> None:
        """An unhandled exception: one sentence on the way out, not Textual's traceback,
        which prints the local variables of every frame (a connection's password among
        them). Overrides Textual's hook for this (App._fatal_error); --debug keeps it."""
        if self.show_tracebacks:
            super()._fatal_error()
            return
        exc = self._exception
        what = self.service.settings.redact(f"{type(exc).__name__}: {exc}") if exc else "?"
        self.bell()
        self._exit_renderables.append(
            Text.assemble(
                ("error: ", "bold red"),
                f"the console stopped on an unexpected error ({what}).\n"
                "  Run it again with --debug to see the traceback, and report it.",
            )
        )
        self._close_messages_no_wait()

    def show_banner(self, text: str, kind: str = "connection") -> None:
        """kind "connection" clears itself once the monitor reconnects; "doctor" stays."""
        self._banner_kind = kind if text else ""
        banner = self.query_one("#banner", Static)
        banner.update(text)
        banner.set_class(bool(text), "-visible")

    def report(self, exc: ConsoleError, *, banner: bool = False) -> None:
        text = f"{exc.message} {exc.hint}".strip()
        if banner:
            self.show_banner(text)
        self.notify(text, severity="error", timeout=8)

    # -- navigation ------------------------------------------------------------------------

    def action_show_tab(self, tab: str) -> None:
        self.query_one(TabbedContent).active = tab

    @on(TabbedContent.TabActivated)
    def focus_pane(self, event: TabbedContent.TabActivated) -> None:
        """Keyboard first: the active panel's main widget takes the focus."""
        pane = event.pane
        if event.tabbed_content.active != pane.id:
            return  # a later switch already happened: do not pull the focus back
        for widget in pane.query("*"):
            if widget.focusable:
                widget.focus(scroll_visible=False)
                return

    @on(MigrationsPanel.Chosen)
    def choose(self, event: MigrationsPanel.Chosen) -> None:
        if event.name != self.selected:
            self.select(event.name)
        self.action_show_tab("checklist")

    def select(self, name: str) -> None:
        self.selected = name
        self.show_plan(name)
        self.show_checklist(name)

    def _selected(self) -> str | None:
        name = self.selected or self.query_one(MigrationsPanel).selected
        if name is None:
            self.notify("Select a migration first (1).", severity="warning")
        elif name != self.selected:
            self.select(name)
        return name

    # -- loading ----------------------------------------------------------------------------

    @work(group="overview", exclusive=True, exit_on_error=False)
    async def load_overview(self) -> None:
        panel = self.query_one(MigrationsPanel)
        try:
            overview = await self.service.overview()
            rows = await self.service.statuses()
        except ConsoleError as exc:
            self.report(exc, banner=True)
            return
        if self._banner_kind == "connection":
            self.show_banner("")
        railway = f" · railway {overview.railway_text}" if overview.railway_text else ""
        self.query_one("#topbar", Static).update(
            f"{overview.database} · PostgreSQL {overview.version}{railway}"
        )
        panel.show_overview(overview)
        panel.show(rows)
        if self.selected is None and rows:
            self.select(rows[0].name)

    @work(group="doctor", exclusive=True, exit_on_error=False)
    async def run_doctor(self) -> None:
        """The connection doctor at start: failures in the banner, warnings as notes."""
        try:
            report = await self.service.doctor()
        except ConsoleError as exc:
            self.report(exc)
            return
        self.doctor_report = report
        if report.failures:
            first = report.failures[0]
            more = f" (+{len(report.failures) - 1} more: run `migration-console doctor`)"
            self.show_banner(
                f"{first.summary} {first.fix}" + (more if len(report.failures) > 1 else ""),
                kind="doctor",
            )
        for check in report.warnings[:3]:
            self.notify(f"{check.summary} {check.fix}", severity="warning", timeout=10)

    def show_plan(self, name: str) -> None:
        try:
            self.query_one(PlanPanel).show(self.service.plan(name))
        except ConsoleError as exc:
            self.report(exc)

    def show_history(self) -> None:
        try:
            self.query_one(HistoryPanel).show(self.service.history())
        except ConsoleError as exc:
            self.report(exc, banner=True)

    @work(group="checklist", exclusive=True, exit_on_error=False)
    async def show_checklist(self, name: str) -> None:
        try:
            items, states = self.service.checklist(name)
        except ConsoleError as exc:
            self.report(exc)
            return
        await self.query_one(ChecklistPanel).show(name, items, states)
        if self.query_one(TabbedContent).active == "checklist" and not isinstance(
            self.focused, ChecklistItem
        ):
            # Focus without scrolling: the items may not be laid out yet, and the
            # title above the first item should stay in view.
            self.query(ChecklistItem).first().focus(scroll_visible=False)

    # -- blockers ----------------------------------------------------------------------------

    @work(group="blockers", exclusive=True, exit_on_error=False)
    async def refresh_blockers(self) -> None:
        panel = self.query_one(BlockersPanel)
        if panel.paused:
            return
        run = self.runs.active
        try:
            report = await self.service.waits(
                run.pid if run else None, run.pause_blockers if run else ()
            )
        except ConsoleError as exc:
            panel.show_error(exc)
            self.show_banner(f"{exc.message} {exc.hint}".strip())
            return
        if self._banner_kind == "connection":
            self.show_banner("")
            self.load_overview()
        panel.rights = self.service.signal_rights()  # known once the server answered
        panel.pause_note = _pause_note(run)
        panel.show(report)

    @on(BlockersPanel.Act)
    def act_on_session(self, event: BlockersPanel.Act) -> None:
        self.confirm_signal(event.session, event.kind)

    @work(group="confirm", exit_on_error=False)
    async def confirm_signal(self, session: Session, kind: str) -> None:
        xact = f"{session.xact_age_s:.0f} s" if session.xact_age_s is not None else "none"
        what = (
            "Cancel asks the server to stop the session's running query; it does nothing to "
            "a session that is idle in transaction (its locks and snapshot stay)."
            if kind == "cancel"
            else "Terminate closes the session: its open transaction is rolled back and the "
            "client sees its connection drop."
        )
        body = (
            f"pid {session.pid}\napplication {session.application_name or '-'}\n"
            f"user {session.role} from {session.client}\nstate {session.state}\n"
            f"transaction age {xact}\nlast query: {' '.join(session.query.split())[:300]}\n\n{what}"
        )
        verb = "Cancel query" if kind == "cancel" else "Terminate session"
        if not await self.push_screen_wait(
            ConfirmModal(f"{verb} of pid {session.pid}?", body, verb, "Leave it")
        ):
            return
        await self.signal_session(session, kind)

    async def signal_session(self, session: Session, kind: str) -> None:
        """Cancel or terminate another session (already confirmed); recorded in history."""
        try:
            action = await self.service.signal(session, kind)
        except ConsoleError as exc:
            self.report(exc)
            return
        done = "signalled" if action["signalled"] else "was already gone"
        self.notify(f"{kind}: pid {session.pid} {done}.")
        self.query_one(RunPanel).write(
            [f"      ⚡ {self.service.operator} {kind} pid {session.pid} ({done})"]
        )
        self.refresh_blockers()

    def action_pause(self) -> None:
        panel = self.query_one(BlockersPanel)
        panel.paused = not panel.paused
        panel._status("paused" if panel.paused else "resumed")

    def action_refresh_rate(self, delta: float) -> None:
        panel = self.query_one(BlockersPanel)
        self.refresh_s = min(10.0, max(0.5, self.refresh_s + delta))
        panel.interval = self.refresh_s
        if self.start_refresh:
            self._blockers_timer.stop()
            self._blockers_timer = self.set_interval(self.refresh_s, self.refresh_blockers)
        panel._status(f"refresh every {self.refresh_s:g} s")

    # -- verify ------------------------------------------------------------------------------

    def action_verify(self) -> None:
        name = self._selected()
        if name:
            self.action_show_tab("verify")
            self.do_verify(name)

    @work(group="verify", exclusive=True, exit_on_error=False)
    async def do_verify(self, name: str) -> None:
        try:
            report = await self.service.verify(name)
        except ConsoleError as exc:
            self.report(exc)
            return
        panel = self.query_one(VerifyPanel)
        panel.show(report)
        panel.show_comparison(self.service.comparison(name))
        self.service.record_verify(name, report)
        self.show_checklist(name)

    # -- run, rollback, cancel ---------------------------------------------------------------
    # The run controller does the work; each of its steps runs in a worker here.

    @property
    def runner(self) -> ActiveRun | None:
        """The run this console follows, if any."""
        return self.runs.active

    @property
    def running(self) -> bool:
        return self.runs.active is not None

    def action_run(self) -> None:
        name = self._selected()
        if name:
            self.start_run(name, "run")

    def action_rollback(self) -> None:
        name = self._selected()
        if name:
            self.start_run(name, "rollback")

    @work(group="run", exit_on_error=False)
    async def start_run(self, name: str, action: str) -> ev.RunResult | None:
        return await self.runs.start(name, action)

    @work(group="run", exit_on_error=False)
    async def follow_found(self, run: ActiveRun, events: AsyncIterator[ev.Event]) -> None:
        await self.runs.follow(run, events)

    @work(group="runs-check", exclusive=True, exit_on_error=False)
    async def check_runs(self) -> None:
        await self.runs.check_at_start()

    @work(group="confirm", exit_on_error=False)
    async def ask_max_wait(self, e: ev.MaxWaitReached) -> None:
        await self.runs.answer_max_wait(e)

    def after_run(self, name: str) -> None:
        self.load_overview()
        self.show_history()
        self.show_checklist(name)

    async def wait_for_run(self) -> None:
        for worker in self.workers:
            if worker.group == "run":
                await worker.wait()

    def action_cancel_run(self) -> None:
        if not self.running:
            self.notify("No migration is running.", severity="warning")
            return
        self.confirm_cancel()

    @work(group="confirm", exit_on_error=False)
    async def confirm_cancel(self) -> None:
        await self.runs.cancel()

    async def action_quit(self) -> None:
        if not self.running:
            await self.service.close()
            self.exit(0)
            return
        self.confirm_quit()

    @work(group="confirm", exit_on_error=False)
    async def confirm_quit(self) -> None:
        await self.runs.quit()
        if self.return_value is not None:
            await self.service.close()

    # -- checklist items -------------------------------------------------------------------------

    @on(ChecklistItem.SignOff)
    def sign_off_item(self, event: ChecklistItem.SignOff) -> None:
        self.ask_sign_off(event.item.key, event.item.title)

    @work(group="confirm", exit_on_error=False)
    async def ask_sign_off(self, key: str, title: str) -> None:
        name = self.selected
        if name is None:
            return
        answer = await self.push_screen_wait(SignOffModal(title, self.service.operator))
        if answer is None:
            return
        try:
            self.service.sign_off(name, key, by=answer.by, note=answer.note, state=answer.state)
        except ConsoleError as exc:
            self.report(exc)
            return
        self.show_checklist(name)

    @on(ChecklistItem.Do)
    def do_item(self, event: ChecklistItem.Do) -> None:
        name = self.selected
        action = event.item.action
        if name is None or action is None:
            return
        if action == "execute":
            self.start_run(name, "run")
        elif action == "verify":
            self.action_verify()
        elif action in ("baseline", "monitor", "index_usage"):
            self.query_one(ChecklistPanel).mark_running(event.item.key)
            self.do_measure(name, action)
        elif action == "history":
            self.action_show_tab("history")

    @work(group="measure", exclusive=True, exit_on_error=False)
    async def do_measure(self, name: str, action: str) -> None:
        try:
            message = await self.service.do_item(name, action)
        except ConsoleError as exc:
            self.report(exc)
        else:
            self.notify(message)
            if action == "monitor":
                self.query_one(VerifyPanel).show_comparison(self.service.comparison(name))
        self.show_checklist(name)


def _pause_note(run: ActiveRun | None) -> str:
    if run is None or not run.pause_blockers:
        return ""
    pids = ", ".join(f"pid {p}" for p in run.pause_blockers)
    return (
        f"{run.migration} pauses before its next attempt: it retries as soon as {pids} "
        "lets go (marked ▲ above), at the latest when the backoff ends."
    )
