"""(2) From the migration's session starting to wait to the console naming the blocker:
the runner's Waiting event, and the TUI's refresh."""

from __future__ import annotations

import asyncio
import random
import statistics
import time
from pathlib import Path

from _load import MIGRATION, bounded, console_service, session, valid_indexes
from _report import ms, print_table

from console.core import events as ev
from console.core.run import MigrationRunner, RunOptions, RunRequest, execute_run
from console.core.run.options import FIRST_POLLS_S
from console.core.service import ConsoleService
from console.db.connect import close_quietly
from monitor.watch import REFRESH_S, Repetition, TuiTimer, WaitPoller, trace_runner

DETECT_DEADLINE_S = 10.0  # hold the helper's lock at most this long per repetition
STEP_TIMEOUT_S = 300.0  # one run, one rollback: never longer than this


async def one_repetition(
    url: str, service: ConsoleService, options: RunOptions, offset_s: float
) -> Repetition:
    settings = service.settings
    helper = await session(
        url,
        "bench helper",
        "BEGIN",
        "INSERT INTO conversation_messages (user_id, contact_id, message_type, direction, body) "
        "VALUES (2, 51, 'sms', 'outbound', 'bench helper: holds its transaction open')",
    )
    timer_task: asyncio.Task[None] | None = None
    try:
        rep = Repetition(helper.get_server_pid())
        timer = TuiTimer(service, rep.helper_pid)
        timer_task = asyncio.ensure_future(timer.run())
        poller = WaitPoller(url)  # polls once it knows the run session's pid
        await asyncio.to_thread(poller.start, 30.0)
        await asyncio.sleep(offset_s)  # where the run starts within the refresh period

        def opened(runner: MigrationRunner) -> None:
            rep.run_pid = poller.pid = runner.run_pid
            trace_runner(runner, rep)
            service.active_pid = rep.run_pid  # as the TUI's run controller does on RunStarted
            timer.run_pid = rep.run_pid

        def emit(e: ev.Event) -> None:
            now = time.perf_counter()
            if isinstance(e, ev.StatementStarted) and rep.statement_started is None:
                rep.statement_started = now
            if isinstance(e, ev.Waiting):
                rep.waiting_events += 1
                if rep.event is None and rep.helper_pid in e.blockers:
                    rep.event, rep.event_reason = now, e.reason

        request = RunRequest(MIGRATION, "run", options, operator="bench")
        t_open = time.perf_counter()
        exec_task = asyncio.ensure_future(execute_run(settings, request, (emit,), on_open=opened))
        try:
            deadline = time.perf_counter() + DETECT_DEADLINE_S
            while time.perf_counter() < deadline and not exec_task.done():
                if poller.first is not None and rep.event is not None and timer.seen is not None:
                    break
                await asyncio.sleep(0.02)
            await helper.execute("ROLLBACK")  # release the lock: the build goes on
            result = await bounded(asyncio.shield(exec_task), "the migration run", STEP_TIMEOUT_S)
            rep.run_s = time.perf_counter() - t_open
            if result is None:
                rep.run_status = "refused"
            else:
                rep.run_status = result.status + (f" ({result.error})" if result.error else "")
        finally:
            if not exec_task.done():
                exec_task.cancel()
                await asyncio.gather(exec_task, return_exceptions=True)
            service.active_pid = None
            await asyncio.to_thread(poller.join, 30.0)
        if poller.first is not None:
            rep.wait_started, rep.wait_what = poller.first, poller.what
            if poller.previous is not None:
                rep.poll_gap = poller.first - poller.previous
        if timer.seen is not None:
            rep.refresh_started, rep.refresh_done = timer.seen
        rep.refresh_times = list(timer.refreshes)
    finally:
        if timer_task is not None:
            timer_task.cancel()
            await asyncio.gather(timer_task, return_exceptions=True)
        await close_quietly(helper)

    rep.valid_after_run, _ = await valid_indexes(url)
    t0 = time.perf_counter()
    back = RunRequest(MIGRATION, "rollback", options, operator="bench")
    undone = await bounded(execute_run(settings, back), "the rollback", STEP_TIMEOUT_S)
    rep.rollback_s = time.perf_counter() - t0
    if undone is None:
        rep.rollback_status = "refused"
    else:
        rep.rollback_status = undone.status + (f" ({undone.error})" if undone.error else "")
    rep.valid_after_rollback, _ = await valid_indexes(url)
    return rep


