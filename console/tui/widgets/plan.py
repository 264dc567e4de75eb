"""The Plan panel: statements, the locks they take, what those block, lint findings."""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual import work
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import DataTable, Static

from console.errors import ConsoleError
from console.glyphs import G
from console.tui.widgets.panel import Panel

if TYPE_CHECKING:
    from console.core.model import MigrationPlan


class PlanPanel(Panel, Vertical):
    """The plan of the selected migration; squawk's lint runs in a thread."""

    def compose(self) -> ComposeResult:
        yield Static("Select a migration (1) to see its plan.", id="plan-summary", markup=False)
        table: DataTable[str] = DataTable(id="plan-table", cursor_type="row")
        table.add_columns("#", "lock", "blocks", "statement", "line", "tx")
        yield table
        yield Static("", id="plan-lint", markup=False)

    def on_mount(self) -> None:
        self.follow_selection(self.load)

    @work(group="plan", exclusive=True, thread=True, exit_on_error=False)
    def load(self, name: str) -> None:
        """Plan it off the event loop: squawk is a subprocess, and a big file takes time."""
        try:
            plan = self.service.plan(name)
        except ConsoleError as exc:
            self.app.call_from_thread(self.console.report, exc)
            return
        self.app.call_from_thread(self.show, plan)

    def show(self, plan: MigrationPlan) -> None:
        sp = plan.section
        self.query_one("#plan-summary", Static).update(
            f"{plan.migration.name} {G.dash} {sp.section.name}: {sp.reason}"
        )
        table = self.query_one(DataTable)
        table.clear()
        for p in sp.statements:
            target = f" on {', '.join(p.targets)}" if p.targets else ""
            table.add_row(
                str(p.statement.number),
                p.lock or "-",
                ", ".join(p.blocks) or "nothing",
                p.kind + target,
                str(p.statement.line),
                "yes" if p.transactional else "no",
            )
        if plan.findings:
            lines = [f"lint (squawk), {len(plan.findings)} finding(s):"]
            lines += [f"  line {f.line}: {f.level} {f.rule}: {f.message}" for f in plan.findings]
        else:
            lines = ["lint (squawk): no findings"]
        self.query_one("#plan-lint", Static).update("\n".join(lines))
