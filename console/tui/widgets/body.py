"""The panels, laid out for the terminal they get.

Below about 160x45 they are tabs: one panel at a time. From there on they are a
dashboard: the migrations and one side panel (the checklist, unless verify, plan
or history was chosen) on the left, the run log and the Blockers lock tree on the
right, so an incident needs no switching. The layout follows the terminal's size
live; every panel keeps its place in the tree, only what is shown changes.

The first frame holds only the panels it shows; the others are mounted right
after it (``mount_rest``), or at once when asked for before that: styling five
hidden panels' widgets made the first screen wait about 30 ms.
"""

from __future__ import annotations

from textual import events
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.widget import AwaitMount, Widget

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
CLASSES: dict[str, type[Widget]] = {
    "migrations": MigrationsPanel,
    "checklist": ChecklistPanel,
    "verify": VerifyPanel,
    "plan": PlanPanel,
    "history": HistoryPanel,
    "run": RunPanel,
    "blockers": BlockersPanel,
}
DASHBOARD = (160, 45)  # the smallest terminal that gets the dashboard


def is_dashboard(width: int, height: int) -> bool:
    """Whether a terminal this size gets the dashboard."""
    return width >= DASHBOARD[0] and height >= DASHBOARD[1]


class Body(Horizontal):
    """The panels and which of them show; it remembers, per panel, where the focus was."""

    class Shown(Message):
        """The active panel changed (the tab strip follows)."""

        def __init__(self, panel: str) -> None:
            super().__init__()
            self.panel = panel

    def __init__(self, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.active = "migrations"  # the panel shown (tabs) or focused (dashboard)
        self.side = "checklist"  # the dashboard's panel under the migrations
        self.dashboard = False
        self._target: str | None = None  # the panel show() is moving the focus into

    def compose(self) -> ComposeResult:
        first = self._shown(is_dashboard(*self.app.size))
        with Vertical(id="side"):
            yield from (self._make(k) for k in ("migrations", *SIDE) if k in first)
        with Vertical(id="live"):
            yield from (self._make(k) for k in LIVE if k in first)

    @staticmethod
    def _make(key: str) -> Widget:
        panel = CLASSES[key](id=key, classes="panel")
        panel.border_title = TITLES[key]
        return panel

    def panel(self, key: str) -> Widget:
        """The panel ``key``, mounted now if the first frame left it out."""
        found = self.query(f"#{key}")
        if not found:
            self._mount(key)
        return self.query_one(f"#{key}")

    def _mount(self, key: str) -> AwaitMount:
        column = self.query_one("#side" if key not in LIVE else "#live", Vertical)
        order = ("migrations", *SIDE) if key not in LIVE else LIVE
        after = [k for k in order[order.index(key) + 1 :] if self.query(f"#{k}")]
        panel = self._make(key)
        panel.display = False  # until _arrange shows it
        return column.mount(panel, before=f"#{after[0]}" if after else None)

    async def mount_rest(self) -> None:
        """Mount, and wait for, the panels the first frame left out."""
        pending = [self._mount(k) for k in PANELS if not self.query(f"#{k}")]
        self._arrange()
        for mounting in pending:
            await mounting

    def fit(self, width: int, height: int) -> None:
        """Tabs or dashboard, for a terminal of this size."""
        self.dashboard = is_dashboard(width, height)
        self._arrange()

    def show(self, panel: str) -> None:
        """Bring a panel forward (tabs) or put the focus in it (dashboard)."""
        self._remember_focus()  # before hiding a panel moves the focus around in it
        self._target = panel
        self._activate(panel)
        self._arrange()
        self.call_after_refresh(self._focus, panel)

    def _activate(self, panel: str) -> None:
        if panel != self.active:
            self.post_message(self.Shown(panel))
        self.active = panel
        if panel in SIDE:
            self.side = panel

    def _shown(self, dashboard: bool) -> set[str]:
        return {"migrations", self.side, *LIVE} if dashboard else {self.active}

    def _arrange(self) -> None:
        shown = self._shown(self.dashboard)
        self.set_class(self.dashboard, "-dashboard")
        for key in shown:
            self.panel(key)  # mounted if the first frame left it out
        for widget in self.query(".panel"):
            widget.display = widget.id in shown
        self.query_one("#side").display = bool(shown - set(LIVE))
        self.query_one("#live").display = bool(shown & set(LIVE))

    def _focus(self, panel: str) -> None:
        """Keyboard first: the panel's widget the operator used last, else its first."""
        if self.active != panel:
            return  # a later switch already happened: do not pull the focus back
        self._target = None
        widget = self.panel(panel)
        last = getattr(widget, "last_focus", None)
        if last is not None and last.is_attached and last.focusable:
            last.focus(scroll_visible=False)
            return
        for child in widget.query("*"):
            if child.focusable:
                child.focus(scroll_visible=False)
                return

    def _panel_of(self, widget: Widget | None) -> Widget | None:
        for node in widget.ancestors_with_self if widget is not None else ():
            if isinstance(node, Widget) and node.id in TITLES and node.has_class("panel"):
                return node
        return None

    def _remember_focus(self) -> None:
        focused = self.app.focused
        panel = self._panel_of(focused)
        if panel is not None:
            panel.last_focus = focused  # type: ignore[attr-defined]

    def on_descendant_focus(self, event: events.DescendantFocus) -> None:
        """Remember where the focus is; on a dashboard, the focused panel is the active one."""
        if event.widget is not self.app.focused:
            return  # stale: the focus has moved on since
        panel = self._panel_of(event.widget)
        if panel is None or not (self.dashboard or panel.id == self.active):
            return
        if self._target not in (None, panel.id):
            return  # hiding a panel pushed the focus here on its way to the one asked for
        panel.last_focus = event.widget  # type: ignore[attr-defined]
        if self.dashboard:
            self._activate(str(panel.id))
