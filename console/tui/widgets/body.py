"""The panels, laid out for the terminal they get.

Below about 160x45 they are tabs: one panel at a time. From there on they are a
dashboard: the migrations and one side panel (the checklist, unless verify, plan
or history was chosen) on the left, the run log and the Blockers lock tree on the
right, so an incident needs no switching. The layout follows the terminal's size
live; every panel keeps its place in the tree, only what is shown changes.
"""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical

from console.tui.widgets.blockers import BlockersPanel
from console.tui.widgets.checklist import ChecklistPanel
from console.tui.widgets.history import HistoryPanel
from console.tui.widgets.migrations import MigrationsPanel
from console.tui.widgets.plan import PlanPanel
from console.tui.widgets.run_log import RunPanel
from console.tui.widgets.verify import VerifyPanel

TITLES = {
    "migrations": "Migrations",
    "checklist": "Checklist",
    "run": "Run",
    "blockers": "Blockers",
    "verify": "Verify",
    "plan": "Plan",
    "history": "History",
}
PANELS = tuple(TITLES)
SIDE = ("checklist", "verify", "plan", "history")  # one at a time under the migrations
LIVE = ("run", "blockers")  # both at once on a dashboard
DASHBOARD = (160, 45)  # the smallest terminal that gets the dashboard


def is_dashboard(width: int, height: int) -> bool:
    return width >= DASHBOARD[0] and height >= DASHBOARD[1]


class Body(Horizontal):
    def compose(self) -> ComposeResult:
        with Vertical(id="side"):
            yield MigrationsPanel(id="migrations", classes="panel")
            yield ChecklistPanel(id="checklist", classes="panel")
            yield VerifyPanel(id="verify", classes="panel")
            yield PlanPanel(id="plan", classes="panel")
            yield HistoryPanel(id="history", classes="panel")
        with Vertical(id="live"):
            yield RunPanel(id="run", classes="panel")
            yield BlockersPanel(id="blockers", classes="panel")

    def on_mount(self) -> None:
        for key, title in TITLES.items():
            self.query_one(f"#{key}").border_title = title

    def show_panels(self, active: str, side: str, dashboard: bool) -> None:
        """Show the active panel (tabs), or the dashboard with ``side`` on the left."""
        shown = {"migrations", side, *LIVE} if dashboard else {active}
        self.set_class(dashboard, "-dashboard")
        for key in PANELS:
            self.query_one(f"#{key}").display = key in shown
        self.query_one("#side").display = bool(shown - set(LIVE))
        self.query_one("#live").display = bool(shown & set(LIVE))
