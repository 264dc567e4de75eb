"""`migration-console plan MIGRATION [--rollback] [--json]`: each statement, the lock it
takes, what that lock blocks, and squawk's findings."""

from __future__ import annotations

from console.cli.context import Context
from console.cli.jsonout import print_json
from console.errors import ExitCode
from console.glyphs import G


async def command(ctx: Context) -> int:
    from console.core import export
    from console.core.model import DOWN, UP
    from console.core.plan import plan_migration

    migration = ctx.load_migration()
    plan = plan_migration(migration, DOWN if ctx.rollback else UP)
    if ctx.json:
        print_json(export.plan(plan))
        return ExitCode.OK
    from console.cli.render import escape, out, table

    sp = plan.section
    out.print(
        f"[bold]{escape(migration.name)}[/] {G.dash} {sp.section.name} section: {escape(sp.reason)}"
    )
    t = table("#", "line", "statement", "lock", "blocks", "tx")
    for p in sp.statements:
        target = f" on {', '.join(p.targets)}" if p.targets else ""
        t.add_row(
            str(p.statement.number),
            str(p.statement.line),
            escape(p.kind + target),
            p.lock or "-",
            ", ".join(p.blocks) or "nothing",
            "yes" if p.transactional else "no",
        )
    out.print(t)
    if plan.findings:
        out.print("[bold]lint (squawk):[/]")
        for f in plan.findings:
            out.print(
                f"  {migration.path.name}:{f.line}:{f.column} {f.level} {f.rule}: "
                f"{escape(f.message)}"
            )
    else:
        out.print("lint (squawk): no findings")
    return ExitCode.OK
