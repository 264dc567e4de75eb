"""The History panel: history.toml's migration table and its runs."""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import DataTable, Label

from console.core.narrate import duration
from console.errors import ConsoleError
from console.lazy import lazy
from console.tui.widgets.panel import Panel

if TYPE_CHECKING:
    from console.core import history
    from console.core.history import HistoryData
else:
    history = lazy("console.core.history")


class HistoryPanel(Panel, Vertical):
    """history.toml: the migration table, the runs, and what operators did during them."""

    def compose(self) -> ComposeResult:
        yield Label("Migration history", classes="section-title")
        rows: DataTable[str] = DataTable(id="history-migrations", cursor_type="row")
        rows.add_columns("date", "migration", "status", "executed by", "result", "notes")
        yield rows
        yield Label("Runs", classes="section-title")
        runs: DataTable[str] = DataTable(id="history-runs", cursor_type="row")
        runs.add_columns(
            "started (UTC)", "migration", "action", "status", "duration", "by", "error"
        )
        yield runs
        yield Label("Operators' actions", classes="section-title")
        acts: DataTable[str] = DataTable(id="history-actions", cursor_type="row")
        acts.add_columns("when (UTC)", "what", "pid", "by", "migration", "session")
        yield acts

    def load(self) -> None:
        try:
            self.show(self.service.history())
        except ConsoleError as exc:
            self.console.report(exc, banner=True)

    def show(self, data: HistoryData) -> None:
        rows = self.query_one("#history-migrations", DataTable)
        rows.clear()
        for m in data.migrations:
            rows.add_row(
                str(m.date or "-"),
                m.migration,
                m.status,
                m.executed_by or "-",
                m.result or "-",
                m.notes,
            )
        runs = self.query_one("#history-runs", DataTable)
        runs.clear()
        for r in reversed(data.runs):
            runs.add_row(
                f"{r.started_at:%Y-%m-%d %H:%M:%S}" if r.started_at else "-",
                r.migration,
                r.action,
                r.status,
                "-" if r.duration_s is None else duration(r.duration_s),
                r.executed_by,
                (r.error or "")[:80],
            )
        acts = self.query_one("#history-actions", DataTable)
        acts.clear()
        for a in history.actions(data):
            acts.add_row(
                f"{a.at:%Y-%m-%d %H:%M:%S}" if a.at else "-",
                a.what,
                "-" if a.pid is None else str(a.pid),
                a.by or "-",
                a.migration or "-",
                a.detail or "-",
            )
