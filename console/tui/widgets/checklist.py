"""The Checklist panel: one panel per item, each with its state, who, when and a note.

Items the console can do, it does from the panel (enter); items only a person can
do are signed off (s) with a name and an optional note. Up/down (or tab) move
between items in order.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import TYPE_CHECKING

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.message import Message
from textual.widgets import Static
from textual.worker import Worker

from console.core.words import ItemStatus
from console.errors import ConsoleError
from console.glyphs import G
from console.tui.dialogs.signoff import SignOffModal
from console.tui.widgets.panel import Panel

if TYPE_CHECKING:
    from console.core.checklist import ItemDef, ItemState

STYLE: dict[str, str] = {
    ItemStatus.DONE: "green",
    ItemStatus.FAILED: "bold red",
    ItemStatus.RUNNING: "yellow",
    ItemStatus.SKIPPED: "dim",
}


def _icon(state: str) -> str:
    """The state's mark, from the glyph table in use (console/glyphs.py)."""
    marks: dict[str, str] = {
        ItemStatus.PENDING: G.pending,
        ItemStatus.RUNNING: G.running,
        ItemStatus.DONE: G.done,
        ItemStatus.FAILED: G.fail,
        ItemStatus.SKIPPED: G.skipped,
    }
    return marks.get(state, "?")


def _when(at: datetime | None) -> str:
    return f"{at:%Y-%m-%d %H:%M} UTC" if at else ""


class ChecklistItem(Vertical, can_focus=True):
    BINDINGS = [
        Binding("enter,d", "do", "Do it", key_display=G.enter),
        Binding("s", "sign_off", "Sign off"),
        Binding("down,j", "app.focus_next", "Next", show=False),
        Binding("up,k", "app.focus_previous", "Previous", show=False),
    ]

    class Do(Message):
        def __init__(self, item: ItemDef) -> None:
            super().__init__()
            self.item = item

    class SignOff(Message):
        def __init__(self, item: ItemDef) -> None:
            super().__init__()
            self.item = item

    def __init__(self, number: int, item: ItemDef, state: ItemState) -> None:
        super().__init__(id=f"item-{item.key}", classes="checklist-item")
        self.number = number
        self.item = item
        self.state = state

    def compose(self) -> ComposeResult:
        # Drawn with their text from the start: a load that replaces the items while they
        # mount (the selection changed again) must find nothing half made.
        yield Static(self._head(), id="head")
        yield Static(self._meta(), id="meta", markup=False)

    def on_mount(self) -> None:
        self._mark()

    def update_state(self, state: ItemState) -> None:
        self.state = state
        self.query_one("#head", Static).update(self._head())
        self.query_one("#meta", Static).update(self._meta())
        self._mark()

    def _head(self) -> Text:
        state = self.state
        icon, style = _icon(state.state), STYLE.get(state.state, "")
        how = "console" if self.item.kind == "auto" else "sign-off"
        return Text.assemble(
            (f"{icon} {state.state:<8}", style),
            f" {self.number}. {self.item.title} ",
            (f"({how})", "dim"),
        )

    def _meta(self) -> str:
        state = self.state
        parts = []
        if state.by and state.by not in state.detail:  # a sign-off's detail names who
            parts.append(f"by {state.by} {_when(state.at)}".strip())
        elif state.at and state.state != ItemStatus.PENDING:
            parts.append(_when(state.at))
        if state.note:
            parts.append(f"note: {state.note}")
        if state.detail:
            parts.append(state.detail)
        hint = "enter: do it" if self.item.kind == "auto" and self.item.action else "s: sign off"
        parts.append(hint)
        return f" {G.sep} ".join(parts)

    def _mark(self) -> None:
        for name in ItemStatus:
            self.set_class(self.state.state == name, f"-{name}")

    def on_click(self) -> None:
        self.focus()

    def action_do(self) -> None:
        if self.item.kind == "auto" and self.item.action:
            self.post_message(self.Do(self.item))
        else:
            self.post_message(self.SignOff(self.item))

    def action_sign_off(self) -> None:
        self.post_message(self.SignOff(self.item))


