"""Export SVG screenshots of the console's main screens into docs/screenshots/.

    python docs/screenshots.py [--rows N]

Starts an embedded PostgreSQL 18 in a temporary folder, seeds it, and drives the
console through a real session: the checklist with a sign-off, a run of the
shipped migration (with a helper session holding a lock, so the Blockers panel
has something to show, also on the 200x60 dashboard), verification and history.
The README shows the files.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import sys
import tempfile
from pathlib import Path

import asyncpg

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from console.core.run import RunOptions  # noqa: E402
from console.demo.server import DemoServer, create_database, seed_database  # noqa: E402
from console.tui.widgets.checklist import ChecklistItem  # noqa: E402
from tests.ui.harness import SNAPSHOT_DISPLAY, make_app, until  # noqa: E402

OUT = ROOT / "docs" / "screenshots"
SIZE = (120, 34)
DASHBOARD = (200, 60)


async def shoot(url: str, work: Path) -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    history = work / "history.toml"
    shutil.copy(ROOT / "history.toml", history)
    app = make_app(
        url,
        work,
        display=SNAPSHOT_DISPLAY,
        history=history,
        options=RunOptions(lock_timeout_s=30, lock_retries=0),
        refresh_s=0.5,
    )
    blocker = await asyncpg.connect(url, server_settings={"application_name": "nightly-report"})
    async with app.run_test(size=SIZE) as pilot:

        async def save(name: str) -> None:
            await pilot.pause(0.3)
            app.save_screenshot(f"{name}.svg", path=str(OUT))
            print("wrote", OUT / f"{name}.svg")

        await until(lambda: app.query_one("#migrations-table").row_count == 1)
        await save("migrations")
        await pilot.press("enter")
        await until(lambda: len(app.query(ChecklistItem)) == 8)
        app.query_one("#item-backup", ChecklistItem).focus()
        await pilot.press("s")
        await pilot.pause(0.2)
        await pilot.press(*"Railway snapshot 2025-11-23 18:50 confirmed", "enter")
        await until(lambda: app.query_one("#item-backup", ChecklistItem).state.state == "done")
        await save("checklist")
        await pilot.press("6")
        await save("plan")
        # A report query holds a lock on call_costs: the run waits, the panel shows who.
        tr = blocker.transaction()
        await tr.start()
        await blocker.execute("LOCK TABLE call_costs IN SHARE ROW EXCLUSIVE MODE")
        await blocker.execute("SELECT count(*) FROM call_costs")
        await pilot.press("r")
        await pilot.pause(0.2)
        await pilot.press("y")
        await until(lambda: app.runs.active is not None)
        await pilot.press("4")
        held_by = f"pid {blocker.get_server_pid()}"
        await until(lambda: held_by in str(app.query_one("#blockers-explain").render()))
        await save("blockers")
        await pilot.resize_terminal(*DASHBOARD)  # the same moment on a large terminal
        await until(lambda: app.dashboard)
        await pilot.press("2")  # the checklist beside the run and the blockers
        await save("dashboard")
        await pilot.resize_terminal(*SIZE)
        await until(lambda: not app.dashboard)
        await tr.rollback()
        await until(lambda: app.last_result is not None)
        await pilot.press("3")
        await save("run")
        await pilot.press("v")
        await until(lambda: "all checks hold" in str(app.query_one("#verify-summary").render()))
        await save("verify")
        await pilot.press("7")
        await save("history")
        await pilot.press("q")
    await blocker.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=200_000)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="mc-shots-"))
    os.environ["MIGRATION_CONSOLE_STATE_DIR"] = str(work / "state")  # run logs: thrown away
    server = DemoServer()
    try:
        server.start(work / "pg", keep_running=False)

        async def go() -> None:
            await create_database(server.url("postgres"), "shots")
            await seed_database(server.url("shots"), args.rows)
            await shoot(server.url("shots"), work)

        asyncio.run(go())
    finally:
        server.stop()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
