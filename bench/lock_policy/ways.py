"""(b) One run of the tiny migration, each way: in-process, in a forked runner process
handed the plan (the CLI's way), the imports, the whole CLI."""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from _load import MIGRATION_NAME, ROOT, run_timed

from console.core import events as ev
from console.core.migration_file import parse_migration
from console.core.run import RunRequest, early, execute_run, handoff, tail
from console.core.run.request import log_path_for, plan_for
from console.core.run.tail import Launched
from console.core.words import Outcome
from lock_policy.consoles import TINY_TIMEOUT_S, cli_env
from lock_policy.runners import REAP_TIMEOUT_S, end_runners, reap_child

TINY_NAME = "tiny_analyze"


@dataclass
class Sample:
    total_s: float  # the way's own definition (see the table's notes)
    started_s: float | None = None  # to RunStarted (emitted / received)
    finished_s: float | None = None  # to RunFinished (emitted / received)
    launch_s: float | None = None  # fork, hand over, ready, go
    exited_s: float | None = None  # the runner exited, after RunFinished was received


def measure_inprocess(settings: Any, path: Path, history: Path | None = None) -> Sample:
    """``execute_run`` in this process; ``history``: a history.toml to record the run in
    (written as the run goes: at the start, around each statement, at the end)."""
    if history is not None and history.exists():
        history.unlink()

    async def go() -> Sample:
        marks: dict[str, float] = {}

        def sink(e: ev.Event) -> None:
            if isinstance(e, ev.RunStarted | ev.RunFinished):
                marks[type(e).__name__] = time.perf_counter()

        request = RunRequest(path, operator="bench", history_path=history)
        t0 = time.perf_counter()
        result = await asyncio.wait_for(execute_run(settings, request, (sink,)), TINY_TIMEOUT_S)
        total = time.perf_counter() - t0
        if result is None or result.status != Outcome.SUCCEEDED:
            raise RuntimeError(f"the in-process tiny run did not succeed: {result}")
        started, finished = marks.get("RunStarted"), marks.get("RunFinished")
        return Sample(
            total,
            None if started is None else started - t0,
            None if finished is None else finished - t0,
        )

    return asyncio.run(go())


