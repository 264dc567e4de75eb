"""The operator console: the App wires the panels; each panel owns its behaviour.

The panels live in ``widgets/`` (one per module) and do their own database work
in workers through ``ConsoleService``; runs (start, cancel, quit during a run, what
a run changed) go through ``RunController``. The App holds the selected migration,
composes the screen, starts the panels after the first frame and routes keys and
messages to them; which keys work is ``keys``, a crash's sentence ``crash``.
"""

from __future__ import annotations

import gc
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from textual import events, on
from textual.app import ComposeResult, SystemCommand
from textual.reactive import var
from textual.screen import Screen
from textual.widgets import Tab, Tabs

from console.errors import ConsoleError
from console.tui import keys
from console.tui.crash import CrashSentenceApp
from console.tui.rehearsals import Rehearsals
from console.tui.run_controller import RunController
from console.tui.theme import apply_theme
from console.tui.widgets.banner import Banner
from console.tui.widgets.blockers import BlockersPanel
from console.tui.widgets.body import PANELS, TITLES, Body
from console.tui.widgets.checklist import ChecklistPanel
from console.tui.widgets.history import HistoryPanel
from console.tui.widgets.keybar import KeyBar
from console.tui.widgets.migrations import MigrationsPanel
from console.tui.widgets.topbar import TopBar
from console.tui.widgets.verify import VerifyPanel

if TYPE_CHECKING:
    from pathlib import Path

    from console.core.run import RunOptions
    from console.core.service import ConsoleService


class MigrationConsoleApp(CrashSentenceApp):
    CSS_PATH = "console.tcss"
    TITLE = "migration console"
    BINDINGS = keys.BINDINGS

    # The migration chosen: the Plan and Checklist panels watch it and load it.
    selected: var[str | None] = var(None, init=False)

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
        super().__init__(service.settings, debug=debug)  # --debug: a crash's traceback
        self.service = service
        self.refresh_s = refresh_s
        self.start_refresh = start_refresh
        self.doctor_at_start = doctor
        self.runs = RunController(self, options, notes)  # notes: stored with every run
        # The demo's practice hangs, offered only where `demo` opened the console.
        self.rehearsals = Rehearsals(self, rehearsals) if rehearsals is not None else None

    # -- layout ---------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        yield TopBar(self.service.settings.place)
        yield Banner()
        yield Tabs(*(Tab(TITLES[t], id=t) for t in PANELS), id="tabs")  # in the keys' order
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
        self.runs.check()
        self.query_one(BlockersPanel).start(self.refresh_s, self.start_refresh)

    def on_resize(self, event: events.Resize) -> None:
        self.query_one(Body).fit(event.size.width, event.size.height)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        return keys.allowed(self, action)

    def get_system_commands(self, screen: Screen[Any]) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)
        yield from keys.palette(self)

    # -- banner, errors ------------------------------------------------------------------------

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
        self.selected = event.name
        self.action_show_tab("checklist")

    def selected_migration(self) -> str | None:
        """What r, b and v act on: the chosen migration, else the table's (and a word if none)."""
        self.selected = self.selected or self.query_one(MigrationsPanel).selected
        if self.selected is None:
            self.notify("Select a migration first (1).", severity="warning")
        return self.selected

    # -- what the database says ----------------------------------------------------------------

    def load_overview(self) -> None:
        self.query_one(MigrationsPanel).load()

    def refresh_blockers(self) -> None:
        self.query_one(BlockersPanel).refresh_now()

    def action_blockers(self, what: str = "pause") -> None:
        self.query_one(BlockersPanel).control(what)

    # -- verify: the Verify panel does it; the checklist and the comparison follow ------------

    def action_verify(self) -> None:
        self.query_one(VerifyPanel).verify_selected()

    @on(VerifyPanel.Verified)
    def verified(self, event: VerifyPanel.Verified) -> None:
        self.query_one(ChecklistPanel).load(event.migration)

    @on(ChecklistPanel.Monitored)
    def monitored(self, event: ChecklistPanel.Monitored) -> None:
        self.query_one(VerifyPanel).compare(event.migration)

    # -- run, rollback, cancel, quit: the run controller does them, each in a worker -----------

    def action_run(self) -> None:
        self.runs.launch_selected("run")

    def action_rollback(self) -> None:
        self.runs.launch_selected("rollback")

    def action_cancel_run(self) -> None:
        self.runs.ask_cancel()

    async def action_quit(self) -> None:
        await self.runs.ask_quit()


__all__ = ["MigrationConsoleApp"]
