"""(3) The TUI among the sessions: a fresh app per phase, the Blockers panel until its table
is right, then tab switches and table moves timed key to frame, refreshes timed."""

from __future__ import annotations

import asyncio
import gc
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from _frames import (
    KEY_PERIOD_S,
    Frames,
    app_class,
    census,
    heartbeat,
    migrations_shown,
    tab_shown,
    until,
)
from _load import console_service, run_bounded
from _report import load_avg

from console.connection import RUN, application_name
from console.core import waits
from console.core.service import ConsoleService
from under_load.checks import check_table
from under_load.report import report_tui
from under_load.sessions import Load

SIZE = (120, 40)
REFRESH_S = 1.0  # the TUI's default refresh (MigrationConsoleApp(refresh_s=1.0))
RUN_NAME = application_name(RUN, "bench_load_holder")  # what the TUI takes for a migration
LABELS = {
    "quiet": "a quiet database (no other session): the baseline",
    "sessions": "{waiters} waiters blocked by the holder, no migration",
    "tree": "the holder as a migration, {waiters} queued below it",
}


@dataclass
class Phase:
    kind: str  # "quiet", "sessions" or "tree"
    label: str
    tab_keys: list[float] = field(default_factory=list)
    by_key: dict[str, list[float]] = field(default_factory=dict)
    move_keys: list[float] = field(default_factory=list)
    during_refresh: list[float] = field(default_factory=list)  # keys that overlapped a refresh
    lost: list[str] = field(default_factory=list)
    focus_lost: list[str] = field(default_factory=list)
    refreshes: list[float] = field(default_factory=list)  # the Blockers panel's refresh_now worker
    waits_s: list[float] = field(default_factory=list)  # of which ConsoleService.waits
    show_s: list[float] = field(default_factory=list)  # of which BlockersPanel.show
    lags: list[float] = field(default_factory=list)  # a 10 ms sleep's oversleep
    gc_full: list[float] = field(default_factory=list)  # generation-2 collections
    gc_young: list[float] = field(default_factory=list)  # generations 0 and 1
    cpu_s: float = 0.0  # this process's CPU time during the keys
    wall_s: float = 0.0
    load: str = ""  # the load average after the keys
    shown_after_s: float = 0.0  # from pressing 4 to the table being right
    problems: list[str] = field(default_factory=list)
    status: str = ""
    explanation: str = ""
    rows: int = 0
    heap: tuple[int, int] = (0, 0)  # objects the GC tracks, before and after the keys
    detached: tuple[int, int] = (0, 0)  # widgets alive but no longer in the DOM, idem
    cell_cache: int = 0  # the Blockers DataTable's cell render cache, after the keys


def timed_service(p: Phase) -> type[ConsoleService]:
    """ConsoleService timing each ``waits`` call into ``p.waits_s``."""

    class BenchService(ConsoleService):
        async def waits(
            self, root_pid: int | None, extra_blockers: tuple[int, ...] = ()
        ) -> waits.WaitReport:
            t0 = time.perf_counter()
            try:
                return await super().waits(root_pid, extra_blockers)
            finally:
                p.waits_s.append(time.perf_counter() - t0)

    return BenchService


def time_refreshes(p: Phase, busy: list[tuple[float, float]]) -> Callable[[], None]:
    """Time the Blockers panel's ``refresh_now`` worker (this process only) into
    ``p.refreshes`` and ``busy`` (its intervals); returns what puts it back."""
    from textual import work as tui_work

    from console.tui.widgets.blockers import BlockersPanel

    original = BlockersPanel.refresh_now
    refresh = original.__wrapped__  # type: ignore[attr-defined]

    @tui_work(group="blockers", exclusive=True, exit_on_error=False)
    async def timed_refresh(self: BlockersPanel) -> None:
        t0 = time.perf_counter()
        await refresh(self)
        t1 = time.perf_counter()
        p.refreshes.append(t1 - t0)
        busy.append((t0, t1))

    BlockersPanel.refresh_now = timed_refresh  # type: ignore[method-assign]

    def restore() -> None:
        BlockersPanel.refresh_now = original  # type: ignore[method-assign]

    return restore


def time_show(p: Phase, panel: Any) -> None:
    """Time ``BlockersPanel.show`` on this panel into ``p.show_s``."""
    show = panel.show

    def timed_show(report: waits.WaitReport) -> None:
        t0 = time.perf_counter()
        try:
            show(report)
        finally:
            p.show_s.append(time.perf_counter() - t0)

    panel.show = timed_show


def time_collections(p: Phase) -> Callable[[str, dict[str, int]], None]:
    """A ``gc.callbacks`` entry timing each collection into ``p.gc_full`` / ``p.gc_young``."""
    collecting: list[float] = []

    def on_gc(stage: str, info: dict[str, int]) -> None:
        if stage == "start":
            collecting[:] = [time.perf_counter()]
        elif collecting:
            took = time.perf_counter() - collecting[0]
            (p.gc_full if info["generation"] == 2 else p.gc_young).append(took)

    return on_gc


