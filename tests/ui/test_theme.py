"""16 colours, ASCII and NO_COLOR (issue 9).

The contrast checks map ANSI colours to xterm's default palette (data, below) and
compute WCAG 2's ratio here: 4.5:1 for text, 3:1 for lines, blocks and scrollbars.
A bold colour among 0-7 is shown bright, as xterm (boldColors, on by default) and the
Linux console do; dim text is blended 66% from its background (Textual's DIM_FACTOR).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from rich.color import Color as RichColor
from rich.color import ColorSystem, ColorType
from rich.segment import Segment
from textual.color import Color
from textual.widget import Widget
from textual.widgets import DataTable, Log

from console import glyphs
from console.core.waits import TreeNode, WaitReport
from console.db.activity import Session
from console.tui import theme
from console.tui.contrast import RGB, contrast, rgb
from console.tui.widgets.blockers import BlockersPanel
from console.tui.widgets.checklist import ChecklistItem, ChecklistPanel
from console.tui.widgets.run_log import RunPanel
from tests.ui.harness import loaded, make_app, until
from tests.unit.test_glyphs import every_event

# xterm's default colours 0-15 (XTerm-col.ad), and its default foreground and background.
XTERM = (
    "#000000 #cd0000 #00cd00 #cdcd00 #0000ee #cd00cd #00cdcd #e5e5e5 "
    "#7f7f7f #ff0000 #00ff00 #ffff00 #5c5cff #ff00ff #00ffff #ffffff"
).split()
XTERM_FG, XTERM_BG = "#000000", "#ffffff"
NAMES = [
    *("black", "red", "green", "yellow", "blue", "magenta", "cyan", "white"),
    *(f"bright_{n}" for n in ("black", "red", "green", "yellow", "blue", "magenta", "cyan")),
    "bright_white",
]
TEXT, GRAPHIC = 4.5, 3.0


def index(name: str) -> int:
    """The ANSI number of a theme colour ("ansi_bright_white" -> 15)."""
    color = Color.parse(name)
    assert color.ansi is not None and color.ansi >= 0, f"{name} is not one of the 16"
    return color.ansi


def pair_ratio(fg: str, bg: str, bold: bool = False) -> float:
    f, b = index(fg), index(bg)
    if bold and f < 8:
        f += 8
    return contrast(rgb(XTERM[f]), rgb(XTERM[b]))


# -- the theme's own pairs --------------------------------------------------------------------

# (foreground, background, bold, what it is); names are the theme's variables, or colours
# the last block of console.tcss sets for this theme.
TEXT_PAIRS = [
    ("text", "background", False, "text"),
    ("text-muted", "background", False, "muted text, inactive tabs"),
    ("text-disabled", "background", False, "disabled keys"),
    ("text-primary", "background", False, "primary text"),
    ("text-secondary", "background", False, "secondary text"),
    ("text-accent", "background", False, "accent text"),
    ("text-warning", "background", False, "warnings"),
    ("text-error", "background", False, "errors, the error button"),
    ("text-success", "background", False, "successes"),
    ("warning", "background", False, "the run's phase (#run-phase)"),
    ("link-color", "background", False, "links"),
    ("link-color-hover", "link-background-hover", False, "a link under the mouse"),
    ("footer-key-foreground", "footer-key-background", True, "footer key letters"),
    ("footer-description-foreground", "footer-description-background", False, "footer"),
    ("footer-foreground", "footer-background", False, "footer"),
    ("block-cursor-foreground", "block-cursor-background", True, "selected row"),
    ("block-cursor-blurred-foreground", "block-cursor-blurred-background", False, "blurred"),
    ("text", "primary", True, "top bar, table headers"),
    ("text", "ansi_red", True, "error banner (console.tcss)"),
    ("ansi_black", "warning", False, "warning banner (console.tcss)"),
    ("input-cursor-foreground", "input-cursor-background", False, "input cursor"),
    ("input-selection-foreground", "input-selection-background", False, "selected input"),
    ("screen-selection-foreground", "screen-selection-background", False, "selected text"),
    ("button-foreground", "background", False, "buttons"),
    ("ansi-foreground", "ansi-background", False, "toasts"),
]
GRAPHIC_PAIRS = [
    ("scrollbar", "scrollbar-background", "scrollbar thumb"),
    ("scrollbar-hover", "scrollbar-background-hover", "scrollbar thumb, hovered"),
    ("scrollbar-active", "scrollbar-background-active", "scrollbar thumb, dragged"),
    ("primary", "background", "run log border, primary button border"),
    ("border", "background", "focused borders"),
    ("accent", "background", "focused checklist item and panel"),
    ("success", "background", "done checklist item"),
    ("error", "background", "failed checklist item, error button border"),
    ("panel-lighten-2", "background", "unfocused panels and checklist items"),
    ("text", "border-blurred", "tabs' underline (console.tcss)"),
]


def variables() -> dict[str, str]:
    return {**theme.SIXTEEN.to_color_system().generate(), **theme.SIXTEEN.variables}


def resolve(name: str) -> str:
    return variables().get(name, name)


def test_the_theme_is_made_of_the_16_colours_only() -> None:
    t = theme.SIXTEEN
    assert t.ansi  # written as the terminal's own colours
    fields = [
        t.primary, t.secondary, t.accent, t.warning, t.error, t.success,
        t.foreground, t.background, t.surface, t.panel, t.boost,
    ]  # fmt: skip
    colours = [v for v in [*fields, *t.variables.values()] if v is not None]
    colours = [v for v in colours if v not in ("bold", "none")]  # text styles
    assert colours and all(v.startswith("ansi_") and v[5:] in NAMES for v in colours), colours


def test_the_theme_pairs_reach_aa_on_xterm() -> None:
    low = [
        f"{what}: {fg} on {bg} {pair_ratio(resolve(fg), resolve(bg), bold):.2f}:1"
        for fg, bg, bold, what in TEXT_PAIRS
        if pair_ratio(resolve(fg), resolve(bg), bold) < TEXT
    ]
    low += [
        f"{what}: {fg} on {bg} {pair_ratio(resolve(fg), resolve(bg)):.2f}:1"
        for fg, bg, what in GRAPHIC_PAIRS
        if pair_ratio(resolve(fg), resolve(bg)) < GRAPHIC
    ]
    assert low == []


def test_the_check_finds_the_pairs_the_issue_reports() -> None:
    """What a 16-colour terminal made of Textual's default theme: the check says no."""
    assert pair_ratio("ansi_bright_red", "ansi_bright_black", bold=True) < 1.1  # footer keys
    assert pair_ratio("ansi_bright_white", "ansi_cyan", bold=True) == pytest.approx(1.98, 0.01)
    assert pair_ratio("ansi_red", "ansi_black") < TEXT < pair_ratio("ansi_red", "ansi_black", True)


