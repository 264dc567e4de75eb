"""(3)'s report: each phase, then the key latencies and refresh times of all of them."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from _frames import KEY_TARGET_S, KEY_TIMEOUT_S
from _report import print_table, spread

if TYPE_CHECKING:
    from under_load.tui import Phase


def report_tui(phases: Sequence[Phase]) -> None:
    for p in phases:
        print(f"\n  {p.kind}: {p.label}")
        print(
            f"    table: {p.rows} rows, right {p.shown_after_s * 1000:.0f} ms after pressing 4; "
            f"checked again after the keys: {'correct' if not p.problems else p.problems}"
        )
        print(f"    status: {p.status}")
        print(f"    under the table: {p.explanation[:200]!r}")
        print(
            f"    during the keys: {p.wall_s:.1f} s wall, {p.cpu_s:.1f} s CPU in this process "
            f"({p.cpu_s / max(p.wall_s, 1e-9):.0%}); load average after: {p.load}"
        )
        print(
            f"    objects the GC tracks: {p.heap[0]:,} -> {p.heap[1]:,}; widgets out of the DOM "
            f"but alive: {p.detached[0]} -> {p.detached[1]}; the table's cell render cache: "
            f"{p.cell_cache:,} entries"
        )
        if p.focus_lost:
            print(f"    the Blockers table was not focused after the tab keys: {p.focus_lost}")
        if p.lost:
            print(f"    keys whose effect never showed ({KEY_TIMEOUT_S:g} s): {p.lost}")
    rows = []
    for p in phases:
        for what, vals in (
            ("tab switch 3/4, key to frame", p.tab_keys),
            ("  3: to the Run panel", p.by_key.get("3", [])),
            ("  4: to the Blockers panel", p.by_key.get("4", [])),
            ("down/up in the table, key to frame", p.move_keys),
            ("  keys overlapping a refresh", p.during_refresh),
            ("refresh_now worker", p.refreshes),
            ("  of which ConsoleService.waits", p.waits_s),
            ("  of which BlockersPanel.show", p.show_s),
            ("event-loop lag (10 ms sleep)", p.lags),
            ("full GC collections (generation 2)", p.gc_full),
        ):
            if not vals and p.kind == "quiet" and "table" in what:
                continue
            over = str(sum(v > KEY_TARGET_S for v in vals)) if "key" in what else ""
            rows.append([f"{p.kind}: {what}", str(len(vals)), *spread(vals, grouped=True), over])
    print()
    print_table(["what (ms)", "n", "min", "median", "p95", "max", "over 100 ms"], rows, indent="  ")
