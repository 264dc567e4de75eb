"""The console's layout: a dashboard on a large terminal, tabs on a small one, live."""

from __future__ import annotations

import gc
import shutil
import tomllib
from datetime import UTC, datetime
from pathlib import Path

import asyncpg
import pytest
from textual.widget import Widget
from textual.widgets import DataTable, Tabs

from console.core.history import HistoryStore
from console.tui.widgets.body import Body
from console.tui.widgets.checklist import ChecklistItem
from tests.helpers import ROOT
from tests.ui.harness import loaded, make_app, until

NAME = "add_composite_indexes_20251123"


def on_screen(app, selector: str) -> bool:  # type: ignore[no-untyped-def]
    """Shown, and inside the screen (not scrolled away or hidden by a tab)."""
    widget = app.query_one(selector)
    region = widget.region
    screen = app.screen.region
    shown = widget.display and region.width > 0 and region.height >= 2
    return bool(shown and screen.contains_region(region))


async def test_the_first_screen_at_200x60_holds_the_checklist_the_blockers_and_the_log(
    db_url: str, tmp_path: Path
) -> None:
    app = make_app(db_url, tmp_path)
    async with app.run_test(size=(200, 60)) as pilot:
        await loaded(app)
        await until(lambda: len(app.query(ChecklistItem)) == 8)
        await pilot.pause()
        assert app.dashboard
        for selector in ("#checklist", "#run-log", "#blockers-table", "#migrations-table"):
            assert on_screen(app, selector), selector
        await until(lambda: "non-idle" in str(app.query_one("#blockers-status").render()))


