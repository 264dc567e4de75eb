"""SVG snapshots of every panel at 80x24 and 120x40 (tabs) and 200x60 (the dashboard),
on stable data.

Update them with `pytest tests/ui/test_snapshots.py --snapshot-update` after a
deliberate change, and look at the report before committing.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from textual.pilot import Pilot
from textual.widgets import DataTable

from tests.helpers import ROOT
from tests.ui.harness import SNAPSHOT_DISPLAY, make_app, until

pytestmark = pytest.mark.skipif(
    bool(os.environ.get("CONSOLE_TEST_DATABASE_URL")),
    reason="snapshots show the embedded server's version; another server would differ",
)

SIZES = [(80, 24), (120, 40), (200, 60)]


async def _loaded(pilot: Pilot[int]) -> None:
    app = pilot.app
    table = app.query_one("#migrations-table", DataTable)
    await until(lambda: table.row_count == 1)
    # The row's cells set the columns' widths once the table is idle, not as it is added:
    # a screenshot in between cut "add_composite_indexes_20251123" to "add_compo".
    name = str(table.get_row_at(0)[0])
    await until(lambda: next(iter(table.columns.values())).content_width >= len(name))
    await until(lambda: "PostgreSQL" in str(app.query_one("#topbar").render()))
    await pilot.pause()


def _checklist_laid_out(pilot: Pilot[int]) -> bool:
    """Every item has its height and the panel's scrollable size includes them all."""
    panel = pilot.app.query_one("ChecklistPanel")
    items = list(pilot.app.query(".checklist-item"))
    total = sum(item.outer_size.height for item in items)
    return all(item.size.height > 0 for item in items) and panel.virtual_size.height >= total


async def _settle(pilot: Pilot[int]) -> None:
    """Let pending layout and refreshes land before the screenshot (not a timing assertion)."""
    await pilot.wait_for_scheduled_animations()
    for _ in range(3):
        await pilot.pause(0.05)


def _press(*keys: str):  # type: ignore[no-untyped-def]
    async def run_before(pilot: Pilot[int]) -> None:
        await _loaded(pilot)
        await pilot.press(*keys)
        await pilot.pause()
        if "v" in keys:
            await until(
                lambda: (
                    "missing"
                    in str(pilot.app.query_one("#verify-indexes", DataTable).get_row_at(0))
                )
            )
        if "4" in keys:
            pilot.app.refresh_blockers()
            await until(lambda: "non-idle" in str(pilot.app.query_one("#blockers-status").render()))
        if "enter" in keys:
            await until(lambda: len(pilot.app.query(".checklist-item")) == 8)
            await until(lambda: _checklist_laid_out(pilot))
        await _settle(pilot)

    return run_before


SCREENS = {
    "migrations": (),
    "checklist": ("enter",),
    "run": ("3",),
    "blockers": ("4",),
    "verify": ("v",),
    "plan": ("6",),
    "history": ("7",),
}


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
@pytest.mark.parametrize("screen", list(SCREENS))
def test_screen(
    screen: str, size: tuple[int, int], db_url: str, tmp_path: Path, snap_compare
) -> None:  # type: ignore[no-untyped-def]
    history = tmp_path / "history.toml"
    shutil.copy(ROOT / "history.toml", history)
    app = make_app(db_url, tmp_path, display=SNAPSHOT_DISPLAY, start_refresh=False, history=history)
    assert snap_compare(app, terminal_size=size, run_before=_press(*SCREENS[screen]))
