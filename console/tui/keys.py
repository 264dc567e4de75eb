"""The console's keys and its command palette: what the operator can ask for, and how.

The key bar (``widgets/keybar.py``) shows the bindings marked ``show``; the palette
(Ctrl-P) offers the same actions by name, and the demo's rehearsals where ``demo``
opened the console. ``allowed`` is the App's check_action: which keys work now.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from textual.app import SystemCommand
from textual.binding import Binding, BindingType
from textual.widgets import Input

from console.tui.widgets.banner import Banner
from console.tui.widgets.body import PANELS, TITLES

if TYPE_CHECKING:
    from console.tui.app import MigrationConsoleApp

BINDINGS: list[BindingType] = [
    # priority: under a burst of log lines a panel switch must not queue behind every
    # widget on the way to the app (check_action gives digits back to dialogs)
    *(
        Binding(str(i), f"show_tab('{t}')", TITLES[t], show=False, priority=True)
        for i, t in enumerate(PANELS, 1)
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

CHANGES = ("run", "rollback", "cancel_run")  # the actions --read-only hides


def allowed(app: MigrationConsoleApp, action: str) -> bool | None:
    """--read-only: monitoring only, every action that changes the database hidden."""
    if app.service.read_only and action in CHANGES:
        return False
    if action == "show_tab" and (isinstance(app.focused, Input) or app.screen.is_modal):
        return False  # a digit typed into a dialog stays in the dialog
    if action == "banner":
        return app.query_one(Banner).has_more
    return True


def palette(app: MigrationConsoleApp) -> Iterable[SystemCommand]:
    """The console's own entries in the command palette, after Textual's."""
    for i, tab in enumerate(PANELS, 1):
        yield SystemCommand(
            f"Show {TITLES[tab]}",
            f"Switch to the {TITLES[tab]} panel (key {i})",
            lambda t=tab: app.action_show_tab(t),
        )
    yield SystemCommand(
        "Pause blockers", "Pause or resume the live refresh (p)", app.action_blockers
    )
    if app.rehearsals is not None:
        yield from app.rehearsals.commands()
    if app.service.read_only:
        return
    yield SystemCommand("Run migration", "Run the selected migration (r)", app.action_run)
    yield SystemCommand("Roll back migration", "Run the down section (b)", app.action_rollback)
    yield SystemCommand("Verify migration", "Check indexes and queries (v)", app.action_verify)
    yield SystemCommand(
        "Cancel run", "Cancel the running statement on the server (x)", app.action_cancel_run
    )