async def bench_delay(url: str, work: Path, repeat: int) -> dict[str, list[float]]:
    print(
        f"\n(2) from the migration's session starting to wait to the console naming the "
        f"blocker, {repeat} repetitions (refresh every {REFRESH_S:g} s)"
    )
    service = console_service(url, work / "history.toml")
    # A high lock_timeout: the statement waits for the helper instead of retrying.
    options = RunOptions(lock_timeout_s=120.0, lock_retries=0)
    rng = random.Random(20261124)
    reps: list[Repetition] = []
    try:
        for i in range(repeat):
            # Spread where the run starts within the TUI's refresh period.
            offset = (i + rng.random()) / repeat * REFRESH_S
            rep = await one_repetition(url, service, options, offset)
            reps.append(rep)
            print(
                f"  rep {i + 1}: helper pid {rep.helper_pid}, run pid {rep.run_pid}, waits on "
                f"{rep.wait_what or '?'}; run {rep.run_status} in {rep.run_s:.2f} s "
                f"({rep.valid_after_run}/4 valid), rollback {rep.rollback_status} in "
                f"{rep.rollback_s:.2f} s ({rep.valid_after_rollback}/4 left), "
                f"{rep.waiting_events} Waiting events"
            )
    finally:
        await service.close()
    if reps and reps[0].event_reason:
        print(f"  rep 1's Waiting event: {reps[0].event_reason}")

    rows = []
    out: dict[str, list[float]] = {"event": [], "refresh": []}
    for i, r in enumerate(reps, 1):
        a, b = r.delay(r.event), r.delay(r.refresh_done)
        if a is not None:
            out["event"].append(a)
        if b is not None:
            out["refresh"].append(b)
        rows.append(
            [
                str(i),
                ms(None if r.wait_started is None else r.wait_started - (r.statement_started or 0)),
                ms(r.poll_gap),
                ms(a),
                ms(r.delay(r.refresh_started)),
                ms(b),
                ms(statistics.median(r.refresh_times) if r.refresh_times else None),
            ]
        )
    print()
    print_table(
        [
            "rep",
            "wait began after stmt start",
            "poll gap",
            "(a) Waiting event",
            "(b) refresh started",
            "(b) refresh shows it",
            "refresh p50",
        ],
        rows,
        indent="  ",
    )
    print(
        "  ms after the run session was first seen waiting (poll gap: the time between that "
        "poll and\n  the one before, i.e. how early the wait may have begun); (b) = the "
        "refresh loop's report.tree\n  has the helper at depth -1"
    )
    for key, label in (("event", "(a) the runner's Waiting event"), ("refresh", "(b) the refresh")):
        vals = out[key]
        if not vals:
            print(f"  {label}: never seen")
            continue
        within = sum(v <= REFRESH_S for v in vals)
        print(
            f"  {label}: min {ms(min(vals))}, median {ms(statistics.median(vals))}, max "
            f"{ms(max(vals))} ms; within one refresh ({REFRESH_S:g} s): {within} of {len(vals)}"
        )
    firsts = ", ".join(f"{x * 1000:.0f}" for x in FIRST_POLLS_S)
    print(
        "\n  where the Waiting event's delay goes, ms after MigrationRunner._exec started "
        f"statement 1\n  (the watch polls after {firsts} ms, then every "
        f"{RunOptions().progress_interval_s:g} s, each poll one waits.analyse;\n  the poll that "
        "saw it is the last one started before the event):"
    )
    brows = []
    for i, r in enumerate(reps, 1):
        x = r.exec_started
        if x is None:
            continue
        p = r.polls
        seen = [k for k, (t0, _t1) in enumerate(p) if r.event is not None and t0 <= r.event]
        k = seen[-1] if seen else None
        brows.append(
            [
                str(i),
                ms(x - r.statement_started if r.statement_started else None),
                ms(r.wait_started - x if r.wait_started else None),
                ms(p[0][0] - x if p else None),
                ms(p[0][1] - p[0][0] if p else None),
                "-" if k is None else str(k + 1),
                ms(p[k][0] - x if k is not None else None),
                ms(p[k][1] - p[k][0] if k is not None else None),
                ms(r.event - p[k][1] if r.event and k is not None else None),
                ms(r.event - x if r.event else None),
            ]
        )
    if brows:
        print_table(
            [
                "rep",
                "StatementStarted -> _exec",
                "wait began",
                "poll 1 starts",
                "poll 1 took",
                "poll that saw it",
                "it starts",
                "it took",
                "-> Waiting",
                "Waiting",
            ],
            brows,
            indent="  ",
        )
    missing = sum(r.event is None or r.refresh_done is None or r.wait_started is None for r in reps)
    if missing:
        print(f"  {missing} repetition(s) missed a detection within {DETECT_DEADLINE_S:g} s")
    return out
