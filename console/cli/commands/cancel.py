"""`migration-console cancel MIGRATION`: cancel a running migration's statement on the
server, then follow its runner until it has recorded the run."""

from __future__ import annotations

from console.cli import aio
from console.cli.context import Context
from console.cli.follow import follow, follow_from_database, say
from console.errors import BadInput
from console.glyphs import G


def command(ctx: Context) -> int:
    return aio.run(_cancel(ctx))


async def _cancel(ctx: Context) -> int:
    from console.core.history import HistoryStore, open_runs
    from console.core.run import control
    from console.core.run.pids import record_alive

    ctx.refuse_if_read_only("cancel runs")
    migration = ctx.load_migration()
    s = ctx.settings
    store = HistoryStore(ctx.history_path)
    record = next(
        (r for r in open_runs(store.load(), migration.name)),
        None,
    )
    if record is None or record_alive(record) is False:
        what = "was interrupted (see `migration-console recover`)" if record else "is not running"
        raise BadInput(f"Nothing to cancel: {migration.name} {what}.", "")
    start_at = control.log_end(record)  # before the signal: the runner may end at once
    how = await control.send(s, store, record, "cancel", ctx.operator)
    say(f"Cancel requested ({how}); waiting for the runner to record the run{G.ellipsis}")
    if record_alive(record) is None:
        return await follow_from_database(ctx, record)
    return await follow(
        control.follow_record(record, start_at=start_at, history=store.path),
        record.runner_pid or 0, migration.name,
        cancels=False,
    )  # fmt: skip
