"""Planning a large migration file: how long the SQL parser and the planner take.

    python bench/bench_plan.py [--rows N ...] [--repeat R]

A data migration is one INSERT with N rows of VALUES (the largest file the console
takes is 5 MiB: about 75,000 such rows). For each N: the file read and split into
statements (``parse_migration``), then planned (``plan_for``: pglast's parse tree, the
statement's kind, its relations and locks), R times each, min and median. No server.

Prints numbers only, asserts nothing.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

from _load import ROOT  # noqa: F401 - puts this checkout first on sys.path
from _report import machine, print_table

from console.core.migration_file import parse_migration
from console.core.run.request import plan_for

ROW = "({i}, 'user {i} with a name of some length', now())"


def migration(folder: Path, rows: int) -> Path:
    values = ",\n".join(ROW.format(i=i) for i in range(rows))
    path = folder / f"insert_{rows}.sql"
    path.write_text(
        "-- migrate:up\n"
        f"INSERT INTO users (id, name, created_at) VALUES\n{values};\n\n"
        "-- migrate:down\nDELETE FROM users WHERE name LIKE 'user %';\n",
        encoding="utf-8",
    )
    return path


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, nargs="+", default=[1_000, 10_000, 75_000])
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args(argv)
    print(f"bench_plan: one INSERT of N rows of VALUES, {args.repeat} repeats\n{machine()}\n")
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for n in args.rows:
            path = migration(Path(tmp), n)
            reads, plans = [], []
            for _ in range(args.repeat):
                t0 = time.perf_counter()
                m = parse_migration(path)
                t1 = time.perf_counter()
                plan_for(m, "run")
                t2 = time.perf_counter()
                reads.append(t1 - t0)
                plans.append(t2 - t1)
            size = path.stat().st_size / 2**20
            rows.append(
                [
                    f"{n:,}",
                    f"{size:.2f}",
                    f"{min(reads):.3f}",
                    f"{statistics.median(reads):.3f}",
                    f"{min(plans):.3f}",
                    f"{statistics.median(plans):.3f}",
                ]
            )
    print_table(["rows", "MiB", "read min s", "read median s", "plan min s", "plan median s"], rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
