"""(4) in the child: an hour at the dashboard, compressed."""

from __future__ import annotations

import asyncio
import itertools
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from _frames import app_class, migrations_shown
from _load import console_service

from tui.children import STARTUP_TIMEOUT_S, rss_kib
from tui.stream_child import make_events, widgets

SESSION_SIZE = (200, 60)  # the dashboard: every live panel drawn at once
SESSION_WAITERS = 5  # sessions queued behind the lock holder, so the lock tree has rows
SESSION_LINES_PER_MINUTE = 5_000
SESSION_SWITCHES_PER_MINUTE = 10
SESSION_PANELS = ("checklist", "run", "blockers", "verify", "plan", "history", "migrations")


async def child_session(url: str, work: Path, minutes: int) -> dict[str, Any]:
    """An hour (``minutes``) at the dashboard, compressed: per minute, 60 Blockers refreshes
    against a real lock queue, SESSION_LINES_PER_MINUTE log lines, SESSION_SWITCHES_PER_MINUTE
    panel switches and the command palette opened and closed. RSS after every minute."""
    import asyncpg

    from console.core import events as ev
    from console.tui.widgets.blockers import BlockersPanel
    from console.tui.widgets.run_log import RunPanel

    holder = await asyncpg.connect(url)
    waiters = [await asyncpg.connect(url) for _ in range(SESSION_WAITERS)]
    await holder.execute("BEGIN; LOCK TABLE scheduled_tasks IN ACCESS EXCLUSIVE MODE")
    queued = [
        asyncio.create_task(w.execute("SELECT count(*) FROM scheduled_tasks")) for w in waiters
    ]
    service = console_service(url, work / "history-session.toml")
    app = app_class()(service, start_refresh=False)  # this loop refreshes, once a "second"
    result: dict[str, Any] = {"minutes": minutes, "rss_kib": [], "widgets": []}
    try:
        async with app.run_test(size=SESSION_SIZE, headless=True) as pilot:
            blockers = app.query_one(BlockersPanel)
            await migrations_shown(app, STARTUP_TIMEOUT_S)
            await blockers.refresh_now().wait()
            rows = blockers.query_one("#blockers-table").row_count  # type: ignore[attr-defined]
            if rows < SESSION_WAITERS + 1:
                raise RuntimeError(f"the lock tree shows {rows} rows, not the queue")
            result["tree_rows"] = rows
            panel = app.query_one(RunPanel)
            panel.begin(None)
            started = datetime.now(UTC)
            total = minutes * SESSION_LINES_PER_MINUTE
            panel.handle(
                ev.RunStarted("bench", "run", "up", total, False, "bench", "bench", 0, started)
            )
            await pilot.pause()
            result["widgets"].append(widgets())
            result["rss_kib"].append(rss_kib()[0])
            t0 = time.perf_counter()
            switch = 0
            for minute in range(minutes):
                events_ = make_events("notices", SESSION_LINES_PER_MINUTE)
                for second in range(60):
                    for e in itertools.islice(events_, SESSION_LINES_PER_MINUTE // 60 + 1):
                        panel.handle(e)
                    await blockers.refresh_now().wait()
                    if second % (60 // SESSION_SWITCHES_PER_MINUTE) == 0:
                        app.action_show_tab(SESSION_PANELS[switch % len(SESSION_PANELS)])
                        switch += 1
                        await pilot.pause()
                await pilot.press("ctrl+p")
                await pilot.pause()
                await pilot.press("escape")
                await pilot.pause()
                result["rss_kib"].append(rss_kib()[0])
                if minute in (minutes // 2 - 1, minutes - 1):
                    result["widgets"].append(widgets())
            result["session_s"] = time.perf_counter() - t0
            result["switches"] = switch
            result["peak_rss_kib"] = rss_kib()[1]
            panel.handle(
                ev.RunFinished(
                    ev.RunResult("bench", "run", "succeeded", started, datetime.now(UTC))
                )
            )
    finally:
        await service.close()
        await holder.close()
        for task in queued:
            task.cancel()
        await asyncio.gather(*queued, return_exceptions=True)
        for w in waiters:
            w.terminate()
    return result
