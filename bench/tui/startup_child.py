"""(1) in the headless child: its own milestones, from the parent's spawn."""

from __future__ import annotations

import asyncio
import os
import time
from pathlib import Path

from _frames import Frames, app_class
from _load import console_service

from tui.children import LAUNCH_ENV, SIZE, STARTUP_TIMEOUT_S


async def child_startup(url: str, work: Path) -> dict[str, float]:
    """Python start-up (with this script's imports), ``import console.tui.app``, building the
    service and the app, the first frame, the first frame with the migrations table filled."""
    t_main = time.monotonic()
    launch = float(os.environ[LAUNCH_ENV])
    import console.tui.app  # noqa: F401 - what is timed

    t_import = time.monotonic()
    marks: dict[str, float] = {}
    frames = Frames()

    def painted(_now: float) -> None:
        now = time.monotonic()
        marks.setdefault("frame", now)
        if "data" not in marks:
            table = app.query("#migrations-table")
            if table and table.first().row_count:
                marks["data"] = now
                app.exit(0)

    frames.hooks.append(painted)
    service = console_service(url, work / "history-headless.toml")
    app = app_class(frames)(service)
    t_build = time.monotonic()
    try:
        await asyncio.wait_for(
            app.run_async(headless=True, size=SIZE, mouse=False), STARTUP_TIMEOUT_S
        )
    finally:
        await service.close()
    if "data" not in marks:
        raise RuntimeError("the headless app never showed its migrations table")
    return {
        "python": t_main - launch,
        "import": t_import - t_main,
        "build": t_build - t_import,
        "run": t_build - launch,
        "frame": marks["frame"] - launch,
        "data": marks["data"] - launch,
    }
