"""The operator console: the App wires the panels; each panel owns its behaviour.

The panels live in ``widgets/`` (one per module) and do their own database work
in workers through ``ConsoleService``; runs go through ``RunController``. The App
holds the selected migration, the layout (tabs, or a dashboard on a large
terminal), the keys, the banner and the top bar.
"""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator, Iterable
from typing import Any

from rich.text import Text
from textual import events, on, work
from textual.app import App, ComposeResult, SystemCommand
from textual.binding import Binding
from textual.screen import Screen
from textual.widget import Widget
from textual.widgets import Input, Static, Tab, Tabs

from console.core import events as ev
from console.core.errors import ConsoleError
from console.core.run import RunOptions
from console.core.service import ConsoleService, Session
from console.tui.run_controller import ActiveRun, RunController
from console.tui.widgets.banner import Banner, Finding
from console.tui.widgets.blockers import BlockersPanel
from console.tui.widgets.body import LIVE, PANELS, SIDE, TITLES, Body, is_dashboard
from console.tui.widgets.checklist import ChecklistPanel
from console.tui.widgets.history import HistoryPanel
from console.tui.widgets.keybar import KeyBar
from console.tui.widgets.migrations import MigrationsPanel
from console.tui.widgets.plan import PlanPanel
from console.tui.widgets.run_log import RunPanel
from console.tui.widgets.verify import VerifyPanel

TABS = PANELS  # the panels, in the order of their keys 1 … 7


