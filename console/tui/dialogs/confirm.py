"""A confirmation modal that names what will happen and returns True or False."""

from __future__ import annotations

from textual import events
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Label, Static

from console.tui.dialogs.fit import CHROME_ROWS, fit

BODY_ROWS = 10  # what the run will do, and its statements: this many, then it scrolls
# (and the line under the body: CHROME_ROWS + 1)


class ConfirmModal(ModalScreen[bool]):
    BINDINGS = [
        Binding("escape,n", "answer(False)", "No", show=True),
        Binding("y", "answer(True)", "Yes", show=True),
    ]

    def __init__(self, title: str, body: str, yes: str = "Yes", no: str = "No") -> None:
        super().__init__()
        self.title_text = title
        self.body = body
        self.yes = yes
        self.no = no

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog", classes="dialog"):
            yield Label(self.title_text, classes="dialog-title")
            with VerticalScroll(classes="dialog-body"):
                yield Static(self.body, markup=False)
            with Horizontal(classes="dialog-buttons"):
                yield Button(f"{self.no} (n)", id="no", variant="primary")
                yield Button(f"{self.yes} (y)", id="yes", variant="error")

    def on_mount(self) -> None:
        self.query_one("#no", Button).focus()
        self.on_resize()

    def on_resize(self, _event: events.Resize | None = None) -> None:
        fit(self.query_one(".dialog-body"), self.app.size, BODY_ROWS, CHROME_ROWS + 1)

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        self.dismiss(event.button.id == "yes")

    def action_answer(self, value: bool) -> None:
        self.dismiss(value)
