"""The console's App as the benchmarks drive it: its stylesheet found from here, a hook
on every frame it paints, keys timed to the first frame that shows them.

Textual and the console are imported when used, never at module level: a child
process of bench_tui.py imports this before the console, whose import it measures.
"""

from __future__ import annotations

import asyncio
import gc
import inspect
import time
from collections.abc import AsyncIterator, Callable, Iterable
from pathlib import Path
from typing import Any

KEY_PERIOD_S = 0.25  # a key this often: someone flicking between two tabs
KEY_GAP_S = 0.05  # and never sooner than this after the last one was shown
KEY_TIMEOUT_S = 5.0  # a key whose effect never shows counts as lost
KEY_TARGET_S = 0.1


def css_path(cls: Any) -> str:
    """The app's stylesheet, absolute: a subclass here would look for it next to this file."""
    return str(Path(inspect.getfile(cls)).parent / cls.CSS_PATH)


class Frames:
    """Every frame the compositor paints: counted, and handed to the hooks (their time,
    ``time.perf_counter()``). Keys are posted to the app as the driver posts a key from
    the terminal, each timed to the first frame in which ``shown()`` holds."""

    def __init__(self) -> None:
        self.count = 0
        self.hooks: list[Callable[[float], None]] = []

    def painted(self) -> None:
        self.count += 1
        now = time.perf_counter()
        for hook in list(self.hooks):
            hook(now)

    async def press(
        self, app: Any, key: str, shown: Callable[[], bool]
    ) -> tuple[float, float | None]:
        """(when the key was posted, the first frame that shows it or None after
        KEY_TIMEOUT_S), both ``time.perf_counter()``."""
        from textual import events

        seen = asyncio.Event()
        at: list[float] = []

        def hook(now: float) -> None:
            if not at and shown():
                at.append(now)
                seen.set()

        self.hooks.append(hook)
        try:
            key_event = events.Key(key, key if len(key) == 1 else None)
            key_event.set_sender(app)
            t0 = time.perf_counter()
            app.post_message(key_event)
            try:
                await asyncio.wait_for(seen.wait(), KEY_TIMEOUT_S)
            except TimeoutError:
                return t0, None
            return t0, at[0]
        finally:
            self.hooks.remove(hook)

    async def paced(
        self,
        app: Any,
        presses: Iterable[tuple[str, Callable[[], bool], str]],
        stop: asyncio.Event | None = None,
    ) -> AsyncIterator[tuple[str, str, float, float | None]]:
        """(key, what, posted, shown) for each of ``presses`` (key, shown(), what): one
        every KEY_PERIOD_S, never sooner than KEY_GAP_S after the last was shown; until
        ``stop`` is set."""
        for key, shown, what in presses:
            if stop is not None and stop.is_set():
                return
            t0, at = await self.press(app, key, shown)
            yield key, what, t0, at
            wait = max(KEY_PERIOD_S - (time.perf_counter() - t0), KEY_GAP_S)
            if stop is None:
                await asyncio.sleep(wait)
                continue
            try:
                await asyncio.wait_for(stop.wait(), wait)
            except TimeoutError:
                pass


def app_class(frames: Frames | None = None) -> Any:
    """MigrationConsoleApp with its stylesheet, telling ``frames`` of every frame."""
    from console.tui.app import MigrationConsoleApp

    class BenchApp(MigrationConsoleApp):
        CSS_PATH = css_path(MigrationConsoleApp)

        def _display(self, screen: Any, renderable: Any) -> None:
            # Every frame the compositor produces passes here (headless or not).
            painted = renderable is not None and not self._batch_count
            super()._display(screen, renderable)
            if painted and frames is not None:
                frames.painted()

    return BenchApp


async def until(predicate: Callable[[], object], what: str, limit_s: float = 30.0) -> float:
    """Seconds until ``predicate()`` holds, polled every 20 ms; an error after ``limit_s``."""
    loop = asyncio.get_running_loop()
    t0 = loop.time()
    while not predicate():
        if loop.time() - t0 > limit_s:
            raise RuntimeError(f"the console never showed {what} ({limit_s:.0f} s)")
        await asyncio.sleep(0.02)
    return loop.time() - t0


async def migrations_shown(app: Any, limit_s: float = 30.0) -> float:
    """Until the migrations table has its rows (the first data from the database)."""
    return await until(
        lambda: app.query_one("#migrations-table").row_count, "the migrations", limit_s
    )


def tab_shown(app: Any, target: str) -> Callable[[], bool]:
    """True once tab ``target`` is the active one and its panel is laid out."""
    from console.tui.widgets.body import Body

    tabs = app.query_one(Body)
    pane = app.query_one(f"#{target}")
    return lambda: tabs.active == target and bool(pane.region.area)


async def heartbeat(lags: list[float], stop: asyncio.Event) -> None:
    """How late a 10 ms ``asyncio.sleep`` wakes up, into ``lags``, until ``stop``."""
    while not stop.is_set():
        t0 = time.perf_counter()
        await asyncio.sleep(0.01)
        lags.append(time.perf_counter() - t0 - 0.01)


def census(thaw: bool) -> tuple[int, int, int]:
    """(objects the GC tracks, widgets alive, of which no longer in the DOM) after a full
    collection. ``thaw``: count what the app froze at start-up (gc.freeze) too, then
    freeze what is alive again."""
    from textual.widget import Widget

    if thaw:
        gc.unfreeze()
    gc.collect()
    objects = gc.get_objects()
    widgets = [o for o in objects if isinstance(o, Widget)]
    counts = len(objects), len(widgets), sum(1 for w in widgets if not w.is_attached)
    del objects, widgets
    if thaw:
        gc.freeze()
    return counts
