"""(a) An old snapshot during the shipped migration: the new lock policy against the old."""

from __future__ import annotations

import asyncio
import sys
import time
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

import asyncpg
from _load import MIGRATION, MIGRATION_NAME, ROOT, Server, run_async, session, valid_indexes
from _report import print_table

from lock_policy.consoles import NEW, OLD, OLD_COMMIT, cli_env, run_folder
from lock_policy.runners import REAP_TIMEOUT_S, end_runners

TEMPLATE = "bench_lock_template"
STEP_TIMEOUT_S = 900.0  # one CLI run of the migration, beyond the hold: never longer
DROPPED = "dropped INVALID index"
RETRIED = "gave up waiting for a lock"


@dataclass
class PolicyRun:
    policy: str
    wall_s: float = 0.0
    exit_code: int = -1
    status: str = "?"
    error: str = ""
    attempts: list[int] = field(default_factory=list)  # per statement, from history.toml
    durations: list[float] = field(default_factory=list)  # the last attempt's, per statement
    dropped: int = 0  # "dropped INVALID index" lines
    retries: int = 0  # "gave up waiting for a lock" lines
    valid: int = 0
    invalid: int = 0
    released_s: float = 0.0  # the old snapshot ended, s after the CLI was spawned
    notable: list[str] = field(default_factory=list)  # the CLI's retry / drop / wait lines


async def release_at(holder: asyncpg.Connection, at: float) -> float:
    await asyncio.sleep(max(0.0, at - time.perf_counter()))
    await holder.execute("COMMIT")
    return time.perf_counter()


async def one_policy_run(
    server: Server, policy: str, pythonpath: Path, hold_s: float, k: int
) -> PolicyRun:
    folder = run_folder(server.work, f"a-{k}-{policy}", MIGRATION)
    run = PolicyRun(policy)
    async with server.clone(TEMPLATE) as url:
        out, err = await run_cli(run, url, folder, pythonpath, hold_s)
        read_outcome(run, out, err, folder / "history.toml")
        run.valid, run.invalid = await valid_indexes(url)
    return run


async def run_cli(
    run: PolicyRun, url: str, folder: Path, pythonpath: Path, hold_s: float
) -> tuple[str, str]:
    """The CLI's run of the migration in ``folder`` while a helper holds an old snapshot,
    from just before the CLI starts to ``hold_s`` later; its stdout and stderr."""
    state = folder / "state"
    argv = [sys.executable, "-m", "console", "run", MIGRATION_NAME, "--yes"]
    # An old snapshot on a table the migration never touches.
    holder = await session(
        url,
        "bench old snapshot",
        "BEGIN ISOLATION LEVEL REPEATABLE READ",
        "SELECT count(*) FROM users",
    )
    release = asyncio.ensure_future(release_at(holder, time.perf_counter() + hold_s))
    try:
        limit_s = STEP_TIMEOUT_S + hold_s
        t0 = time.perf_counter()
        try:
            env = cli_env(url, pythonpath, state)
            code, out, err = await run_async(argv, limit_s, cwd=folder, env=env)
        except RuntimeError:
            killed = await asyncio.to_thread(end_runners, state, wait_s=0)
            raise RuntimeError(
                f"the {run.policy} CLI took longer than {limit_s:.0f} s "
                f"(killed; runners killed: {killed or 'none'})"
            ) from None
        run.wall_s = time.perf_counter() - t0
        run.exit_code = code
        if not release.done():  # the run ended before the hold did
            release.cancel()
            await asyncio.gather(release, return_exceptions=True)
            await holder.execute("COMMIT")
            run.released_s = time.perf_counter() - t0
        else:
            run.released_s = release.result() - t0
        # The new CLI returns at RunFinished; its runner closes its sessions right after.
        killed = await asyncio.to_thread(end_runners, state, wait_s=REAP_TIMEOUT_S)
        if killed:
            print(f"    runner pid(s) {killed} did not exit after the run: killed")
    finally:
        if not release.done():
            release.cancel()
            await asyncio.gather(release, return_exceptions=True)
        if not holder.is_closed():
            await holder.close(timeout=10)
    return out, err


