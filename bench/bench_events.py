"""A run's event log: writing its lines, and reading a long one back as a face does.

    python bench/bench_events.py [--events N ...] [--repeat R] [--tree DIR]

A long run writes many events: a progress line every poll of each index build, a line
for each NOTICE a data migration raises. ``attach``, a CLI run's face and the TUI read
the log from its start (``tail.follow``) before they show the run live. For each N: a
log of N events in the mix a long index build writes (mostly progress, some waits and
notices) is encoded line by line (``events.encode``), decoded line by line
(``events.decode``), then followed whole through ``tail.follow``, R times each, min and
median. ``--tree`` measures the console of another checkout (a previous commit's
worktree, say) with the same script. No server.

Prints numbers only, asserts nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from _report import machine, print_table


def events(ev: Any, n: int) -> list[Any]:
    """N events: a run's start and end around polls of an index build."""
    t0 = datetime(2026, 12, 2, 3, 0, tzinfo=UTC)
    out: list[Any] = [
        ev.RunStarted("m", "run", "up", 4, False, "why", "db", 9, t0, "run-1", 99, "h", "/l"),
        ev.StatementStarted(1, 2, "CREATE INDEX CONCURRENTLY idx ON t (a, b)"),
    ]
    for i in range(n - 4):
        if i % 10 == 9:
            out.append(ev.ServerNotice("NOTICE", f"row {i} moved to the archive", 1))
        elif i % 10 == 8:
            out.append(ev.Waiting(1, "pid 4 holds a lock", (4,), None, "lock", i * 0.5))
        else:
            out.append(
                ev.IndexProgress(
                    1, "idx", "t", "building index: scanning table", i, n, 0, 0, 0, 0, 0
                )
            )
    out.append(ev.StatementFinished(1, 12.5, "CREATE INDEX"))
    result = ev.RunResult(
        "m", "run", "succeeded", t0, t0 + timedelta(seconds=13),
        [ev.StatementResult(1, 2, "CREATE INDEX …", "succeeded", 12.5, 1)],
    )  # fmt: skip
    out.append(ev.RunFinished(result))
    return out


async def follow_all(tail: Any, log: Path) -> int:
    count = 0
    async for _event in tail.follow(log, lambda: False):
        count += 1
    return count


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--events", type=int, nargs="+", default=[10_000, 100_000])
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--tree", type=Path, help="import the console from this checkout")
    args = ap.parse_args(argv)
    if args.tree is not None:
        sys.path.insert(0, str(args.tree.resolve()))
    else:
        import _load  # noqa: F401 - puts this checkout first on sys.path
    from console.core import events as ev
    from console.core.run import tail

    where = Path(ev.__file__).parents[2]
    print(f"bench_events: the console in {where}, {args.repeat} repeats\n{machine()}\n")
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for n in args.events:
            sample = events(ev, n)
            log = Path(tmp) / f"run-{n}.jsonl"
            times: dict[str, list[float]] = {"encode": [], "decode": [], "follow": []}
            for _ in range(args.repeat):
                t0 = time.perf_counter()
                lines = [ev.encode(e) for e in sample]
                t1 = time.perf_counter()
                back = [ev.decode(line) for line in lines]
                t2 = time.perf_counter()
                log.write_text("\n".join(lines) + "\n", encoding="utf-8")
                t3 = time.perf_counter()
                followed = asyncio.run(follow_all(tail, log))
                t4 = time.perf_counter()
                times["encode"].append(t1 - t0)
                times["decode"].append(t2 - t1)
                times["follow"].append(t4 - t3)
                if back != sample or followed != len(sample):
                    print(f"  {n}: the log did not read back whole ({followed} of {n})")
            for part, ts in times.items():
                rows.append(
                    [
                        f"{n:,}",
                        part,
                        f"{min(ts):.3f}",
                        f"{statistics.median(ts):.3f}",
                        f"{statistics.median(ts) / n * 1e6:.1f}",
                    ]
                )
    print_table(["events", "part", "min s", "median s", "µs per event"], rows)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
