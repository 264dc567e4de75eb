"""`migration-console status [--json]`: every migration file and its state on the database."""

from __future__ import annotations

from console.cli.context import Context
from console.cli.jsonout import print_json
from console.errors import ExitCode


async def command(ctx: Context) -> int:
    from console.core import export

    service = ctx.service()
    try:
        rows = await service.statuses()
    finally:
        await service.close()
    s = service.settings
    if ctx.json:
        print_json(export.status(s.display, rows))
        return ExitCode.OK
    from console.cli.render import escape, out, table

    out.print(f"database: {escape(s.display)}")
    t = table("migration", "state", "detail", "last run")
    for r in rows:
        t.add_row(escape(r.name), r.state, escape(r.detail), escape(r.last_run or "-"))
    out.print(t)
    return ExitCode.OK