async def test_the_layout_follows_the_terminal_live(db_url: str, tmp_path: Path) -> None:
    app = make_app(db_url, tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await loaded(app)
        assert not app.dashboard
        assert on_screen(app, "#migrations-table")
        assert not app.query_one("#run").display and not app.query_one("#blockers").display
        await pilot.resize_terminal(200, 60)
        await until(lambda: app.dashboard)
        await pilot.pause()
        assert on_screen(app, "#run-log") and on_screen(app, "#blockers-table")
        await pilot.press("4")  # on a dashboard a panel key focuses that panel
        await pilot.pause()
        assert app.focused is not None and app.focused.id == "blockers-table"
        assert app.query_one("#blockers").has_pseudo_class("focus-within")
        await pilot.resize_terminal(100, 30)
        await until(lambda: not app.dashboard)
        await pilot.pause()
        assert on_screen(app, "#blockers-table")  # the panel in use stays the one shown
        assert not app.query_one("#run").display


async def test_the_checklist_keeps_its_focus_across_panels(db_url: str, tmp_path: Path) -> None:
    app = make_app(db_url, tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await loaded(app)
        await pilot.press("enter")
        await until(lambda: len(app.query(ChecklistItem)) == 8)
        app.query_one("#item-verify", ChecklistItem).focus()
        await pilot.press("4", "2")
        await until(lambda: app.active == "checklist")
        await pilot.pause()
        assert app.focused is app.query_one("#item-verify")
        meta = " ".join(str(w.render()) for w in app.query("#meta"))
        assert "by ?" not in meta


async def test_history_shows_the_operators_actions(
    db_url: str, helper: asyncpg.Connection, tmp_path: Path
) -> None:
    history = tmp_path / "history.toml"
    shutil.copy(ROOT / "history.toml", history)
    store = HistoryStore(history)
    when = datetime(2026, 12, 1, 9, 30, tzinfo=UTC)
    store.add_action(None, {"what": "terminate", "pid": 4242, "by": "bo", "at": when,
                            "application": "nightly-report", "signalled": True})  # fmt: skip
    app = make_app(db_url, tmp_path, history=history)
    async with app.run_test(size=(120, 40)) as pilot:
        await loaded(app)
        await pilot.press("7")
        table = app.query_one("#history-actions", DataTable)
        await until(lambda: table.row_count == 1)
        row = [str(c) for c in table.get_row_at(0)]
        assert row[:4] == ["2026-12-01 09:30:00", "terminate", "4242", "bo"]
        assert "nightly-report" in row[5]
    assert tomllib.loads(history.read_text())["actions"][0]["pid"] == 4242


async def test_panel_switches_leak_no_widgets(db_url: str, tmp_path: Path) -> None:
    """Textual's Footer leaked a dozen widgets per switch (Textual #6666); the key bar
    redraws in place."""
    app = make_app(db_url, tmp_path, start_refresh=False)

    def alive() -> int:
        gc.collect()
        return sum(1 for o in gc.get_objects() if isinstance(o, Widget) and not o.is_attached)

    async with app.run_test(size=(80, 24)) as pilot:
        await loaded(app)
        for key in "1234567" * 2:  # a first round: every panel built and laid out once
            await pilot.press(key)
        await pilot.pause()
        before = alive()
        for key in "1234567" * 3:
            await pilot.press(key)
        await pilot.pause()
        assert alive() - before <= 2


async def test_dashboard_switches_settle_on_the_panel_asked_for(
    db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Hiding the focused side panel moves Textual's focus elsewhere: that stray focus must
    neither take the panel over nor start the tab strip and the body chasing each other."""
    app = make_app(db_url, tmp_path, start_refresh=False)
    shows: list[str] = []
    original = Body.show

    def counted(self: Body, panel: str) -> None:
        shows.append(panel)
        original(self, panel)

    monkeypatch.setattr(Body, "show", counted)
    async with app.run_test(size=(200, 60)) as pilot:
        await loaded(app)
        await until(lambda: len(app.query(ChecklistItem)) == 8)
        app.query_one("#item-verify", ChecklistItem).focus()
        await pilot.pause()
        for panel in ("verify", "run", "plan", "blockers", "history", "checklist"):
            shows.clear()
            app.action_show_tab(panel)
            await until(lambda p=panel: app.active == p and app.query_one(Tabs).active == p)
            for _ in range(5):
                await pilot.pause()
            focused = app.focused
            assert focused is not None and app.query_one(f"#{panel}") in focused.ancestors, panel
            assert app.active == panel and app.query_one(Tabs).active == panel
            asked = len(shows)
            for _ in range(5):
                await pilot.pause()
            assert len(shows) == asked <= 2, (panel, shows[:10])


async def dialog_up(app, pilot) -> None:  # type: ignore[no-untyped-def]
    """Until a dialog is open and laid out: its messages handled (mounted, fitted)."""
    await until(lambda: len(app.screen.query("#dialog")) == 1)
    await pilot.pause()


def in_dialog(app, *selectors: str) -> list[str]:  # type: ignore[no-untyped-def]
    """Those of the dialog's widgets that are not whole inside it and on screen, and not
    under another (docked buttons over a field)."""
    dialog = app.screen.query_one("#dialog").region
    wrong = []
    for selector in selectors:
        widget = app.screen.query_one(selector)
        region = widget.region
        inside = region.height > 0 and dialog.contains_region(region)
        if not inside or not app.screen.region.contains_region(region):
            wrong.append(f"{selector} at {region}, the dialog at {dialog}")
        elif app.screen.get_widget_at(region.x + 1, region.y + region.height // 2)[0] not in (
            widget,
            *widget.walk_children(),
        ):
            wrong.append(f"{selector} at {region} is under another widget")
    return wrong


@pytest.mark.parametrize("size", [(200, 60), (80, 24), (80, 16), (60, 14)])
async def test_the_dialogs_keep_their_answers_on_screen(
    db_url: str, tmp_path: Path, size: tuple[int, int]
) -> None:
    # A terminal split in panes: a dialog's body scrolls, its answers stay. From 80x16
    # down they were below the dialog's edge, there but unseen, and the sign-off's
    # note, which has the focus, with them.
    app = make_app(db_url, tmp_path, start_refresh=False)
    async with app.run_test(size=size) as pilot:
        await loaded(app)
        await pilot.press("1", "r")
        await dialog_up(app, pilot)
        assert in_dialog(app, "#no", "#yes") == []
        await pilot.press("escape")
        await pilot.press("1", "enter")
        await until(lambda: len(app.query(ChecklistItem)) == 8)
        app.query_one("#item-backup", ChecklistItem).focus()
        await pilot.press("s")
        await dialog_up(app, pilot)
        assert in_dialog(app, "#cancel", "#skipped", "#done", "#note") == []
        fields, buttons = (app.screen.query_one(s).region for s in (".dialog-fields", "#done"))
        assert buttons.y == fields.bottom  # nothing empty between them, on a large screen too
        await pilot.press("escape")


@pytest.mark.parametrize("size", [(200, 60), (80, 24), (80, 16), (60, 14)])
async def test_a_choice_keeps_its_choices_on_screen(
    db_url: str, tmp_path: Path, size: tuple[int, int]
) -> None:
    # The build waiting past --max-wait: the choices are the answers. The body scrolls.
    from console.tui.dialogs.choice import Choice, ChoiceModal

    app = make_app(db_url, tmp_path, start_refresh=False)
    async with app.run_test(size=size) as pilot:
        await loaded(app)
        choices = [
            Choice("k", "Keep waiting (ask again in 5 min)", "keep"),
            Choice("c", "Cancel pid 4's statement", "cancel"),
            Choice("t", "Terminate pid 4: its transaction rolls back", "terminate"),
            Choice("g", "Give up the build (leaves an INVALID index to drop)", "give_up"),
        ]
        body = "Statement 1 has waited 10 min for other transactions to end.\n\n" + "\n".join(
            f"Holder detail line {i}" for i in range(12)
        )
        app.push_screen(ChoiceModal("The build is still waiting", body, choices))
        await dialog_up(app, pilot)
        assert in_dialog(app, "#choices") == []
        assert app.screen.query_one("#choices").region.height >= len(choices)
        await pilot.press("escape")
