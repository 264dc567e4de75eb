"""Printing for the CLI: events as they happen, reports as tables, errors as sentences.

rich is imported when something is first printed through it, not with this module:
`main` imports ``error`` for every command, and a run's face has better things to do
before its runner starts (see ``launch``). ``out``, ``err`` and ``escape`` are made on
first use (PEP 562 ``__getattr__``).
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    from console.core import events as ev

    out: Console
    err: Console

__all__ = ["err", "error", "escape", "out", "table", "EventPrinter"]


def __getattr__(name: str) -> Any:
    if name in ("out", "err"):
        from rich.console import Console

        made = Console(stderr=name == "err", highlight=False, soft_wrap=True)
        globals()[name] = made
        return made
    if name == "escape":
        from rich.markup import escape

        globals()[name] = escape
        return escape
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def console(stderr: bool = False) -> Console:
    """``out`` or ``err``, made now if it is not yet."""
    return __getattr__("err" if stderr else "out")


def _escape(text: str) -> str:
    return __getattr__("escape")(text)


def error(message: str, hint: str = "") -> None:
    to = console(stderr=True)
    to.print(f"[bold red]error:[/] {_escape(message)}")
    if hint:
        to.print(f"  {_escape(hint)}")


def table(*columns: str, title: str | None = None) -> Table:
    from rich.table import Table

    t = Table(title=title, title_justify="left", show_edge=False, pad_edge=False, expand=False)
    for c in columns:
        t.add_column(c, overflow="fold")
    return t


TONES = {
    "head": "bold",
    "step": "cyan",
    "ok": "green",
    "error": "red",
    "warn": "yellow",
    "note": "",
    "dim": "dim",
}


class EventPrinter:
    """Prints a run's events as lines; build progress at most every two seconds per phase."""

    def __init__(self) -> None:
        self.total = 0
        self._last_progress = 0.0
        self._last_phase: str | None = None
        self._out = console()  # rich, now: a run's face makes it while its runner starts

    def __call__(self, event: ev.Event) -> None:
        from console.core import events as ev
        from console.core.narrate import event_lines

        if isinstance(event, ev.RunStarted):
            self.total = event.statements
        elif isinstance(event, ev.StatementStarted):
            self._last_phase = None
        elif isinstance(event, ev.IndexProgress):
            now = time.monotonic()
            if event.phase == self._last_phase and now - self._last_progress < 2.0:
                return
            self._last_phase, self._last_progress = event.phase, now
        for tone, text in event_lines(event, self.total):
            style = TONES.get(tone, "")
            self._out.print(f"[{style}]{_escape(text)}[/]" if style else _escape(text))