class ChecklistPanel(Panel, VerticalScroll, can_focus=False):
    """The checklist of the selected migration; it does and signs off its items itself."""

    class Monitored(Message):
        """The queries were measured after the migration: the comparison can be shown."""

        def __init__(self, migration: str) -> None:
            super().__init__()
            self.migration = migration

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.migration: str | None = None
        self._wanted: str | None = None  # the checklist asked for last, not loaded yet
        self._loading: Worker[None] | None = None

    def compose(self) -> ComposeResult:
        yield Static("Select a migration (1, enter) to see its checklist.", id="checklist-title")

    def on_mount(self) -> None:
        self.follow_selection(self.load)

    async def show(self, migration: str, items: list[ItemDef], states: list[ItemState]) -> None:
        by_key = {s.key: s for s in states}
        if migration != self.migration or len(self.query(ChecklistItem)) != len(items):
            self.migration = migration
            await self.query(ChecklistItem).remove()
            await self.mount_all(
                ChecklistItem(i, item, by_key[item.key]) for i, item in enumerate(items, 1)
            )
        else:
            for widget in self.query(ChecklistItem):
                widget.update_state(by_key[widget.item.key])
        done = sum(1 for s in states if s.state in (ItemStatus.DONE, ItemStatus.SKIPPED))
        self.query_one("#checklist-title", Static).update(
            f"Checklist for {migration}: {done} of {len(items)} done"
        )

    def mark_running(self, key: str) -> None:
        """Until the console's work on the item ends and the checklist is shown again."""
        for widget in self.query(ChecklistItem):
            if widget.item.key == key:
                widget.update_state(replace(widget.state, state=ItemStatus.RUNNING))

    # -- its behaviour: loading, signing off, doing what the console can ------------------

    def load(self, name: str) -> None:
        """Load (again) the checklist of ``name``. A load asked for while one is under way
        comes after it, with the name asked for last: one is never cancelled while it
        mounts the items (an item then stopped the console, its lines gone)."""
        self._wanted = name
        if self._loading is None or self._loading.is_finished:
            self._loading = self._load_wanted()

    @work(group="checklist", exit_on_error=False)
    async def _load_wanted(self) -> None:
        while self._wanted is not None:
            name, self._wanted = self._wanted, None
            await self._load(name)

    async def _load(self, name: str) -> None:
        try:
            items, states = self.service.checklist(name)
        except ConsoleError as exc:
            self.console.report(exc)
            return
        await self.show(name, items, states)
        if self.console.active == "checklist" and not isinstance(self.app.focused, ChecklistItem):
            last = getattr(self, "last_focus", None)
            if isinstance(last, ChecklistItem) and last.is_attached:
                last.focus(scroll_visible=False)
            else:
                # Without scrolling: the items may not be laid out yet, and the title
                # above the first item should stay in view.
                self.query(ChecklistItem).first().focus(scroll_visible=False)

    @on(ChecklistItem.SignOff)
    def _sign_off(self, event: ChecklistItem.SignOff) -> None:
        event.stop()
        self.ask_sign_off(event.item.key, event.item.title)

    @work(group="confirm", exit_on_error=False)
    async def ask_sign_off(self, key: str, title: str) -> None:
        name = self.migration
        if name is None:
            return
        answer = await self.app.push_screen_wait(SignOffModal(title, self.service.operator))
        if answer is None:
            return
        try:
            self.service.sign_off(name, key, by=answer.by, note=answer.note, state=answer.state)
        except ConsoleError as exc:
            self.console.report(exc)
            return
        self.load(name)

    @on(ChecklistItem.Do)
    def _do(self, event: ChecklistItem.Do) -> None:
        event.stop()
        name, action = self.migration, event.item.action
        if name is None or action is None:
            return
        if action == "execute":
            self.console.runs.launch(name, "run")
        elif action == "verify":
            self.console.action_verify()
        elif action in ("baseline", "monitor", "index_usage"):
            self.mark_running(event.item.key)
            self.measure(name, action)
        elif action == "history":
            self.console.action_show_tab("history")

    @work(group="measure", exclusive=True, exit_on_error=False)
    async def measure(self, name: str, action: str) -> None:
        try:
            message = await self.service.do_item(name, action)
        except ConsoleError as exc:
            self.console.report(exc)
        else:
            self.app.notify(message)
            if action == "monitor":
                self.post_message(self.Monitored(name))
        self.load(name)
