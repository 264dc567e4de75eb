"""The Verify panel: each index with definition, validity, size and usage; the file's queries."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.message import Message
from textual.widgets import DataTable, Static

from console.core.words import IndexVerdict
from console.errors import ConsoleError
from console.glyphs import G
from console.lazy import lazy
from console.tui.widgets.panel import Panel

if TYPE_CHECKING:
    from console.core import measure
    from console.core.measure import QueryComparison
    from console.core.verify import VerifyReport
else:
    measure = lazy("console.core.measure")

VERDICT_STYLE: dict[str, str] = {
    IndexVerdict.OK: "green",
    IndexVerdict.MISSING: "bold red",
    IndexVerdict.INVALID: "bold red",
    IndexVerdict.DIFFERENT: "bold red",
}


class VerifyPanel(Panel, Vertical):
    """The verification of the selected migration, and before/after performance."""

    class Verified(Message):
        """The checklist's verify item is signed: the checklist is shown again."""

        def __init__(self, migration: str) -> None:
            super().__init__()
            self.migration = migration

    def compose(self) -> ComposeResult:
        yield Static("Press v to verify the selected migration.", id="verify-summary")
        table: DataTable[str | Text] = DataTable(id="verify-indexes", cursor_type="row")
        table.add_columns("index", "verdict", "valid", "size", "idx_scan", "definition / detail")
        yield table
        queries: DataTable[str | Text] = DataTable(id="verify-queries", cursor_type="row")
        queries.add_columns("line", "result", "query")
        yield queries
        yield Static(
            "Performance: run the checklist's baseline and monitor items to compare.",
            id="compare-summary",
        )
        compare: DataTable[str | Text] = DataTable(id="verify-compare", cursor_type="row")
        compare.add_columns(
            "line", "before", "after", "change", f"access path before {G.arrow} after"
        )
        yield compare

    def verify_selected(self) -> None:
        """v: verify the selected migration, here."""
        name = self.console.selected_migration()
        if name:
            self.console.action_show_tab("verify")
            self.verify(name)

    @work(group="verify", exclusive=True, exit_on_error=False)
    async def verify(self, name: str) -> None:
        """Verify, show, and sign the checklist's verify item with what was found."""
        try:
            report = await self.service.verify(name)
        except ConsoleError as exc:
            self.console.report(exc)
            return
        self.show(report)
        self.compare(name)
        self.service.record_verify(name, report)
        self.post_message(self.Verified(name))

    def compare(self, name: str) -> None:
        """The queries' timings before and after the migration, once both were measured."""
        self.show_comparison(self.service.comparison(name))

    def show_comparison(self, rows: list[QueryComparison]) -> None:
        if not rows:
            return
        faster = sum(1 for r in rows if r.change_pct is not None and r.change_pct < 0)
        self.query_one("#compare-summary", Static).update(
            f"Performance, baseline {G.arrow} after the migration: {faster} of {len(rows)} "
            "queries faster"
        )
        table = self.query_one("#verify-compare", DataTable)
        table.clear()
        for r in rows:
            change = Text("-")
            if r.change_pct is not None:
                change = Text(f"{r.change_pct:+.0f}%", "green" if r.change_pct < 0 else "red")
            table.add_row(
                str(r.line),
                _ms(r.before_ms),
                _ms(r.after_ms),
                change,
                f"{measure.main_access_path(r.before_paths)} {G.arrow} "
                f"{measure.main_access_path(r.after_paths)}",
            )

    def show(self, report: VerifyReport) -> None:
        verdict = (
            Text("all checks hold", "green")
            if report.ok
            else Text("verification failed", "bold red")
        )
        self.query_one("#verify-summary", Static).update(Text(f"{report.migration}: ") + verdict)
        table = self.query_one("#verify-indexes", DataTable)
        table.clear()
        for c in report.indexes:
            style = VERDICT_STYLE.get(c.verdict, "")
            valid = "-" if c.state.valid is None else ("yes" if c.state.valid else "NO")
            table.add_row(
                c.spec.name,
                Text(c.verdict, style=style),
                valid,
                c.state.size or "-",
                "-" if c.state.idx_scan is None else str(c.state.idx_scan),
                c.detail or c.state.definition or "",
            )
        queries = self.query_one("#verify-queries", DataTable)
        queries.clear()
        for q in report.queries:
            mark = f"[green]{G.ok}[/]" if q.ok else f"[bold red]{G.fail}[/]"
            queries.add_row(
                str(q.statement.line), f"{mark} {q.error or q.result}", q.statement.first_line
            )


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f} ms"
