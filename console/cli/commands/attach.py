"""`migration-console attach [MIGRATION]`: a run's log so far, then live until it ends,
from any terminal; the exit code is the run's."""

from __future__ import annotations

from console.cli import aio
from console.cli.context import Context
from console.cli.follow import follow, follow_from_database, print_log, say
from console.core.words import Outcome
from console.errors import BadInput


def command(ctx: Context) -> int:
    from console.core.history import HistoryStore, latest
    from console.core.run import control
    from console.core.run.pids import record_alive
    from console.core.run.request import exit_code
    from console.core.run.tail import log_here

    name = ctx.load_migration().name if ctx.migration else None
    store = HistoryStore(ctx.history_path)
    record = latest(store.load(), name)
    if record is None:
        what = f"of {name} " if name else ""
        raise BadInput(f"No run {what}is recorded in {store.path}.", "Start one with `run`.")
    alive = record_alive(record)
    if record.status == Outcome.RUNNING and alive is False:
        print_log(record.log)
        return aio.run(_report_interrupted(ctx, record.migration))
    if record.status == Outcome.RUNNING and alive is None:
        return aio.run(follow_from_database(ctx, record))
    if log_here(record.log) is None:
        say(f"{record.action} {record.migration}: {record.summary} (no event log here).")
        return exit_code(record.status)
    events = control.follow_record(record, history=store.path)
    return aio.run(follow(events, record.runner_pid or 0, record.migration, cancels=False))


async def _report_interrupted(ctx: Context, name: str) -> int:
    """Its runner went away: say what is known of the run, and what `recover` offers."""
    from console.core.history import HistoryStore
    from console.core.run import recovery
    from console.core.run.request import exit_code

    s = ctx.settings
    history = HistoryStore(ctx.history_path).load()
    states = await recovery.find_interrupted(s, history, ctx.migrations_dir, name)
    for state in states:
        for line in state.describe():
            say(line, error=True)
    return exit_code(Outcome.INTERRUPTED)