@pytest.mark.parametrize(
    ("color_system", "env", "name"),
    [
        ("standard", {"TERM": "xterm", "NO_COLOR": "1"}, theme.MONO_NAME),
        ("truecolor", {"TERM": "xterm-256color", "NO_COLOR": ""}, theme.MONO_NAME),
        ("standard", {"TERM": "xterm"}, theme.NAME),
        ("truecolor", {"TERM": "xterm-256color"}, None),
    ],
)
def test_no_color_gets_the_grey_theme(
    color_system: str | None, env: dict[str, str], name: str | None
) -> None:
    assert theme.chosen(color_system, env) == name


def test_the_grey_theme_rounds_to_four_of_the_16_and_its_pairs_reach_aa() -> None:
    """Each grey of console-mono becomes its own of the 16 (black, bright black, white,
    bright white) on a 16-colour terminal, and every pair it sets reaches 4.5:1 there."""
    t = theme.MONO
    values = {**t.to_color_system().generate(), **t.variables}
    greys = (theme.BLACK, theme.DARK, theme.LIGHT, theme.WHITE)
    sixteen = [int(RichColor.parse(g).downgrade(ColorSystem.STANDARD).number or 0) for g in greys]
    assert sixteen == [0, 8, 7, 15]
    on_16 = dict(zip(greys, sixteen, strict=True))

    def ratio(fg: str, bg: str, bold: bool = False) -> float:
        f, b = on_16[values.get(fg, fg).lower()], on_16[values.get(bg, bg).lower()]
        return contrast(rgb(XTERM[f + 8 if bold and f < 8 else f]), rgb(XTERM[b]))

    # The theme's variables as the 16-colour theme's pairs use them (the cursor is not
    # bold here), and what the stylesheet sets for this theme in their place.
    cursor_bold = values["block-cursor-text-style"] == "bold"
    pairs = [
        (fg, bg, bold and (cursor_bold or not fg.startswith("block-cursor")))
        for fg, bg, bold, what in TEXT_PAIRS
        if "console.tcss" not in what and what != "top bar, table headers"
    ]
    pairs += [
        ("background", "primary", False),  # top bar, table headers
        ("background", "foreground", False),  # error banner
        ("background", "secondary", False),  # warning banner
    ]
    low = [f"{fg} on {bg}: {ratio(fg, bg, bold):.2f}" for fg, bg, bold in pairs
           if ratio(fg, bg, bold) < TEXT]  # fmt: skip
    low += [f"{fg} on {bg}: {ratio(fg, bg):.2f}" for fg, bg, _what in GRAPHIC_PAIRS
            if ratio(fg, bg) < GRAPHIC]  # fmt: skip
    assert low == []


