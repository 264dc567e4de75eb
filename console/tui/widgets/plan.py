"""The Plan panel: statements, the locks they take, what those block, lint findings."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import DataTable, Static

from console.core.model import MigrationPlan


class PlanPanel(Vertical):
    def compose(self) -> ComposeResult:
        yield Static("Select a migration (1) to see its plan.", id="plan-summary", markup=False)
        table: DataTable[str] = DataTable(id="plan-table", cursor_type="row")
        table.add_columns("#", "line", "statement", "lock", "blocks", "tx")
        yield table
        yield Static("", id="plan-lint", markup=False)

    def show(self, plan: MigrationPlan) -> None:
        sp = plan.section
        self.query_one("#plan-summary", Static).update(
            f"{plan.migration.name} — {sp.section.name}: {sp.reason}"
        )
        table = self.query_one(DataTable)
        table.clear()
        for p in sp.statements:
            target = f" on {', '.join(p.targets)}" if p.targets else ""
            table.add_row(
                str(p.statement.number),
                str(p.statement.line),
                p.kind + target,
                p.lock or "-",
                ", ".join(p.blocks) or "nothing",
                "yes" if p.transactional else "no",
            )
        if plan.findings:
            lines = [f"lint (squawk), {len(plan.findings)} finding(s):"]
            lines += [f"  line {f.line}: {f.level} {f.rule}: {f.message}" for f in plan.findings]
        else:
            lines = ["lint (squawk): no findings"]
        self.query_one("#plan-lint", Static).update("\n".join(lines))
