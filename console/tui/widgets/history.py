"""The History panel: history.toml's migration table and its runs."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import DataTable, Label

from console.core.history import HistoryData
from console.core.narrate import duration


class HistoryPanel(Vertical):
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