@pytest.mark.parametrize(
    ("color_system", "env", "wanted"),
    [
        ("standard", {"TERM": "xterm"}, True),
        ("truecolor", {"TERM": "linux"}, True),
        ("256", {"TERM": "xterm-256color"}, False),
        ("truecolor", {"TERM": "xterm", "COLORTERM": "truecolor"}, False),
        ("standard", {"TERM": "linux", "NO_COLOR": "1"}, False),
        (None, {"TERM": "dumb"}, False),
    ],
)
def test_the_16_colour_theme_is_for_16_colour_terminals(
    color_system: str | None, env: dict[str, str], wanted: bool
) -> None:
    assert theme.wants_16_colours(color_system, env) is wanted


# -- the console as a 16-colour terminal shows it -------------------------------------------


def shown(style: Any) -> tuple[RGB, RGB]:
    """(foreground, background) as xterm draws a Segment's style on 16 colours."""

    def number(c: RichColor | None) -> int | None:
        if c is None or c.type == ColorType.DEFAULT:
            return None
        if c.type == ColorType.STANDARD:
            return int(c.number)  # type: ignore[arg-type]
        return int(c.downgrade(ColorSystem.STANDARD).number)  # type: ignore[arg-type]

    f, b = number(style.color), number(style.bgcolor)
    if style.bold and f is not None and f < 8:
        f += 8
    fg = rgb(XTERM_FG if f is None else XTERM[f])
    bg = rgb(XTERM_BG if b is None else XTERM[b])
    if style.reverse:
        fg, bg = bg, fg
    if style.dim:
        fg = tuple(round(y + (x - y) * 0.66) for x, y in zip(fg, bg, strict=True))  # type: ignore[assignment]
    return fg, bg


def region_segments(app: Any, widget: Widget) -> Iterator[Segment]:
    strips = app.screen._compositor.render_strips()
    r = widget.region
    for y in range(r.y, r.bottom):
        yield from strips[y].crop(r.x, r.right)


