"""Sign off a checklist item: who (defaulting to the operator) and an optional note."""

from __future__ import annotations

from dataclasses import dataclass

from textual import events
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label

from console.tui.dialogs.fit import fit

FIELDS_ROWS = 11  # the item, who, the note: all of them when the screen has room


@dataclass(frozen=True)
class SignOff:
    by: str
    note: str
    state: str  # "done" or "skipped"


class SignOffModal(ModalScreen[SignOff | None]):
    BINDINGS = [Binding("escape", "cancel", "Cancel", show=True)]

    def __init__(self, item_title: str, operator: str) -> None:
        super().__init__()
        self.item_title = item_title
        self.operator = operator

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog", classes="dialog"):
            yield Label("Sign off", classes="dialog-title")
            with VerticalScroll(classes="dialog-fields"):  # scrolls on a short terminal
                yield Label(self.item_title, classes="dialog-body")
                yield Label("Signed off by")
                yield Input(self.operator, id="by", placeholder="your name")
                yield Label("Note (optional)")
                yield Input(
                    "", id="note", placeholder="e.g. Railway backup 2025-11-23 18:50 verified"
                )
            with Horizontal(classes="dialog-buttons"):
                yield Button("Cancel", id="cancel")
                yield Button("Skip item", id="skipped", variant="warning")
                yield Button("Done", id="done", variant="success")

    def on_mount(self) -> None:
        self.query_one("#note", Input).focus()
        self.on_resize()

    def on_resize(self, _event: events.Resize | None = None) -> None:
        fit(self.query_one(".dialog-fields"), self.app.size, FIELDS_ROWS)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self._finish("done")

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        if event.button.id == "cancel":
            self.dismiss(None)
        else:
            self._finish(str(event.button.id))

    def _finish(self, state: str) -> None:
        by = self.query_one("#by", Input).value.strip()
        if not by:
            self.notify("Say who signs off.", severity="warning")
            self.query_one("#by", Input).focus()
            return
        self.dismiss(SignOff(by, self.query_one("#note", Input).value.strip(), state))

    def action_cancel(self) -> None:
        self.dismiss(None)
