"""Runs the console finds as it starts, in history.toml: one in progress is followed
(from its event log on this machine, or from the database when its runner is on
another); one whose runner went away is offered to the operator to adopt, resume or
mark. The ``RunController`` does the following and the starting."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import TYPE_CHECKING

from console.core.run.pids import this_host
from console.errors import ConsoleError
from console.lazy import lazy
from console.tui.active_run import ActiveRun
from console.tui.dialogs.choice import Choice, ChoiceModal

if TYPE_CHECKING:
    from console.core import events as ev
    from console.core.run import control, recovery
    from console.tui.run_controller import RunController
else:
    control = lazy("console.core.run.control")


async def check_at_start(runs: RunController) -> None:
    """A run recorded as running: follow it (here, or from the database), or, if its
    runner went away, offer to adopt, resume or mark it."""
    from console.core.run.tail import log_here  # loaded when runs are looked for

    app, service = runs.app, runs.service
    try:
        states = await service.open_runs()
    except ConsoleError as exc:
        app.report(exc)
        return
    for state in states:
        r = state.record
        if state.in_progress and runs.active is None:
            # Followed from the database when its runner is on another machine, or its
            # event log is not a file here (gone, or not one the console wrote).
            remote = r.host not in ("", this_host()) or log_here(r.log) is None
            run = ActiveRun(r.migration, r.action, r.run_id, r.runner_pid, r.host, r.log, remote)
            app.notify(f"{r.action} {r.migration} is in progress: following it.")
            events = (
                service.follow_remote(r.migration, r.action)
                if remote
                else control.follow_record(r, history=service.history_path)
            )
            runs.follow_in_worker(run, events)
        elif state.interrupted:
            await recover(runs, state)


async def recover(runs: RunController, state: recovery.RunState) -> None:
    """Adopt, resume or mark an interrupted run, as the operator chooses."""
    app, service = runs.app, runs.service
    choices = [
        Choice("a", "Adopt: wait for its orphaned statement and record the outcome", "adopt"),
        Choice("m", "Mark it interrupted, with the note above", "mark"),
    ]
    if state.orphan is None:
        choices.insert(1, Choice("r", "Resume: run the rest (asks first)", "resume"))
    answer = await app.push_screen_wait(
        ChoiceModal(
            f"Interrupted: {state.record.action} {state.record.migration}",
            "\n".join(state.describe()[:-1]),
            choices,
            note="note for the record (mark)",
        )
    )
    if answer is None:
        return
    try:
        if answer.value == "mark":
            service.mark_interrupted(state, answer.note)
            app.notify(f"Recorded {state.record.migration}'s run as interrupted.")
            runs.show_changes(state.record.migration)
        elif answer.value == "resume":
            await runs.start(state.record.migration, state.record.action, resume=state)
        else:
            r = state.record
            run = ActiveRun(r.migration, r.action, r.run_id, r.runner_pid, r.host, r.log)
            app.action_show_tab("run")
            await runs.follow(run, _after(control.replay(r), service.adopt(state)))
    except ConsoleError as exc:
        app.report(exc)


async def _after(first: list[ev.Event], then: AsyncIterator[ev.Event]) -> AsyncIterator[ev.Event]:
    """The interrupted run's log so far, then what adopting it finds."""
    for e in first:
        yield e
    async for e in then:
        yield e
