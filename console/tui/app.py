"""The operator console: the App wires the panels; each panel owns its behaviour.

The panels live in ``widgets/`` (one per module) and do their own database work
in workers through ``ConsoleService``; runs go through ``RunController``. The App
holds the selected migration, the layout (tabs, or a dashboard on a large
terminal), the keys, the banner and the top bar.
"""

from __future__ import annotations

import gc
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from textual import events, on
from textual.app import App, ComposeResult, SystemCommand
from textual.screen import Screen
from textual.widgets import Input, Static, Tab, Tabs

from console.core.run import RunOptions
from console.errors import ConsoleError
from console.glyphs import G
from console.tui import keys
from console.tui.crash import crash_text
from console.tui.rehearsals import Rehearsals
from console.tui.run_controller import ActiveRun, RunController
from console.tui.theme import apply_theme
from console.tui.widgets.banner import Banner
from console.tui.widgets.blockers import BlockersPanel
from console.tui.widgets.body import LIVE, PANELS, TITLES, Body
from console.tui.widgets.checklist import ChecklistPanel
from console.tui.widgets.history import HistoryPanel
from console.tui.widgets.keybar import KeyBar
from console.tui.widgets.migrations import MigrationsPanel
from console.tui.widgets.plan import PlanPanel
from console.tui.widgets.run_log import RunPanel
from console.tui.widgets.verify import VerifyPanel

if TYPE_CHECKING:
    from pathlib import Path

    from console.core import events as ev
    from console.core.service import ConsoleService, Session

TABS = PANELS  # the panels, in the order of their keys 1 … 7


class MigrationConsoleApp(App[int]):
    CSS_PATH = "console.tcss"
    TITLE = "migration console"
    BINDINGS = keys.BINDINGS

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
        rehearsals: Path | None = None,
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
        # The demo's practice hangs, offered only where `demo` opened the console.
        self.rehearsals = Rehearsals(self, rehearsals) if rehearsals is not None else None
        self.last_result: ev.RunResult | None = None

    # -- layout ---------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        yield Static(self.service.settings.place, id="topbar", markup=False)
        yield Banner()
        yield Tabs(*(Tab(TITLES[t], id=t) for t in TABS), id="tabs")
        yield Body(id="body")
        yield KeyBar()

    def on_mount(self) -> None:
        apply_theme(self)  # 16 colours, ASCII (issue 9)
        self.query_one(Body).fit(self.size.width, self.size.height)
        self.query_one("#migrations-table").focus()

    async def on_ready(self) -> None:
        """The first frame is on the terminal (Textual's Ready): now the panels it did not
        show, the database, and the imports it needs (the driver, the SQL parser)."""
        await self.query_one(Body).mount_rest()
        # Objects alive after start-up never need collecting: keep full GC passes short.
        gc.freeze()
        self.load_overview()
        if self.doctor_at_start:
            self.query_one(Banner).run_doctor()
        self.query_one(HistoryPanel).load()
        if not self.service.read_only:
            self.runs.check()
        self.query_one(BlockersPanel).start(self.refresh_s, self.start_refresh)

    def on_resize(self, event: events.Resize) -> None:
        self.query_one(Body).fit(event.size.width, event.size.height)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """--read-only: monitoring only, every action that changes the database hidden."""
        if self.service.read_only and action in keys.CHANGES:
            return False
        if action == "show_tab" and (isinstance(self.focused, Input) or self.screen.is_modal):
            return False  # a digit typed into a dialog stays in the dialog
        if action == "banner":
            return self.query_one(Banner).has_more
        return True

    def get_system_commands(self, screen: Screen[Any]) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)
        yield from keys.palette(self)

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
        """An unhandled exception: one sentence on the way out (``crash``). Overrides
        Textual's hook for this (App._fatal_error); --debug keeps Textual's traceback."""
        if self.show_tracebacks:
            super()._fatal_error()
            return
        self.bell()
        self._exit_renderables.append(crash_text(self.service.settings, self._exception))
        self._close_messages_no_wait()

    # -- navigation ------------------------------------------------------------------------

    @property
    def active(self) -> str:
        return self.query_one(Body).active

    @property
    def dashboard(self) -> bool:
        return self.query_one(Body).dashboard

    def action_show_tab(self, tab: str) -> None:
        self.query_one(Body).show(tab)

    @on(Body.Shown)
    def shown(self, event: Body.Shown) -> None:
        # The strip follows the body as it is now, not as the message saw it: two quick
        # switches would otherwise have the strip and the body chase each other forever.
        tabs = self.query_one(Tabs)
        if tabs.active != self.active:
            tabs.active = self.active

    @on(Tabs.TabActivated)
    def tab_chosen(self, event: Tabs.TabActivated) -> None:
        if str(event.tab.id) != self.active:
            self.action_show_tab(str(event.tab.id))

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

    def load_overview(self) -> None:
        self.query_one(MigrationsPanel).load()

    def show_place(self, version: str, railway: str) -> None:
        """The top bar: which database on which host, the server's version, Railway's names."""
        where = f" {G.sep} railway {railway}" if railway else ""
        self.query_one("#topbar", Static).update(
            f"{self.service.settings.place} {G.sep} PostgreSQL {version}{where}"
        )

    @property
    def doctor_report(self) -> object:
        return self.query_one(Banner).report

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

    # -- run, rollback, cancel, quit: the run controller does them, each in a worker -----------

    @property
    def runner(self) -> ActiveRun | None:
        """The run this console follows, if any."""
        return self.runs.active

    @property
    def running(self) -> bool:
        return self.runs.active is not None

    def start_run(self, name: str, action: str) -> None:
        self.runs.launch(name, action)

    def action_run(self) -> None:
        name = self._selected()
        if name:
            self.start_run(name, "run")

    def action_rollback(self) -> None:
        name = self._selected()
        if name:
            self.start_run(name, "rollback")

    def action_cancel_run(self) -> None:
        if not self.running:
            self.notify("No migration is running.", severity="warning")
            return
        self.runs.ask_cancel()

    async def action_quit(self) -> None:
        if not self.running:
            await self.service.close()
            self.exit(0)
            return
        self.runs.ask_quit()

    def after_run(self, name: str) -> None:
        self.load_overview()
        self.query_one(HistoryPanel).load()
        self.query_one(ChecklistPanel).load(name)


__all__ = ["LIVE", "MigrationConsoleApp"]