def read_outcome(run: PolicyRun, out: str, err: str, history: Path) -> None:
    """The CLI's retry and drop lines, and the run's record in history.toml."""
    run.dropped = sum(DROPPED in line for line in out.splitlines())
    run.retries = sum(RETRIED in line for line in out.splitlines())
    run.notable = [
        line.strip()
        for line in out.splitlines()
        if DROPPED in line or RETRIED in line or "waited " in line or "✗" in line
    ]
    try:
        data = tomllib.loads(history.read_text(encoding="utf-8"))
        last = data["runs"][-1]
        run.status = str(last.get("status", "?"))
        run.error = str(last.get("error", "") or "")
        run.attempts = [int(s.get("attempts", 0)) for s in last["statements"]]
        run.durations = [float(s.get("duration_s", 0.0)) for s in last["statements"]]
    except (OSError, KeyError, IndexError, ValueError, tomllib.TOMLDecodeError) as exc:
        run.status = f"no record ({type(exc).__name__})"
        run.error = (err or out).strip()[-500:]


async def bench_old_snapshot(
    server: Server, rows: int, hold_s: float, repeat: int, old: Path
) -> list[PolicyRun]:
    print(
        f"\n(a) an old snapshot (REPEATABLE READ on users, held {hold_s:g} s from just before "
        f"the run) during {MIGRATION_NAME}, {repeat} run(s) of each policy on fresh clones"
    )
    seeded = await server.seed(TEMPLATE, rows)
    print(
        f"  seeded {rows:,} conversation_messages (+{rows // 5:,} call_costs, "
        f"+{rows // 10:,} scheduled_tasks) in {seeded:.1f} s"
    )
    paths = {NEW: ROOT, OLD: old}
    runs: list[PolicyRun] = []
    order = [NEW, OLD]
    k = 0
    for i in range(repeat):
        for policy in order[i % 2 :] + order[: i % 2]:
            k += 1
            r = await one_policy_run(server, policy, paths[policy], hold_s, k)
            runs.append(r)
            print(
                f"  run {i + 1} {policy}: {r.wall_s:.2f} s, exit {r.exit_code}, {r.status}; "
                f"attempts {r.attempts}, {r.dropped} INVALID dropped, {r.retries} lock retries; "
                f"{r.valid}/4 valid, {r.invalid} invalid; snapshot released at "
                f"{r.released_s:.1f} s"
            )
            if r.error:
                print(f"    error: {r.error[:300]}")
            for line in r.notable[:16]:
                print(f"    | {line[:150]}")
            if len(r.notable) > 16:
                print(f"    | ... {len(r.notable) - 16} more")

    label = {
        NEW: "new (this checkout: runner process, waits for transactions)",
        OLD: f"old ({OLD_COMMIT}: lock_timeout 5 s on the whole build)",
    }
    rows_out = []
    for r in runs:
        rows_out.append(
            [
                label[r.policy],
                f"{r.wall_s:.1f}",
                str(r.exit_code),
                r.status,
                str(r.attempts[0]) if r.attempts else "-",
                str(r.dropped),
                str(r.retries),
                "/".join(str(a) for a in r.attempts) or "-",
                f"{r.durations[0]:.1f}" if r.durations else "-",
                f"{r.valid}/4",
            ]
        )
    print()
    print_table(
        [
            "policy",
            "wall s",
            "exit",
            "outcome",
            "builds of stmt 1",
            "INVALID dropped",
            "lock retries",
            "attempts 1/2/3/4/5/6/7",
            "stmt 1 last attempt s",
            "valid after",
        ],
        rows_out,
        indent="  ",
    )
    print(
        "  wall = the CLI from spawn to exit; builds of stmt 1 = its attempts in history.toml; "
        "INVALID\n  dropped / lock retries = the CLI's 'dropped INVALID index' / 'gave up waiting "
        "for a lock' lines"
    )
    return runs