def low_text_pairs(app: Any, where: str) -> list[str]:
    """Every character on screen against its background, below 4.5:1 (lines and blocks:
    3:1; the key bar's disabled keys are left out: WCAG asks nothing of inactive controls)."""
    compositor = app.screen._compositor
    disabled = set()
    for widget in compositor.visible_widgets:
        if type(widget).__name__ == "KeyBar":
            disabled.add(widget.get_component_rich_style("keybar--off", partial=True).color)
    low = []
    for y, strip in enumerate(compositor.render_strips()):
        for seg in strip:
            text = seg.text.strip()
            if not text or seg.style is None or seg.style.color in disabled:
                continue
            graphic = all(ch == " " or "\u2500" <= ch <= "\u259f" for ch in text)
            ratio = contrast(*shown(seg.style))
            if ratio < (GRAPHIC if graphic else TEXT):
                low.append(f"{where}, line {y}: {text[:30]!r} {ratio:.2f}:1 ({seg.style})")
    return low


@pytest.mark.parametrize(
    ("name", "no_color"),
    [(theme.NAME, False), (theme.MONO_NAME, True)],
    ids=["16 colours", "NO_COLOR on 16 colours"],
)
async def test_every_screen_reaches_aa_with_the_console_s_themes(
    db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str, no_color: bool
) -> None:
    # Under NO_COLOR, Textual greys every colour (its Monochrome filter, in the strips
    # read here) and a 16-colour terminal rounds the greys: its default theme put the
    # run confirmation's database and the key bar grey on grey (1.0:1).
    from console.tui.widgets.banner import Banner, Finding

    if no_color:
        monkeypatch.setenv("NO_COLOR", "1")  # Textual reads it when the App is built
    app = make_app(db_url, tmp_path, start_refresh=False)
    assert app.no_color is no_color
    async with app.run_test(size=(80, 24)) as pilot:
        app.theme = name  # a headless app keeps the default: choose it here
        await loaded(app)
        low: list[str] = []
        app.show_banner("connection lost: retrying every second")
        for key in "1234567":
            await pilot.press(key)
            await pilot.pause(0.1)
            low += low_text_pairs(app, f"panel {key}")
        banner = app.query_one(Banner)
        banner.connection("")
        banner.doctor([Finding("the role may not signal other sessions", severe=False)])
        await pilot.pause(0.1)
        low += low_text_pairs(app, "warning banner")
        await pilot.press("1", "enter")
        await until(lambda: len(app.query(ChecklistItem)) > 0)
        await pilot.pause(0.1)
        low += low_text_pairs(app, "checklist")
        await pilot.press("1", "r")
        await pilot.pause(0.3)
        low += low_text_pairs(app, "run confirmation")
        await pilot.press("escape")
    assert low == []


# -- NO_COLOR ---------------------------------------------------------------------------------


