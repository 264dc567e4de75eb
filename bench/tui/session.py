"""(4) An hour at the dashboard, compressed, in a child (its side: tui/session_child.py)."""

from __future__ import annotations

from pathlib import Path

from _report import mib, print_table

from tui.children import CHILD_TIMEOUT_S, spawn_child
from tui.session_child import (
    SESSION_LINES_PER_MINUTE,
    SESSION_SIZE,
    SESSION_SWITCHES_PER_MINUTE,
    SESSION_WAITERS,
)


def bench_session(url: str, work: Path, minutes: int) -> None:
    print(
        f"\n(4) {minutes} minutes at the dashboard ({SESSION_SIZE[0]}x{SESSION_SIZE[1]}), "
        f"compressed: per minute 60 Blockers refreshes over a holder and {SESSION_WAITERS} "
        f"waiters, {SESSION_LINES_PER_MINUTE:,} log lines, {SESSION_SWITCHES_PER_MINUTE} panel "
        "switches, the command palette opened and closed"
    )
    out = work / "session.json"
    args = ("--minutes", str(minutes))
    r = spawn_child("session", url, work, out, *args, timeout_s=CHILD_TIMEOUT_S * 4)
    rss = r["rss_kib"]
    marks = sorted(m for m in {0, 1, 5, 10, 30, minutes // 2, minutes} if m <= minutes)
    print(f"  {r['session_s']:.0f} s; {r['switches']} switches; lock tree of {r['tree_rows']} rows")
    print_table(
        ["after minute"] + [str(m) for m in marks] + ["max", "peak"],
        [["RSS, MiB"] + [mib(rss[m]) for m in marks] + [mib(max(rss)), mib(r["peak_rss_kib"])]],
    )
    print_table(
        ["widgets alive (not in the DOM)", "start", f"minute {minutes // 2}", f"minute {minutes}"],
        [["", *(f"{a:,} ({b:,})" for a, b in r["widgets"])]],
    )
    print(
        "  RSS from /proc/self/status after each minute; peak = ru_maxrss of the child; "
        "the Log keeps its last max_lines lines"
    )
