"""`migration-console run|rollback MIGRATION [--yes] [options]`: fork the run's runner (it
outlives the terminal), check, ask, and follow it; the exit code is the run's."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from console.cli.context import Context


def command(ctx: Context) -> int:
    action = ctx.command
    ctx.refuse_if_read_only(f"{action} migrations")
    from console.core.run import early, handoff

    with early.loading():
        # The runner loads the engine while this face reads the command line's inputs
        # and the file; it learns them all, the connection too, from what it is handed.
        runner = early.forked()
        try:
            from console.core.history import HistoryStore, open_runs
            from console.core.migration_file import parse_migration
            from console.core.run.options import FAIL
            from console.core.run.request import plan_for, request_for
            from console.settings import railway_context

            path = ctx.migration_path()
            settings = ctx.settings
            options = ctx.options
            migration = parse_migration(path)
            store = HistoryStore(ctx.history_path)
            history = store.load()  # a corrupt history is refused before anything runs
            store.check_writable()
            plan = plan_for(migration, action)
            request = request_for(
                migration,
                action,
                store.path,
                options=options,
                operator=ctx.operator,
                environment=railway_context(),
                notes=ctx.notes,
                on_max_wait=FAIL,
            )
        except BaseException:
            runner.abort()
            raise
    from console.cli.launch import hand_over_confirm_follow

    with runner:
        running = open_runs(history, migration.name)
        handed = handoff.Handed(
            settings, request, migration, plan, running, ctx.migrations_dir, ask=not ctx.yes,
            reading=store.reading(),  # the runner's record starts from it: no second parse
        )  # fmt: skip
        return hand_over_confirm_follow(ctx, runner, handed, store)
