"""Printing for the CLI: events as they happen, reports as tables, errors as sentences."""

from __future__ import annotations

import time

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from console.cli.jsonout import print_json
from console.core import events as ev
from console.core import narrate

__all__ = ["err", "error", "escape", "out", "print_json", "table", "EventPrinter"]

out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, soft_wrap=True)


def error(message: str, hint: str = "") -> None:
    err.print(f"[bold red]error:[/] {escape(message)}")
    if hint:
        err.print(f"  {escape(hint)}")


def table(*columns: str, title: str | None = None) -> Table:
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

    def __call__(self, event: ev.Event) -> None:
        if isinstance(event, ev.RunStarted):
            self.total = event.statements
        elif isinstance(event, ev.StatementStarted):
            self._last_phase = None
        elif isinstance(event, ev.IndexProgress):
            now = time.monotonic()
            if event.phase == self._last_phase and now - self._last_progress < 2.0:
                return
            self._last_phase, self._last_progress = event.phase, now
        for tone, text in narrate.event_lines(event, self.total):
            style = TONES.get(tone, "")
            out.print(f"[{style}]{escape(text)}[/]" if style else escape(text))