async def test_scrollbar_stays_visible_under_no_color(
    db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NO_COLOR", "1")  # Textual reads it when the App is built
    app = make_app(db_url, tmp_path, start_refresh=False)
    assert app.no_color
    async with app.run_test(size=(80, 24)) as pilot:
        await loaded(app)
        table = app.query_one("#migrations-table", DataTable)
        for i in range(60):  # far taller than the screen
            table.add_row(*[f"row {i}"] * len(table.columns), key=f"extra-{i}")
        await pilot.pause(0.2)
        bar = table.vertical_scrollbar
        assert table.show_vertical_scrollbar and bar.region.area
        # The thumb is drawn in reverse video, the track not: each cell's background.
        thumb, track = set(), set()
        for seg in region_segments(app, bar):
            if seg.style is not None and not seg.text.strip():
                (thumb if seg.style.reverse else track).add(shown(seg.style)[1])
        assert thumb and track, "no thumb or no track: nothing to scroll?"
        ratios = [contrast(a, b) for a in thumb for b in track]
        assert min(ratios) >= GRAPHIC, ratios


# -- ASCII on the Linux console --------------------------------------------------------------


@pytest.fixture
def linux_console(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """TERM=linux, as the console sees it at start-up; the table in use put back after."""
    before = dataclasses.replace(glyphs.G)
    monkeypatch.setenv("TERM", "linux")
    monkeypatch.delenv("MIGRATION_CONSOLE_ASCII", raising=False)
    glyphs.choose()
    yield
    glyphs.choose(before == glyphs.ASCII)
    theme.textual_glyphs()  # Textual's classes as they were


def _session(pid: int, state: str = "active") -> Session:
    return Session(
        pid, state, 3.0, 40.0, "CREATE INDEX CONCURRENTLY i ON t (a)", f"app {pid}", "app",
        "local", "Lock", "virtualxid", True, (),
    )  # fmt: skip


def screen_lines(app: Any) -> list[str]:
    """The screen's lines that are not ASCII, for the failure message."""
    lines = ["".join(s.text for s in strip) for strip in app.screen._compositor.render_strips()]
    return [line for line in lines if not line.isascii()]


def non_ascii(app: Any, widget: Widget) -> set[str]:
    return {ch for seg in region_segments(app, widget) for ch in seg.text if not ch.isascii()}


async def test_the_linux_console_gets_ascii_only(
    db_url: str, tmp_path: Path, linux_console: None
) -> None:
    assert glyphs.is_ascii()
    app = make_app(db_url, tmp_path, start_refresh=False)
    async with app.run_test(size=(80, 24)) as pilot:
        await loaded(app)
        assert app.has_class("-ascii")
        # the checklist
        await pilot.press("1", "enter")
        await until(lambda: len(app.query(ChecklistItem)) > 0)
        await pilot.pause(0.1)
        assert non_ascii(app, app.query_one(ChecklistPanel)) == set()
        # the run log: every event a run reports, more than the screen holds
        await pilot.press("3")
        panel = app.query_one(RunPanel)
        for _ in range(3):
            for e in every_event():
                panel.handle(e)  # type: ignore[arg-type]
        panel.flush()
        await pilot.pause(0.2)
        log = app.query_one("#run-log", Log)
        assert all(line.isascii() for line in log.lines)
        assert non_ascii(app, log) == set()  # its border and scrollbars too
        # the blockers tree: what the migration waits for, itself, what queues behind it
        await pilot.press("4")
        root, holder, queued = _session(7), _session(42, "idle in transaction"), _session(99)
        tree = [TreeNode(holder, -1), TreeNode(root, 0), TreeNode(queued, 1)]
        report = WaitReport(7, [holder, root, queued], [], None, tree, "pid 7 waits for pid 42.")
        blockers = app.query_one(BlockersPanel)
        blockers.show(report)
        await pilot.pause(0.2)
        cells = [str(c) for c in app.query_one("#blockers-table", DataTable).get_column_at(0)]
        assert cells[:3] == [f"{glyphs.ASCII.above}1", glyphs.ASCII.root, f"{glyphs.ASCII.below}1"]
        assert non_ascii(app, blockers) == set()


async def test_every_panel_on_the_linux_console_is_ascii_from_edge_to_edge(
    db_url: str, tmp_path: Path, linux_console: None
) -> None:
    """Not a panel's own text only: the top bar, the tabs, the banner, the key bar, the
    borders and the scrollbars of every panel, at 80x24 and on the dashboard."""
    app = make_app(db_url, tmp_path, start_refresh=False)
    async with app.run_test(size=(80, 24)) as pilot:
        await loaded(app)
        await until(lambda: "PostgreSQL" in str(app.query_one("#topbar").render()))
        for key in ("1", "enter", "3", "4", "v", "6", "7"):
            await pilot.press(key)
            if key == "v":
                await until(lambda: "failed" in str(app.query_one("#verify-summary").render()))
            await pilot.pause(0.1)
            assert non_ascii(app, app.screen) == set(), (key, app.active, screen_lines(app))
        await pilot.resize_terminal(200, 60)
        await until(lambda: app.dashboard)
        await pilot.pause(0.1)
        assert non_ascii(app, app.screen) == set(), ("dashboard", screen_lines(app))
