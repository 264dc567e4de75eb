"""The console itself (the TUI): `migration-console` with no command, and `demo`'s.
This is the command line's one import of ``console.tui``, made when it opens."""

from __future__ import annotations

from console.cli.context import Context
from console.errors import ExitCode


async def command(ctx: Context) -> int:
    from console.cli.render import escape, out
    from console.tui.app import MigrationConsoleApp

    service = ctx.service()
    app = MigrationConsoleApp(
        service,
        options=ctx.options,
        notes=ctx.notes,
        debug=ctx.debug,
        rehearsals=ctx.rehearsals,
    )
    try:
        code = await app.run_async()
    finally:
        await service.close()
    left = app.runs.left
    if left is not None:
        out.print(
            f"{left.action} {escape(left.migration)} goes on in runner pid {left.runner_pid}: "
            f"`migration-console attach {escape(left.migration)}` follows it, "
            f"`migration-console cancel {escape(left.migration)}` stops it."
        )
    if app.return_code:  # the console stopped on an error: it has said which
        return ExitCode.FAILED
    return int(code or 0)
