"""`migration-console recover MIGRATION [--adopt | --resume | --mark NOTE]`: a run whose
runner went away, adopted (wait for its orphaned statement), resumed (run again,
skipping what took effect) or marked interrupted; asked on a terminal if not said."""

from __future__ import annotations

import sys
from dataclasses import replace
from typing import TYPE_CHECKING

from console.cli import aio, render
from console.cli.context import Context
from console.cli.follow import follow, print_log
from console.cli.launch import hand_over_confirm_follow, read_line
from console.errors import BadInput, ExitCode
from console.glyphs import G

if TYPE_CHECKING:
    from console.core.history import HistoryStore
    from console.core.model import Migration
    from console.core.run import recovery
    from console.settings import ConnectionSettings


def command(ctx: Context) -> int:
    from console.core.history import HistoryStore
    from console.core.run import recovery

    out, escape = render.out, render.escape
    migration = ctx.load_migration()
    s = ctx.settings
    store = HistoryStore(ctx.history_path)
    states = aio.run(recovery.find_interrupted(s, store.load(), ctx.migrations_dir, migration.name))
    if not states:
        out.print(f"No interrupted run of {escape(migration.name)}: nothing to recover.")
        return ExitCode.OK
    state = states[0]
    for line in state.describe():
        out.print(escape(line))
    choice, note = _choice(ctx)
    if choice is None:
        return ExitCode.OK
    ctx.refuse_if_read_only("recover runs")
    if choice == "mark":
        recovery.mark(store, state, ctx.operator, note)
        out.print(f"Recorded {escape(migration.name)}'s run as interrupted.")
        return ExitCode.OK
    if choice == "adopt":
        print_log(state.record.log)  # what the run did before its runner went away
        return aio.run(_adopt(s, store, state, ctx.operator, migration.name))
    return _resume(ctx, store, state, migration)


def _choice(ctx: Context) -> tuple[str | None, str]:
    """What to do (adopt, resume, mark or None) and the note for a mark: from the
    options, else asked on the terminal."""
    if ctx.recover is not None:
        return ctx.recover, ctx.mark_note or ""
    if not sys.stdin.isatty():
        raise BadInput(
            "Choose what to do with the interrupted run: --adopt, --resume or --mark NOTE.",
            "There is no terminal to ask on.",
        )
    out = render.out
    out.print("adopt (a), resume (r), mark interrupted (m), or leave it (Enter)? ", end="")
    try:
        answer = read_line().strip().lower()[:1]
    except EOFError:
        return None, ""
    note = ""
    if answer == "m":
        out.print("note: ", end="")
        note = read_line().strip()
    return {"a": "adopt", "r": "resume", "m": "mark"}.get(answer), note


async def _adopt(
    s: ConnectionSettings, store: HistoryStore, state: recovery.RunState, by: str, name: str
) -> int:
    from console.core.run import recovery

    if state.orphan is not None:
        render.out.print(
            f"Waiting for pid {state.orphan.pid} to end (Ctrl-C stops waiting){G.ellipsis}"
        )
    return await follow(recovery.adopt_run(s, store, state, by), 0, name, cancels=False)


def _resume(
    ctx: Context, store: HistoryStore, state: recovery.RunState, migration: Migration
) -> int:
    from console.core.run import early, handoff, recovery
    from console.core.run.request import plan_for, request_for
    from console.settings import railway_context

    record = state.record
    # Collection stays off while this face loads and plans (the runner was forked as
    # the process started, with it off) and is on again for the following.
    with early.loading():
        store.check_writable()
        plan = plan_for(migration, record.action)
        request = request_for(
            migration,
            record.action,
            store.path,
            options=ctx.options,
            operator=ctx.operator,
            environment=railway_context(),
            notes=ctx.notes,
            resumes=record.run_id,
        )
        request = replace(request, skip=recovery.resume_skips(state))
        handed = handoff.Handed(
            ctx.settings, request, migration, plan, [], ctx.migrations_dir, resuming=True,
            ask=not ctx.yes, closes=recovery.resumed(state, request.operator, request.run_id),
            reading=store.reading(),
        )  # fmt: skip
    with early.forked() as runner:
        return hand_over_confirm_follow(ctx, runner, handed, store)
