"""What the console must show among the sessions, checked at every measurement: the
CLI's JSON, the core's report, the TUI's Blockers table (empty lists: all right)."""

from __future__ import annotations

from collections import Counter
from typing import Any

from under_load.sessions import Load


def check_cli(doc: dict[str, Any], lo: Load, rooted: bool) -> list[str]:
    """What is wrong with one `blockers --json` output (empty: nothing)."""
    problems = []
    by_pid = {s["pid"]: s for s in doc["sessions"]}
    if lo.holder not in by_pid:
        problems.append("the holder's session is missing")
    wrong = [p for p in lo.waiters if by_pid.get(p, {}).get("blocked_by") != [lo.holder]]
    if wrong:
        problems.append(f"{len(wrong)} waiter(s) not shown blocked by the holder alone")
    others = [p for p, s in by_pid.items() if s["blocked_by"] and p not in lo.waiters]
    if others:
        problems.append(f"{len(others)} other session(s) shown waiting")
    expected = {lo.holder, *lo.waiters, *lo.idle_tx}
    if set(by_pid) != expected:
        problems.append(f"{len(by_pid)} sessions instead of {len(expected)}")
    depth = {n["pid"]: n["depth"] for n in doc["tree"]}
    if rooted:
        want = {lo.holder: 0, **dict.fromkeys(lo.waiters, 1)}
        if doc["root_pid"] != lo.holder or depth != want:
            problems.append("the tree is not the holder with every waiter queued below it")
        if len(doc["edges"]) != len(lo.waiters):
            problems.append(f"{len(doc['edges'])} lock edges instead of {len(lo.waiters)}")
    elif doc["root_pid"] is not None or depth:
        problems.append("a tree without a root")
    return problems


def check_report(report: Any, lo: Load, root: int | None) -> list[str]:
    problems = []
    by_pid = {s.pid: s for s in report.sessions}
    if lo.holder not in by_pid:
        problems.append("holder missing")
    wrong = [p for p in lo.waiters if by_pid.get(p) is None or by_pid[p].blocked_by != (lo.holder,)]
    if wrong:
        problems.append(f"{len(wrong)} waiters not blocked by the holder alone")
    depth = {n.session.pid: n.depth for n in report.tree}
    if root == lo.holder:
        if depth != {lo.holder: 0, **dict.fromkeys(lo.waiters, 1)}:
            problems.append("tree is not holder + waiters below")
        if len(report.edges) != len(lo.waiters):
            problems.append(f"{len(report.edges)} edges")
    elif root is not None:
        if depth != {lo.holder: -1, root: 0}:
            problems.append(f"tree {depth}")
        if str(lo.holder) not in report.reason:
            problems.append("the reason does not name the holder")
    return problems


def check_table(app: Any, lo: Load, kind: str) -> list[str]:
    """What is wrong with the Blockers table now (empty: nothing)."""
    from textual.widgets import DataTable

    from console.tui.widgets.blockers import COLUMNS

    tree, blocked_by, waiting = (COLUMNS.index(c) for c in ("", "blocked by", "waiting for"))
    table = app.query_one("#blockers-table", DataTable)
    keys = [str(r.key.value) for r in table.ordered_rows]
    if kind == "quiet":
        return [f"{len(keys)} rows on the quiet database"] if keys else []
    problems = []
    expected = {str(p) for p in (lo.holder, *lo.waiters, *lo.idle_tx)}
    if set(keys) != expected:
        problems.append(
            f"{len(keys)} rows; missing {len(expected - set(keys))}, "
            f"extra {len(set(keys) - expected)}"
        )
    cells = {k: [str(c) for c in table.get_row(k)] for k in keys}
    holder = str(lo.holder)
    waiters = [str(p) for p in lo.waiters]
    bad = [w for w in waiters if w in cells and cells[w][blocked_by] != holder]
    if bad:
        problems.append(f"{len(bad)} waiter rows not 'blocked by {holder}'")
    if not all(cells[w][waiting].startswith("Lock:") for w in waiters if w in cells):
        problems.append("a waiter row without a Lock wait")
    if kind == "tree":
        if cells.get(holder, [""])[tree] != "●" or keys[:1] != [holder]:
            problems.append("the holder is not the first row, marked '●' (the migration)")
        marks = Counter(cells[w][tree] for w in waiters if w in cells)
        if marks != Counter({"▼1": len(waiters)}):
            problems.append(f"waiter tree marks {dict(marks)}")
        if set(keys[1 : 1 + len(waiters)]) != set(waiters):
            problems.append("the waiters do not follow the holder")
    else:
        marks = Counter(c[tree] for c in cells.values() if c[tree])
        if marks:
            problems.append(f"tree marks without a migration: {dict(marks)}")
    return problems
