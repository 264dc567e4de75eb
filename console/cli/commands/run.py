"""`migration-console run|rollback MIGRATION [--yes] [options]`: check, ask, launch the
run's runner (it outlives the terminal) and follow it; the exit code is the run's."""

from __future__ import annotations

from console.cli import aio
from console.cli.context import Context
from console.cli.launch import confirm_launch_follow, loading


def command(ctx: Context) -> int:
    action = ctx.command
    ctx.refuse_if_read_only(f"{action} migrations")
    with loading():
        from console.core.history import HistoryStore
        from console.core.run import control
        from console.core.run.options import FAIL
        from console.settings import railway_context

        migration = ctx.load_migration()
        s = ctx.settings
        store = HistoryStore(ctx.history_path)
        history = store.load()  # refuse a corrupt history before touching the database
        options = ctx.options
        aio.run(control.prepare(s, migration, action, history, ctx.migrations_dir, store=store))
        request = control.request_for(
            migration,
            action,
            store.path,
            options=options,
            operator=ctx.operator,
            environment=railway_context(),
            notes=ctx.notes,
            on_max_wait=FAIL,
        )
    return confirm_launch_follow(ctx, migration, request, store)
