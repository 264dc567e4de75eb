"""(2) and (3) in the child: the app as the CLI builds it, run events streamed into its
Run panel in bursts while a key switches tabs; key latency, the Log, memory."""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from _frames import Frames, app_class, census, heartbeat, migrations_shown, tab_shown
from _load import console_service

from tui.children import SIZE, STARTUP_TIMEOUT_S, rss_kib

IDLE_KEYS = 20  # keys pressed before the stream, for comparison
DRAIN_TIMEOUT_S = 60.0
TABS = (("4", "blockers"), ("3", "run"))  # someone flicking between two tabs


def make_events(kind: str, lines: int) -> Iterator[Any]:
    """`lines` log lines' worth of run events, each built when it is handed over, as the
    runner does (a list built up front would be 200,000 objects for the GC to scan)."""
    from console.core import events as ev

    if kind == "notices":
        notice = ev.ServerNotice
        for i in range(lines):
            yield notice("NOTICE", f"processed batch {i}: 1000 rows updated", 1)
        return
    sql = "CREATE INDEX CONCURRENTLY IF NOT EXISTS idx_bench ON conversation_messages (user_id)"
    started, finished = ev.StatementStarted, ev.StatementFinished
    for i in range(lines // 2):
        yield started(i + 1, 3 * i + 1, sql)
        yield finished(i + 1, 0.0123, "CREATE INDEX")


def widgets() -> tuple[int, int]:
    """(widgets alive, of which no longer in the DOM), after a full collection."""
    _objects, alive, detached = census(thaw=True)
    return alive, detached


async def child_stream(
    url: str, work: Path, kind: str, lines: int, rounds: int, burst: int, tty: bool
) -> dict[str, Any]:
    from textual.widgets import Log

    from console.core import events as ev
    from console.tui.widgets.body import Body
    from console.tui.widgets.run_log import MAX_LINES, RunPanel

    frames = Frames()
    service = console_service(url, work / f"history-stream-{kind}.toml")
    app = app_class(frames)(service)  # as the CLI builds it: blockers refreshed every second
    result: dict[str, Any] = {"kind": kind, "lines": lines, "rounds": rounds, "tty": tty}
    async with app.run_test(size=None if tty else SIZE, headless=not tty) as pilot:
        loop = asyncio.get_running_loop()
        await migrations_shown(app, STARTUP_TIMEOUT_S)
        tabs = app.query_one(Body)
        panel = app.query_one(RunPanel)
        log = app.query_one(Log)
        shown = {target: tab_shown(app, target) for _key, target in TABS}
        lost_info: list[str] = []

        def presses(count: int | None) -> Iterator[tuple[str, Callable[[], bool], str]]:
            for i in itertools.count() if count is None else range(count):
                key, target = TABS[i % 2]
                yield key, shown[target], target

        async def prober(stop: asyncio.Event, count: int | None) -> tuple[list[float], int]:
            """A key every KEY_PERIOD_S (4, 3, 4, ...), never sooner than KEY_GAP_S after the
            last one was shown; until `stop` is set or `count` keys were pressed."""
            got: list[float] = []
            lost = 0
            async for key, target, t0, at in frames.paced(app, presses(count), stop):
                if at is None:
                    lost += 1
                    pane = app.query_one(f"#{target}")
                    lost_info.append(
                        f"{key} -> {target}: active={tabs.active} region={pane.region} "
                        f"focused={app.focused!r} screen={app.screen!r}"
                    )
                else:
                    got.append(at - t0)
            return got, lost

        result["widgets_start"] = widgets()
        # Idle: the same keys on the same screen with nothing streaming.
        await pilot.press("3")
        await pilot.pause()
        idle, idle_lost = await prober(asyncio.Event(), IDLE_KEYS)
        await pilot.press("3")
        await pilot.pause()

        # No event log: the runner process writes that, and no runner runs here. The panel
        # itself keeps no file since the runner process took the log over.
        panel.begin(None)
        started = datetime.now(UTC)
        panel.handle(
            ev.RunStarted("bench", "run", "up", lines, False, "bench", "bench", 0, started)
        )
        await pilot.pause()
        result["widgets_before"] = widgets()
        result["rss_before_kib"], _ = rss_kib()
        frames_before = frames.count

        lags: list[float] = []
        stop = asyncio.Event()
        probe = asyncio.create_task(prober(stop, None))
        beat = asyncio.create_task(heartbeat(lags, stop))
        feed: list[float] = []
        shown_s: list[float] = []
        handle = panel.handle
        last = f"processed batch {lines - 1}:" if kind == "notices" else "✓ CREATE INDEX"
        t_stream = time.perf_counter()
        try:
            for r in range(rounds):
                t0 = time.perf_counter()
                for i, e in enumerate(make_events(kind, lines), 1):
                    handle(e)
                    if i % burst == 0:
                        await asyncio.sleep(0)
                t_fed = time.perf_counter()
                end = loop.time() + DRAIN_TIMEOUT_S
                # handle() only appends to _pending; flush() (every 0.1 s) empties it into
                # the Log, so an empty _pending and the last line at the end mean all shown.
                while panel._pending or not (log.lines and last in log.lines[-1]):
                    if loop.time() > end:
                        raise RuntimeError("the log never showed the last line")
                    await asyncio.sleep(0.005)
                feed.append(t_fed - t0)
                shown_s.append(time.perf_counter() - t0)
                if r == 0:
                    result["rss_round1_kib"], result["peak_rss_round1_kib"] = rss_kib()
                    result["log_lines_round1"] = log.line_count
        finally:
            stop.set()
            streamed, lost = await probe
            await beat
        result["stream_s"] = time.perf_counter() - t_stream
        result["rss_end_kib"], result["peak_rss_end_kib"] = rss_kib()
        result["widgets_end"] = widgets()
        result.update(
            feed_s=feed,
            shown_s=shown_s,
            frames=frames.count - frames_before,
            idle_key_s=idle,
            stream_key_s=streamed,
            lost_keys=lost + idle_lost,
            lost_info=lost_info,
            lag_s=lags,
            log_lines=log.line_count,
            max_lines=MAX_LINES,
        )
        panel.handle(
            ev.RunFinished(ev.RunResult("bench", "run", "succeeded", started, datetime.now(UTC)))
        )
        await service.close()
    return result
