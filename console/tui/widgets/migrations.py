"""The Migrations panel: every file in migrations/ with its state on this database."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.message import Message
from textual.widgets import DataTable, Static

from console.core.words import Standing
from console.errors import ConsoleError
from console.glyphs import G
from console.tui.widgets.panel import Panel
from console.tui.widgets.table_sync import sync_rows
from console.tui.widgets.topbar import TopBar

if TYPE_CHECKING:
    from console.core.service import Overview
    from console.core.status import MigrationStatus

STATE_STYLE: dict[str, str] = {
    Standing.APPLIED: "green",
    Standing.PENDING: "yellow",
    Standing.PARTIAL: "yellow",
    Standing.INVALID_INDEX: "bold red",
    Standing.UNREADABLE: "bold red",
    Standing.FAILED: "bold red",
}


class MigrationsPanel(Panel, Vertical):
    """Every migration file and its state; loading it also names the server up top."""

    class Chosen(Message):
        def __init__(self, name: str) -> None:
            super().__init__()
            self.name = name

    def compose(self) -> ComposeResult:
        yield Static(f"connecting{G.ellipsis}", id="overview", markup=False)
        table: DataTable[str] = DataTable(
            id="migrations-table", cursor_type="row", zebra_stripes=True
        )
        table.add_columns("migration", "state", "detail", "last run")
        yield table
        yield Static(
            f" {G.sep} ".join(("enter: open checklist", "r: run", "b: rollback", "v: verify")),
            classes="hint",
        )

    @work(group="overview", exclusive=True, exit_on_error=False)
    async def load(self) -> None:
        try:
            overview = await self.service.overview()
            rows = await self.service.statuses()
        except ConsoleError as exc:
            self.console.report(exc, banner=True)
            return
        self.app.query_one(TopBar).show_server(overview.version, overview.railway_text)
        self.show_overview(overview)
        self.show(rows)
        if self.console.selected is None and rows:
            self.console.selected = rows[0].name  # the Plan and Checklist panels load it

    def show_overview(self, o: Overview) -> None:
        railway = f" {G.sep} railway {o.railway_text}" if o.railway_text else ""
        # The top bar names the place and the version; this line adds the role and the
        # connection string (masked), cut at the panel's width rather than wrapped.
        self.query_one("#overview", Static).update(f"role {o.role} {G.sep} {o.database}{railway}")

    def show(self, rows: list[MigrationStatus]) -> None:
        table = self.query_one(DataTable)
        sync_rows(
            table,
            {
                r.name: (
                    r.name,
                    Text(r.state, style=STATE_STYLE.get(r.state, "")),
                    r.detail,
                    r.last_run or "-",
                )
                for r in rows
            },
        )

    @property
    def selected(self) -> str | None:
        table = self.query_one(DataTable)
        if table.row_count == 0:
            return None
        key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key
        return str(key.value)

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        self.post_message(self.Chosen(str(event.row_key.value)))