async def tui_phase(url: str, lo: Load, work: Path, keys: int, kind: str) -> Phase:
    """A fresh app on `url`: the Blockers panel until it is right, then the keys."""
    from textual.widgets import DataTable, Static

    from console.tui.widgets.blockers import BlockersPanel
    from console.tui.widgets.body import Body

    p = Phase(kind, LABELS[kind].format(waiters=len(lo.waiters)))
    busy: list[tuple[float, float]] = []  # refresh worker intervals
    frames = Frames()
    restore = time_refreshes(p, busy)
    service = console_service(url, work / f"history-{kind}.toml", timed_service(p))
    # As tests/ui/harness.py make_app builds it, with the CLI's refresh of 1 s.
    app = app_class(frames)(service, refresh_s=REFRESH_S, start_refresh=True, doctor=True)
    app.animation_level = "none"
    try:
        async with app.run_test(size=SIZE) as pilot:
            loop = asyncio.get_running_loop()
            tabs = app.query_one(Body)
            table = app.query_one("#blockers-table", DataTable)
            time_show(p, app.query_one(BlockersPanel))
            await migrations_shown(app)
            t0 = loop.time()
            await pilot.press("4")
            await until(lambda: p.refreshes and not check_table(app, lo, kind), "the table right")
            p.shown_after_s = loop.time() - t0
            for samples in (p.refreshes, p.waits_s, p.show_s, busy):
                samples.clear()  # the refreshes before the table was right
            heap, _widgets, detached = census(thaw=False)
            p.heap, p.detached = (heap, 0), (detached, 0)

            async def paced(
                presses: list[tuple[str, Callable[[], bool], str]], into: list[float]
            ) -> None:
                async for key, what, t0, at in frames.paced(app, presses):
                    if at is None:
                        p.lost.append(
                            f"{key} ({what}): active={tabs.active} row={table.cursor_row}"
                        )
                        continue
                    if any(a < at and b > t0 for a, b in busy):
                        p.during_refresh.append(at - t0)
                    into.append(at - t0)
                    p.by_key.setdefault(key, []).append(at - t0)

            stop = asyncio.Event()
            on_gc = time_collections(p)
            gc.callbacks.append(on_gc)
            cpu0, wall0 = time.process_time(), time.perf_counter()
            beat = asyncio.create_task(heartbeat(p.lags, stop))
            try:
                await paced(tab_switches(app, keys), p.tab_keys)
                try:
                    await until(lambda: app.focused is table, "the table focused", 5)
                except RuntimeError:
                    # Noted, then put right so that the table keys can be measured.
                    p.focus_lost.append(f"active tab {tabs.active}, focused {app.focused!r}")
                    table.focus()
                    await until(lambda: app.focused is table, "the table focused", 5)
                if table.row_count > 1:
                    await paced(table_moves(app, table, keys), p.move_keys)
            finally:
                stop.set()
                await beat
                gc.callbacks.remove(on_gc)
                p.cpu_s, p.wall_s = time.process_time() - cpu0, time.perf_counter() - wall0
                p.load = load_avg()
            p.problems = check_table(app, lo, kind)
            p.rows = table.row_count
            p.status = str(app.query_one("#blockers-status", Static).render())
            p.explanation = str(app.query_one("#blockers-explain", Static).render())
            p.cell_cache = len(getattr(table, "_cell_render_cache", ()))
            heap, _widgets, detached = census(thaw=False)
            p.heap, p.detached = (p.heap[0], heap), (p.detached[0], detached)
            await service.close()
    finally:
        restore()
    return p


def tab_switches(app: Any, keys: int) -> list[tuple[str, Callable[[], bool], str]]:
    """3, 4, 3, ...: the Run panel and back, ending on 4 (the Blockers panel)."""
    run, blockers = tab_shown(app, "run"), tab_shown(app, "blockers")
    return [
        ("3", run, "Run tab") if i % 2 == 0 else ("4", blockers, "Blockers tab")
        for i in range(keys + keys % 2)
    ]


def table_moves(app: Any, table: Any, keys: int) -> list[tuple[str, Callable[[], bool], str]]:
    """down, down, ... then up, up, ...: up to 20 rows each way."""

    def on_row(row: int) -> Callable[[], bool]:
        return lambda: table.cursor_row == row and app.focused is table

    start = table.cursor_row
    span = min(20, max(1, table.row_count - 1 - start))
    moves = []
    row = start
    for i in range(keys):
        down = (i // span) % 2 == 0
        row += 1 if down else -1
        moves.append(("down" if down else "up", on_row(row), f"to row {row}"))
    return moves


def bench_tui(url: str, quiet_url: str, lo: Load, work: Path, keys: int, deadline: float) -> None:
    os.environ["MIGRATION_CONSOLE_STATE_DIR"] = str(work / "state")  # no runs to find there
    print(
        f"\n(3) the TUI in run_test(size={SIZE}), the Blockers panel refreshed every "
        f"{REFRESH_S:g} s, a fresh app for each phase; {keys} tab switches (3/4), then {keys} "
        f"down/up keys in the table, one every {KEY_PERIOD_S * 1000:.0f} ms"
    )
    phases = []
    for kind in ("quiet", "sessions", "tree"):
        if kind == "tree":
            lo.rename_holder(RUN_NAME)  # what the TUI takes for a migration's session
        try:
            left = max(60.0, deadline - time.perf_counter())
            target = quiet_url if kind == "quiet" else url
            phases.append(run_bounded(tui_phase(target, lo, work, keys, kind), kind, left))
        finally:
            if kind == "tree":
                lo.rename_holder("bench holder")
            gc.unfreeze()  # the app froze its start-up objects: let the next app start clean
            gc.collect()
    report_tui(phases)