class MigrationConsoleApp(App[int]):
    CSS_PATH = "console.tcss"
    TITLE = "migration console"
    BINDINGS = [
        # priority: under a burst of log lines a panel switch must not queue behind every
        # widget on the way to the app (check_action gives digits back to dialogs)
        *(
            Binding(str(i), f"show_tab('{t}')", TITLES[t], show=False, priority=True)
            for i, t in enumerate(TABS, 1)
        ),
        Binding("r", "run", "Run"),
        Binding("b", "rollback", "Rollback"),
        Binding("v", "verify", "Verify"),
        Binding("x", "cancel_run", "Stop run"),
        Binding("e", "banner", "Details", show=False),
        Binding("p", "blockers('pause')", "Pause", show=False),
        Binding("plus,equals_sign", "blockers('faster')", "Faster", show=False),
        Binding("minus", "blockers('slower')", "Slower", show=False),
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
        self.selected: str | None = None
        self.runs = RunController(self)
        self.last_result: ev.RunResult | None = None
        self.doctor_report: Any = None
        self.active = "migrations"  # the panel shown (tabs) or focused (dashboard)
        self.side = "checklist"  # the dashboard's left panel under the migrations
        self.dashboard = False

    # -- layout ---------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        yield Static(self.service.settings.place, id="topbar", markup=False)
        yield Banner()
        yield Tabs(*(Tab(TITLES[t], id=t) for t in TABS), id="tabs")
        yield Body(id="body")
        yield KeyBar()

    def on_mount(self) -> None:
        # Objects alive after start-up never need collecting: keep full GC passes short.
        self.call_after_refresh(gc.freeze)
        self.fit(self.size.width, self.size.height)
        self.query_one("#migrations-table").focus()
        # The first frame first; then the database: overview, doctor, history, runs.
        self.call_after_refresh(self._start)

    def _start(self) -> None:
        self.load_overview()
        if self.doctor_at_start:
            self.run_doctor()
        self.query_one(HistoryPanel).load()
        if not self.service.read_only:
            self.check_runs()
        self.query_one(BlockersPanel).start(self.refresh_s, self.start_refresh)

    def on_resize(self, event: events.Resize) -> None:
        self.fit(event.size.width, event.size.height)

    def fit(self, width: int, height: int) -> None:
        self.dashboard = is_dashboard(width, height)
        self.query_one(Body).show_panels(self.active, self.side, self.dashboard)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """--read-only: monitoring only, every action that changes the database hidden."""
        if self.service.read_only and action in ("run", "rollback", "cancel_run"):
            return False
        if action == "show_tab" and (isinstance(self.focused, Input) or self.screen.is_modal):
            return False  # a digit typed into a dialog stays in the dialog
        if action == "banner":
            return self.query_one(Banner).has_more
        return True

    def get_system_commands(self, screen: Screen[Any]) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)
        for i, tab in enumerate(TABS, 1):
            yield SystemCommand(
                f"Show {tab}",
                f"Switch to the {tab} panel (key {i})",
                lambda t=tab: self.action_show_tab(t),
            )
        yield SystemCommand(
            "Pause blockers", "Pause or resume the live refresh (p)", self.action_blockers
        )
        if self.service.read_only:
            return
        yield SystemCommand("Run migration", "Run the selected migration (r)", self.action_run)
        yield SystemCommand("Roll back migration", "Run the down section (b)", self.action_rollback)
        yield SystemCommand("Verify migration", "Check indexes and queries (v)", self.action_verify)
        yield SystemCommand(
            "Cancel run", "Cancel the running statement on the server (x)", self.action_cancel_run
        )

    # -- banner, errors, a crash --------------------------------------------------------------

    def show_banner(self, text: str) -> None:
        """A lost connection (cleared once the monitor is back)."""
        self.query_one(Banner).connection(text)

    def connected(self) -> None:
        banner = self.query_one(Banner)
        if banner.kind == "connection":
            banner.clear_connection()
            self.load_overview()

    def report(self, exc: ConsoleError, *, banner: bool = False) -> None:
        text = f"{exc.message} {exc.hint}".strip()
        if banner:
            self.show_banner(text)
        self.notify(text, severity="error", timeout=8)

    def action_banner(self) -> None:
        self.query_one(Banner).toggle()

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

    # -- navigation ------------------------------------------------------------------------

    def action_show_tab(self, tab: str) -> None:
        self._remember_focus()  # before hiding a panel moves the focus around in it
        self.active = tab
        if tab in SIDE:
            self.side = tab
        self.query_one(Body).show_panels(self.active, self.side, self.dashboard)
        tabs = self.query_one(Tabs)
        if tabs.active != tab:
            tabs.active = tab
        self.call_after_refresh(self._focus_panel, tab)

    def _focus_panel(self, tab: str) -> None:
        """Keyboard first: the panel's widget the operator used last, else its first."""
        if self.active != tab:
            return  # a later switch already happened: do not pull the focus back
        panel = self.query_one(f"#{tab}")
        last = getattr(panel, "last_focus", None)
        if last is not None and last.is_attached and last.focusable:
            last.focus(scroll_visible=False)
            return
        for widget in panel.query("*"):
            if widget.focusable:
                widget.focus(scroll_visible=False)
                return

    @on(Tabs.TabActivated)
    def tab_chosen(self, event: Tabs.TabActivated) -> None:
        key = str(event.tab.id)
        if key != self.active:
            self.action_show_tab(key)

    def _panel_of(self, widget: Widget | None) -> Widget | None:
        for node in widget.ancestors_with_self if widget is not None else ():
            if isinstance(node, Widget) and node.id in TITLES and node.has_class("panel"):
                return node
        return None

    def _remember_focus(self) -> None:
        panel = self._panel_of(self.focused)
        if panel is not None:
            panel.last_focus = self.focused  # type: ignore[attr-defined]

    def on_descendant_focus(self, event: events.DescendantFocus) -> None:
        """Remember, per panel, where the focus was; on a dashboard, the focused panel is
        the active one (its tab lights up)."""
        node = self._panel_of(event.widget)
        if node is not None and (self.dashboard or node.id == self.active):
            node.last_focus = event.widget  # type: ignore[attr-defined]
            if self.dashboard and self.active != node.id:
                self.active = str(node.id)
                if node.id in SIDE:
                    self.side = str(node.id)
                self.query_one(Tabs).active = str(node.id)

    @on(MigrationsPanel.Chosen)
    def choose(self, event: MigrationsPanel.Chosen) -> None:
        if event.name != self.selected:
            self.select(event.name)
        self.action_show_tab("checklist")

    def select(self, name: str) -> None:
        self.selected = name
        self.query_one(PlanPanel).load(name)
        self.query_one(ChecklistPanel).load(name)

    def _selected(self) -> str | None:
        name = self.selected or self.query_one(MigrationsPanel).selected
        if name is None:
            self.notify("Select a migration first (1).", severity="warning")
        elif name != self.selected:
            self.select(name)
        return name

    # -- what the database says ----------------------------------------------------------------

    @work(group="overview", exclusive=True, exit_on_error=False)
    async def load_overview(self) -> None:
        panel = self.query_one(MigrationsPanel)
        try:
            overview = await self.service.overview()
            rows = await self.service.statuses()
        except ConsoleError as exc:
            self.report(exc, banner=True)
            return
        railway = f" · railway {overview.railway_text}" if overview.railway_text else ""
        self.query_one("#topbar", Static).update(
            f"{self.service.settings.place} · PostgreSQL {overview.version}{railway}"
        )
        panel.show_overview(overview)
        panel.show(rows)
        if self.selected is None and rows:
            self.select(rows[0].name)

    @work(group="doctor", exclusive=True, exit_on_error=False)
    async def run_doctor(self) -> None:
        """The connection doctor at start: what it found goes to the banner (e: details)."""
        try:
            report = await self.service.doctor()
        except ConsoleError as exc:
            self.report(exc)
            return
        self.doctor_report = report
        findings = [Finding(c.summary, c.fix) for c in report.failures]
        findings += [Finding(c.summary, c.fix, severe=False) for c in report.warnings]
        if findings:
            self.query_one(Banner).doctor(findings)

    def refresh_blockers(self) -> None:
        self.query_one(BlockersPanel).refresh_now()

    async def signal_session(self, session: Session, kind: str) -> None:
        await self.query_one(BlockersPanel).signal(session, kind)

    @property
    def run_panel(self) -> RunPanel:
        return self.query_one(RunPanel)

    def action_blockers(self, what: str = "pause") -> None:
        self.query_one(BlockersPanel).control(what)

    # -- verify --------------------------------------------------------------------------------

    def action_verify(self) -> None:
        name = self._selected()
        if name:
            self.action_show_tab("verify")
            self.query_one(VerifyPanel).verify(name)

    def after_verify(self, name: str) -> None:
        self.query_one(ChecklistPanel).load(name)

    def show_comparison(self, name: str) -> None:
        self.query_one(VerifyPanel).show_comparison(self.service.comparison(name))

    # -- run, rollback, cancel, quit: the run controller, one worker per step ---------------------

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
        self.query_one(HistoryPanel).load()
        self.query_one(ChecklistPanel).load(name)

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


__all__ = ["LIVE", "MigrationConsoleApp"]
