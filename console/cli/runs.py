"""The CLI's run commands: run, rollback, attach, cancel, recover.

A run is carried out by a runner process (``console.core.run.process``) that
outlives this one. The command checks, asks, launches the runner and follows its
event log. Ctrl-C asks the runner to cancel (a second Ctrl-C stops following);
a closed terminal (SIGHUP), SIGTERM or a closed output pipe only stop the
following: the run goes on and is recorded, and ``attach`` picks it up again.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import os
import signal
import sys
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import replace
from typing import TYPE_CHECKING

from console.cli import aio, render
from console.cli.commands import (
    _get,
    history_path,
    load_migration,
    migrations_dir,
    run_options,
    settings,
)
from console.errors import BadInput, ExitCode
from console.glyphs import G

if TYPE_CHECKING:
    from console.core import events as ev
    from console.core.history import HistoryStore, RunRecord
    from console.core.model import Migration
    from console.core.run import recovery
    from console.core.run.execute import RunRequest
    from console.settings import ConnectionSettings

# What a run command needs is imported inside the functions that need it: the run's
# face loads what its checks need, forks, and only then loads the terminal renderer,
# while its runner connects (see ``_loading`` and ``_confirm_launch_follow``).


@contextlib.contextmanager
def _loading() -> Iterator[None]:
    """No garbage collection while a run command loads its modules and checks: the gc
    module's recipe for a process that forks (disable early, freeze before the fork).
    Loading makes objects by the hundred thousand, and none of them is garbage."""
    collecting = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        # Frozen first: the allocations counted while collection was off would make the
        # first one after it a full collection of everything just loaded (6 ms).
        gc.freeze()
        if collecting:
            gc.enable()


def _operator(ns: argparse.Namespace) -> str:
    from console.settings import default_operator

    return str(_get(ns, "operator") or default_operator())


def _refuse_read_only(ns: argparse.Namespace, what: str) -> None:
    if _get(ns, "read_only"):
        raise BadInput(
            f"--read-only monitors only: it does not {what}.",
            "Run the command again without --read-only.",
        )


def _confirm(question: str) -> bool:
    if not sys.stdin.isatty():
        raise BadInput(
            "Refusing to change the database without confirmation: there is no terminal to ask on.",
            "Pass --yes to confirm in advance.",
        )
    render.out.print(question + render.escape(" [y/N] "), end="")  # the brackets are not markup
    try:
        answer = input()
    except EOFError:
        return False
    return answer.strip().lower() in ("y", "yes")


def _summary(
    migration: Migration, action: str, s: ConnectionSettings, skip: tuple[int, ...]
) -> str:
    from console.core.plan import plan_section
    from console.core.run.runner import ACTIONS

    section = migration.section(ACTIONS[action])
    assert section is not None
    plan = plan_section(section)
    verb = "Roll back" if action == "rollback" else "Run"
    lines = [f"{verb} {migration.name} on {s.display} ({plan.reason}):"]
    for p in plan.statements:
        done = " (done: skipped)" if p.statement.number in skip else ""
        lines.append(f"  {p.statement.number}. {p.statement.first_line}{done}")
    return render.escape("\n".join(lines) + "\n" + verb + " now?")


# -- run / rollback ---------------------------------------------------------------------


def cmd_run(ns: argparse.Namespace) -> int:
    action = ns.command
    _refuse_read_only(ns, f"{action} migrations")
    with _loading():
        from console.core.history import HistoryStore
        from console.core.run import control
        from console.core.run.options import FAIL
        from console.settings import railway_context

        migration = load_migration(ns)
        s = settings(ns)
        store = HistoryStore(history_path(ns))
        history = store.load()  # refuse a corrupt history before touching the database
        options = run_options(ns)
        aio.run(control.prepare(s, migration, action, history, migrations_dir(ns), store=store))
        request = control.request_for(
            migration,
            action,
            store.path,
            options=options,
            operator=_operator(ns),
            environment=railway_context(),
            notes=ns.notes,
            on_max_wait=FAIL,
        )
    return _confirm_launch_follow(ns, s, migration, request, store)


def _confirm_launch_follow(
    ns: argparse.Namespace,
    s: ConnectionSettings,
    migration: Migration,
    request: RunRequest,
    store: HistoryStore,
    before: Callable[[], None] | None = None,
) -> int:
    from console.core.run import control
    from console.core.run.process import launch

    if not ns.yes and not _confirm(_summary(migration, request.action, s, request.skip)):
        render.out.print("Nothing was done.")
        return ExitCode.OK
    if before is not None:
        before()
    early = _catch_signals()  # until _follow takes over: none may kill the face unheard
    # Everything loaded so far is kept out of later collections: the runner shares it
    # untouched, and this process's exit does not walk it (the gc docs' fork recipe).
    gc.freeze()
    launched = launch(s, request, fork=True)  # no event loop, no threads: safe to fork
    events = control.follow_launched(launched)
    elsewhere: list[str] = []  # where the record went if history.toml could not take it
    code = aio.run(_follow(events, launched.pid, migration.name, early=early, fallback=elsewhere))
    if elsewhere:
        _say(f"  recorded in {elsewhere[-1]} (not in {store.path}: see above)")
    elif code in (ExitCode.OK, ExitCode.FAILED, ExitCode.INTERRUPTED):
        _say(f"  recorded in {store.path}")
    gc.freeze()  # the command is over: the interpreter's last collection need not walk it
    return code


# -- following --------------------------------------------------------------------------


def _say(text: str, *, error: bool = False) -> None:
    """Print, unless the output is gone (a closed pipe, a closed terminal)."""
    with contextlib.suppress(OSError):
        render.console(stderr=error).print(render.escape(text))


FOLLOW_SIGNALS = (signal.SIGINT, signal.SIGHUP, signal.SIGTERM)


def _catch_signals() -> list[signal.Signals]:
    """Note the signals that come while the runner starts; _follow acts on them."""
    caught: list[signal.Signals] = []
    for sig in FOLLOW_SIGNALS:
        signal.signal(sig, lambda num, _frame: caught.append(signal.Signals(num)))
    return caught


async def _follow(
    events: AsyncIterator[ev.Event],
    runner_pid: int,
    name: str,
    *,
    cancels: bool = True,
    early: list[signal.Signals] | None = None,
    fallback: list[str] | None = None,
) -> int:
    """Print the run's events until it ends; the exit code is the run's. Ctrl-C cancels
    the run (``cancels``) and a second one stops following; SIGHUP, SIGTERM and a closed
    output stop following. The runner goes on whatever happens here."""
    import asyncio

    from console.core import events as ev
    from console.core.run import control
    from console.core.run.pids import runner_alive

    loop = asyncio.get_running_loop()
    me = asyncio.current_task()
    stopped: list[int] = []
    presses = 0
    leaving = (
        f"Stopped following: the run goes on in runner pid {runner_pid}; "
        f"`migration-console attach {name}` follows it, `migration-console cancel {name}` "
        "stops it."
    )

    def stop(code: int, text: str = "") -> None:
        if not stopped:
            stopped.append(code)
            if text:
                _say(text, error=True)
            if me is not None:
                me.cancel()

    def on_sigint() -> None:
        nonlocal presses
        presses += 1
        if presses == 1 and cancels and runner_alive(runner_pid):
            _say(
                f"Cancelling on the server{G.ellipsis} (Ctrl-C again stops following; the runner "
                "finishes the cancel and records the run)",
                error=True,
            )
            os.kill(runner_pid, signal.SIGINT)
        else:
            stop(ExitCode.INTERRUPTED, leaving)

    handlers = {
        signal.SIGINT: on_sigint,
        signal.SIGHUP: lambda: stop(128 + signal.SIGHUP),
        signal.SIGTERM: lambda: stop(128 + signal.SIGTERM, leaving),
    }
    for sig, fn in handlers.items():
        loop.add_signal_handler(sig, fn)
    for sig in early or ():
        handlers[sig]()
    printer = render.EventPrinter()
    code = int(ExitCode.FAILED)
    try:
        async for e in events:
            try:
                printer(e)
            except OSError:  # the output is gone: the run is not ours to stop
                _devnull_stdout()
                stop(ExitCode.FAILED)
            if isinstance(e, ev.RecordProblem) and e.fallback and fallback is not None:
                fallback.append(e.fallback)
            found = control.code_of(e)
            if found is not None:
                code = found
    except asyncio.CancelledError:
        if not stopped:
            raise
        return stopped[0]
    finally:
        for sig in handlers:
            loop.remove_signal_handler(sig)
    return code


def _devnull_stdout() -> None:
    null = os.open(os.devnull, os.O_WRONLY)
    os.dup2(null, sys.stdout.fileno())
    os.close(null)


# -- attach / cancel ----------------------------------------------------------------------


def cmd_attach(ns: argparse.Namespace) -> int:
    """The run's log so far, then live until it ends; the exit code is the run's."""
    from console.core import events as ev
    from console.core.history import HistoryStore, latest
    from console.core.run import control
    from console.core.run.execute import exit_code
    from console.core.run.pids import record_alive

    name = _get(ns, "migration")
    if name:
        name = load_migration(ns).name
    store = HistoryStore(history_path(ns))
    record = latest(store.load(), name)
    if record is None:
        what = f"of {name} " if name else ""
        raise BadInput(f"No run {what}is recorded in {store.path}.", "Start one with `run`.")
    alive = record_alive(record)
    if record.status == ev.RUNNING and alive is False:
        _print_log(record.log)
        return aio.run(_report_interrupted(ns, record.migration))
    if record.status == ev.RUNNING and alive is None:
        return aio.run(_follow_from_database(ns, record))
    if not record.log or not os.path.exists(record.log):
        _say(f"{record.action} {record.migration}: {record.summary} (no event log here).")
        return exit_code(record.status)
    events = control.follow_record(record)
    return aio.run(_follow(events, record.runner_pid or 0, record.migration, cancels=False))


def _print_log(log: str) -> None:
    from console.core import events as ev

    if log and os.path.exists(log):
        printer = render.EventPrinter()
        with open(log, encoding="utf-8") as fh:
            for line in fh:
                e = ev.decode(line)
                if e is not None:
                    printer(e)


async def _report_interrupted(ns: argparse.Namespace, name: str) -> int:
    from console.core import events as ev
    from console.core.history import HistoryStore
    from console.core.run import recovery
    from console.core.run.execute import exit_code

    s = settings(ns)
    history = HistoryStore(history_path(ns)).load()
    states = await recovery.find_interrupted(s, history, migrations_dir(ns), name)
    for state in states:
        for line in state.describe():
            _say(line, error=True)
    return exit_code(ev.INTERRUPTED)


async def _follow_from_database(ns: argparse.Namespace, record: RunRecord) -> int:
    from console.core.run.remote import follow_from_database

    name = record.migration
    _say(
        f"The run of {name} is on another machine ({record.host}): following it from the database."
    )
    events = follow_from_database(settings(ns), name, record.action, migrations_dir(ns))
    return await _follow(events, 0, name, cancels=False)


def cmd_cancel(ns: argparse.Namespace) -> int:
    return aio.run(_cancel(ns))


async def _cancel(ns: argparse.Namespace) -> int:
    from console.core.history import HistoryStore, open_runs
    from console.core.run import control
    from console.core.run.pids import record_alive

    _refuse_read_only(ns, "cancel runs")
    migration = load_migration(ns)
    s = settings(ns)
    store = HistoryStore(history_path(ns))
    record = next(
        (r for r in open_runs(store.load(), migration.name)),
        None,
    )
    if record is None or record_alive(record) is False:
        what = "was interrupted (see `migration-console recover`)" if record else "is not running"
        raise BadInput(f"Nothing to cancel: {migration.name} {what}.", "")
    start_at = control.log_end(record)  # before the signal: the runner may end at once
    how = await control.send(s, store, record, "cancel", _operator(ns))
    _say(f"Cancel requested ({how}); waiting for the runner to record the run{G.ellipsis}")
    if record_alive(record) is None:
        return await _follow_from_database(ns, record)
    return await _follow(
        control.follow_record(record, start_at=start_at), record.runner_pid or 0, migration.name,
        cancels=False,
    )  # fmt: skip


# -- recover ------------------------------------------------------------------------------


def cmd_recover(ns: argparse.Namespace) -> int:
    from console.core.history import HistoryStore
    from console.core.run import recovery

    out, escape = render.out, render.escape
    migration = load_migration(ns)
    s = settings(ns)
    store = HistoryStore(history_path(ns))
    states = aio.run(_interrupted(s, store, ns, migration.name))
    if not states:
        out.print(f"No interrupted run of {escape(migration.name)}: nothing to recover.")
        return ExitCode.OK
    state = states[0]
    for line in state.describe():
        out.print(escape(line))
    choice = _choice(ns)
    if choice is None:
        return ExitCode.OK
    _refuse_read_only(ns, "recover runs")
    operator = _operator(ns)
    if choice == "mark":
        recovery.mark(store, state, operator, _get(ns, "mark") or "")
        out.print(f"Recorded {escape(migration.name)}'s run as interrupted.")
        return ExitCode.OK
    if choice == "adopt":
        _print_log(state.record.log)  # what the run did before its runner went away
        return aio.run(_adopt(s, store, state, operator, migration.name))
    return _resume(ns, s, store, state, migration)


def _choice(ns: argparse.Namespace) -> str | None:
    for flag in ("adopt", "resume"):
        if _get(ns, flag):
            return flag
    if _get(ns, "mark") is not None:
        return "mark"
    if not sys.stdin.isatty():
        raise BadInput(
            "Choose what to do with the interrupted run: --adopt, --resume or --mark NOTE.",
            "There is no terminal to ask on.",
        )
    out = render.out
    out.print("adopt (a), resume (r), mark interrupted (m), or leave it (Enter)? ", end="")
    try:
        answer = input().strip().lower()[:1]
    except EOFError:
        return None
    if answer == "m":
        out.print("note: ", end="")
        ns.mark = input().strip()
    return {"a": "adopt", "r": "resume", "m": "mark"}.get(answer)


async def _interrupted(
    s: ConnectionSettings, store: HistoryStore, ns: argparse.Namespace, name: str
) -> list[recovery.RunState]:
    from console.core.run import recovery

    return await recovery.find_interrupted(s, store.load(), migrations_dir(ns), name)


async def _adopt(
    s: ConnectionSettings, store: HistoryStore, state: recovery.RunState, by: str, name: str
) -> int:
    from console.core.run import recovery

    if state.orphan is not None:
        render.out.print(
            f"Waiting for pid {state.orphan.pid} to end (Ctrl-C stops waiting){G.ellipsis}"
        )
    return await _follow(recovery.adopt_run(s, store, state, by), 0, name, cancels=False)


def _resume(
    ns: argparse.Namespace,
    s: ConnectionSettings,
    store: HistoryStore,
    state: recovery.RunState,
    migration: Migration,
) -> int:
    from console.core.run import control, recovery
    from console.settings import railway_context

    record = state.record
    options = run_options(ns)
    aio.run(
        control.prepare(
            s,
            migration,
            record.action,
            store.load(),
            migrations_dir(ns),
            resuming=True,
            store=store,
        )  # fmt: skip
    )
    request = control.request_for(
        migration,
        record.action,
        store.path,
        options=options,
        operator=_operator(ns),
        environment=railway_context(),
        notes=_get(ns, "notes") or "",
        resumes=record.run_id,
    )
    request = replace(request, skip=recovery.resume_skips(state))

    def close_old() -> None:
        recovery.close_as_resumed(store, state, request.operator, request.run_id)

    return _confirm_launch_follow(ns, s, migration, request, store, close_old)


COMMANDS = {
    "run": cmd_run,
    "rollback": cmd_run,
    "attach": cmd_attach,
    "cancel": cmd_cancel,
    "recover": cmd_recover,
}
