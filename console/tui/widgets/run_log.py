"""The Run panel: the execution log streamed live, a progress bar with the build phase,
elapsed time, and what the statement waits for (and how long). Lines are collected
and flushed a few times a second, so bursts of thousands of lines never freeze the
interface. The run's own event log (JSON lines) is written by its runner process."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import Label, Log, ProgressBar, Static

from console.core.durations import duration, short
from console.core.narrate import event_lines, progress_text
from console.glyphs import G
from console.lazy import lazy

if TYPE_CHECKING:
    from console.core import events as ev
else:
    ev = lazy("console.core.events")  # its dataclasses load with the first event

MAX_LINES = 20_000
FLUSH_S = 0.1


class RunPanel(Vertical):
    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self._pending: list[str] = []
        self._started: float | None = None
        self._total = 0
        self._current = ""
        self._phase = ""
        self._wait: tuple[str, float, float] | None = None  # (what, waited, since)
        self.log_path: Path | None = None

    def compose(self) -> ComposeResult:
        yield Static("No run yet. Select a migration and press r to run it.", id="run-status")
        with Horizontal(id="run-progress-row", classes="-idle"):
            yield Label("", id="run-phase")
            yield ProgressBar(total=100, show_eta=False, id="run-progress")
        yield Log(max_lines=MAX_LINES, id="run-log", auto_scroll=True)

    def on_show(self) -> None:
        self.query_one(Log).scroll_end(animate=False)

    def on_mount(self) -> None:
        self.set_interval(FLUSH_S, self.flush)
        self.set_interval(0.5, self._tick)

    # -- feeding -------------------------------------------------------------------------

    def begin(self, log: str | None) -> None:
        if self.query_one(Log).line_count or self._pending:
            self._pending.append(G.rule * 60)
        self.flush()
        self._started = time.monotonic()
        self._total = 0
        self._phase = ""
        self._wait = None
        self.log_path = Path(log) if log else None
        self.query_one("#run-progress", ProgressBar).update(total=100, progress=0)

    def write(self, lines: list[str]) -> None:
        self._pending.extend(lines)

    def handle(self, e: ev.Event) -> None:
        if isinstance(e, ev.RunStarted):
            self._total = e.statements
            # elapsed since the run started, also for a run found already going
            age = (datetime.now(UTC) - e.started_at).total_seconds()
            self._started = time.monotonic() - max(0.0, age)
        if isinstance(e, ev.StatementStarted):
            self._current = f"statement {e.number}/{self._total}, line {e.line}"
            if self._phase:  # only a statement that showed progress needs its bar reset
                self._phase = ""
                self.query_one("#run-progress", ProgressBar).update(total=100, progress=0)
        if isinstance(e, ev.IndexProgress):
            self._progress(e)
            return
        if isinstance(e, ev.Waiting):
            what = "other transactions" if e.kind == ev.TRANSACTIONS_WAIT else "a lock"
            who = ", ".join(f"pid {p}" for p in e.blockers) or "?"
            self._wait = (f"{what} ({who})", e.waited_s, time.monotonic())
        elif isinstance(e, ev.WaitEnded | ev.StatementFinished | ev.StatementFailed):
            self._wait = None
        if isinstance(e, ev.StatementFinished) and self._phase:
            self.query_one("#run-progress", ProgressBar).update(total=100, progress=100)
        self._pending.extend(text for _tone, text in event_lines(e, self._total))
        if isinstance(e, ev.RunFinished):
            self.flush()
            self._started = None
            self.query_one("#run-progress-row").add_class("-idle")
            where = f" {G.sep} log {self.log_path}" if self.log_path else ""
            self._current = (
                f"{e.result.action} {e.result.status} in {duration(e.result.duration_s)}{where}"
            )
            self._wait = None
            self._tick()

    def _progress(self, e: ev.IndexProgress) -> None:
        self.query_one("#run-progress-row").remove_class("-idle")
        bar = self.query_one("#run-progress", ProgressBar)
        if e.waiting:
            bar.update(total=None)  # a wait has no percentage: the bar says "working"
        elif e.fraction is not None:
            bar.update(total=100, progress=round(e.fraction * 100))
        # The log gets a line when the phase or whom it waits for changes, not per poll.
        key = f"{e.phase} {e.lockers_done}/{e.lockers_total} {e.current_locker_pid}"
        if key != self._phase:
            self._phase = key
            self._pending.extend(text for _tone, text in event_lines(e, self._total))
        self.query_one("#run-phase", Label).update(progress_text(e))

    def flush(self) -> None:
        if not self._pending:
            return
        lines, self._pending = self._pending, []
        self.query_one(Log).write_lines(lines, scroll_end=True)

    def _tick(self) -> None:
        if self._started is None:
            if self._current:
                self.query_one("#run-status", Static).update(self._current)
            return
        now = time.monotonic()
        waiting = ""
        if self._wait is not None:
            what, waited, since = self._wait
            waiting = f" {G.sep} {G.wait} {short(waited + now - since)} for {what}"
        self.query_one("#run-status", Static).update(
            f"{self._current}{waiting} {G.sep} {short(now - self._started)} elapsed "
            f"{G.sep} x cancels"
        )

    @property
    def lines(self) -> list[str]:
        self.flush()
        return list(self.query_one(Log).lines)
