"""A modal that names the situation and offers a few choices, each with its own key.

Returns the chosen value (and the note, when the dialog asks for one), or None
when the operator leaves it (escape).
"""

from __future__ import annotations

from dataclasses import dataclass

from textual import events
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Input, Label, OptionList, Static
from textual.widgets.option_list import Option

from console.tui.dialogs.fit import FRAME_ROWS, fit

BODY_ROWS = 8  # the situation: this many lines, then it scrolls
CHOICES_SHOWN = 6  # console.tcss, #choices' max-height


@dataclass(frozen=True)
class Choice:
    key: str  # the key that picks it
    label: str
    value: str


@dataclass(frozen=True)
class Chosen:
    value: str
    note: str = ""


class ChoiceModal(ModalScreen[Chosen | None]):
    BINDINGS = [Binding("escape", "leave", "Leave", show=True)]

    def __init__(
        self, title: str, body: str, choices: list[Choice], *, note: str | None = None
    ) -> None:
        super().__init__()
        self.title_text = title
        self.body = body
        self.choices = choices
        self.note_prompt = note  # ask for a note (shown above the choices) when set

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog", classes="dialog"):
            yield Label(self.title_text, classes="dialog-title")
            with VerticalScroll(classes="dialog-body", id="choice-body"):
                yield Static(self.body, markup=False)
            if self.note_prompt is not None:
                yield Input("", id="note", placeholder=self.note_prompt, compact=True)
            yield OptionList(
                *(Option(f"{c.key}  {c.label}", id=c.value) for c in self.choices),
                id="choices",
                compact=True,
            )

    def on_mount(self) -> None:
        self.query_one(OptionList).focus()
        self.on_resize()

    def on_resize(self, _event: events.Resize | None = None) -> None:
        # Under the body: the line under it, the note, the choices.
        below = 1 + (self.note_prompt is not None) + min(len(self.choices), CHOICES_SHOWN)
        fit(self.query_one("#choice-body"), self.app.size, BODY_ROWS, FRAME_ROWS + below)

    def on_key(self, event: events.Key) -> None:
        if isinstance(self.focused, Input):
            return
        for c in self.choices:
            if event.key == c.key:
                event.stop()
                self._choose(c.value)
                return

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self._choose(str(event.option.id))

    def _choose(self, value: str) -> None:
        note = self.query_one("#note", Input).value if self.note_prompt is not None else ""
        self.dismiss(Chosen(value, note.strip()))

    def action_leave(self) -> None:
        self.dismiss(None)
