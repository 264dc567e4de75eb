"""`migration-console verify MIGRATION [--json]`: the migration's indexes as the server
has them, and its verification queries. Exit 1 when a check does not hold."""

from __future__ import annotations

from console.cli.context import Context
from console.cli.jsonout import print_json
from console.core.words import IndexVerdict
from console.errors import ExitCode
from console.glyphs import G


async def command(ctx: Context) -> int:
    from console.core import export
    from console.core.verify import verify

    migration = ctx.load_migration()
    s = ctx.settings
    report = await verify(s, migration)
    if ctx.json:
        print_json(export.verify(report))
        return ExitCode.OK if report.ok else ExitCode.FAILED
    from console.cli.render import escape, out

    out.print(f"[bold]verify {escape(migration.name)}[/] on {escape(s.display)}")
    for c in report.indexes:
        mark = f"[green]{G.ok}[/]" if c.verdict == IndexVerdict.OK else f"[red]{G.fail}[/]"
        out.print(f"{mark} {escape(c.spec.name)} on {escape(c.spec.table)}: {c.verdict}")
        if c.state.definition:
            out.print(f"    {escape(c.state.definition)}")
            out.print(f"    size {c.state.size}, idx_scan {c.state.idx_scan}")
        if c.detail:
            out.print(f"    {escape(c.detail)}")
    for q in report.queries:
        mark = f"[green]{G.ok}[/]" if q.ok else f"[red]{G.fail}[/]"
        out.print(f"{mark} query at line {q.statement.line}: {escape(q.statement.first_line)}")
        out.print(f"    result: {escape(q.error or q.result)}")
    out.print(
        "[bold green]All checks hold.[/]" if report.ok else "[bold red]Verification failed.[/]"
    )
    return ExitCode.OK if report.ok else ExitCode.FAILED