def measure_forked(settings: Any, path: Path) -> Sample:
    """The CLI's way (``core/run/handoff.py``): fork the runner, hand it the plan, hear
    "ready", say go, follow its event log to RunFinished. This process has loaded the
    engine already, so the runner loads nothing: what is measured is the process, the
    handoff, the runner's sessions and its checks."""
    migration = parse_migration(path)
    plan = plan_for(migration, "run")
    request = RunRequest(path, operator="bench")
    request = replace(request, log_path=log_path_for(TINY_NAME, "run", request.run_id))
    if threading.active_count() != 1:
        raise RuntimeError(f"{threading.active_count()} threads: not forking")
    sys.stdout.flush()
    sys.stderr.flush()

    async def follow(launched: Launched, t0: float) -> dict[str, float]:
        marks: dict[str, float] = {}
        async for e in tail.follow_launched(launched):
            now = time.perf_counter()
            marks.setdefault(type(e).__name__, now)
            code = tail.code_of(e)
            if code is not None:
                marks["code"] = code
                if isinstance(e, ev.RunFinished) and e.result.status != Outcome.SUCCEEDED:
                    raise RuntimeError(f"the forked tiny run {e.result.status}: {e.result.error}")
        return marks

    t0 = time.perf_counter()
    runner = early.forked()  # no loop running, no other thread
    with runner:
        runner.hand_over(handoff.Handed(settings, request, migration, plan, [], path.parent))
        runner.verdict()
        launched = runner.go()
    t_launched = time.perf_counter()
    try:
        marks = asyncio.run(asyncio.wait_for(follow(launched, t0), TINY_TIMEOUT_S))
    except BaseException:
        try:
            os.kill(launched.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        reap_child(launched.pid)
        raise
    exited = reap_child(launched.pid)
    if "RunFinished" not in marks:
        raise RuntimeError(f"the forked runner ended without RunFinished: {sorted(marks)}")
    finished = marks["RunFinished"]
    started = marks.get("RunStarted")
    return Sample(
        finished - t0,
        None if started is None else started - t0,
        finished - t0,
        t_launched - t0,
        None if exited is None else exited - finished,
    )


def measure_python(code: str, cwd: Path, pythonpath: Path = ROOT) -> Sample:
    """Wall time of ``python -c CODE`` in the CLI's environment, the console from
    ``pythonpath``: ``pass``, the interpreter alone (the baseline); ``import …``, the
    interpreter and the CLI's imports."""
    env = cli_env("postgresql://nowhere/none", pythonpath, cwd / "state")
    took, proc = run_timed([sys.executable, "-c", code], TINY_TIMEOUT_S, cwd=cwd, env=env)
    if proc.returncode != 0:
        raise RuntimeError(f"python -c {code!r} failed: {proc.stderr[-500:]}")
    return Sample(took)


# What a run of the tiny migration cannot do without, in Python, with nothing of the
# console's: fork first; the child loads asyncio and asyncpg, opens two sessions at once
# (the monitor's, the run lock's), takes an advisory lock, opens the migration's session,
# runs the statement, closes all three; the parent waits for it.
FLOOR = """
import os
pid = os.fork()
if pid == 0:
    import asyncio, asyncpg
    async def main(url):
        monitor, lock = await asyncio.gather(asyncpg.connect(url), asyncpg.connect(url))
        await lock.fetchval("SELECT pg_try_advisory_lock(1, 2)")
        run = await asyncpg.connect(url)
        await run.execute("ANALYZE users")
        await asyncio.gather(monitor.close(), lock.close(), run.close())
    asyncio.run(main(os.environ["FLOOR_URL"]))
    os._exit(0)
os.waitpid(pid, 0)
"""


def measure_floor(url: str, cwd: Path) -> Sample:
    """``FLOOR`` as ``python -c``: the least a CLI in Python with asyncpg can take."""
    env = {**cli_env(url, ROOT, cwd / "state"), "FLOOR_URL": url}
    took, proc = run_timed([sys.executable, "-c", FLOOR], TINY_TIMEOUT_S, cwd=cwd, env=env)
    if proc.returncode != 0:
        raise RuntimeError(f"the floor failed: {proc.stderr[-500:]}")
    return Sample(took)


def history_with_runs(path: Path, runs: int) -> None:
    """A history.toml with ``runs`` earlier runs of another migration, as the store writes
    them (each started, then finished), and the shipped file's header and row."""
    from console.core.history import HistoryStore, RunRecord, StatementRecord

    shutil.copy(ROOT / "history.toml", path)
    store = HistoryStore(path)
    t0 = datetime(2026, 11, 1, 9, 0, tzinfo=UTC)
    for i in range(runs):
        started = t0 + timedelta(hours=i)
        run = RunRecord(
            migration=MIGRATION_NAME,
            status=Outcome.RUNNING,
            started_at=started,
            executed_by="ops@laptop",
            database="postgresql://app:***@db.example:5432/app",
            environment={"project": "app", "environment": "production"},
            statements=[
                StatementRecord(
                    n,
                    10 + 6 * n,
                    f"CREATE INDEX CONCURRENTLY IF NOT EXISTS i{n} "
                    "ON conversation_messages (user_id, created_at DESC)",
                    "not run",
                )
                for n in range(1, 5)
            ],
            run_id=f"20261101T{i:06d}Z-earlier",
            runner_pid=1000 + i,
            host="laptop",
            log=f"/home/ops/.local/state/migration-console/runs/r{i}.jsonl",
        )
        store.start_run(run)
        for s in run.statements:
            s.status, s.duration_s = "succeeded", 1.25
        run.status, run.finished_at = Outcome.SUCCEEDED, started + timedelta(seconds=5)
        store.finish_run(run)


def measure_cli(folder: Path, pythonpath: Path, url: str, history: Path | None = None) -> Sample:
    """The whole CLI on the tiny migration; ``history``: the history.toml to start from
    (copied in first), else the folder's own, one run longer every time."""
    if history is not None:
        shutil.copy(history, folder / "history.toml")
    env = cli_env(url, pythonpath, folder / "state")
    argv = [sys.executable, "-m", "console", "run", TINY_NAME, "--yes"]
    try:
        total, proc = run_timed(argv, TINY_TIMEOUT_S, cwd=folder, env=env)
    except subprocess.TimeoutExpired:
        end_runners(folder / "state", wait_s=0)
        raise RuntimeError(
            f"the CLI ({pythonpath}) took longer than {TINY_TIMEOUT_S:.0f} s"
        ) from None
    if proc.returncode != 0:
        raise RuntimeError(f"the CLI ({pythonpath}) exited {proc.returncode}: {proc.stderr[-500:]}")
    end_runners(folder / "state", wait_s=REAP_TIMEOUT_S)
    # Each run leaves an event log; the next one only reads its own.
    shutil.rmtree(folder / "state" / "runs", ignore_errors=True)
    return Sample(total)
