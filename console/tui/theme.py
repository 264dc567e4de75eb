"""The console's look on small terminals: a 16-colour theme, and ASCII for Textual's drawing.

**16 colours.** A terminal that reports no more than the 16 ANSI colours (Rich's
colour system "standard": ``TERM=xterm``, ``TERM=linux``, ``screen`` … without
``COLORTERM=truecolor`` or a ``-256color`` name) gets ``console-16``, a theme built
only from those 16 colours and written to the terminal as ANSI colours, so the
terminal's own palette draws it. Textual's default theme is truecolor, and its
colours rounded to the nearest of the 16 put the footer's keys at 1.0:1 against
their background. Every pair this theme sets reaches 4.5:1 (WCAG AA) on xterm's
default palette; tests/ui/test_theme.py checks it and bench/bench_contrast.py
measures the whole screen. Not chosen

* under ``NO_COLOR``: Textual then turns every colour to grey (its Monochrome
  filter), which needs RGB colours; ANSI colours would all become black. The
  stylesheet keeps the scrollbar visible there (console.tcss, last block);
* on a headless app (tests, screenshots): there is no terminal to fit, and
  screenshots should not depend on the ``TERM`` of whoever makes them.

**NO_COLOR.** Textual's default theme turned grey put unlike colours on the same
grey once a 16-colour terminal rounds them: the run's confirmation named its database
grey on grey (1.0:1), the key bar too. Under ``NO_COLOR`` a terminal gets
``console-mono``: black, white and two greys that round to four different colours
of the 16 (black, bright black, white, bright white), every pair it sets at 4.5:1 on
xterm's palette; what colour told apart (the error banner, the top bar, the selected
row) is black on a light ground there.

``TEXTUAL_COLOR_SYSTEM=standard`` forces the 16-colour theme, ``=truecolor`` keeps
the default one; either theme can also be picked from the command palette.

**ASCII.** When console/glyphs.py chose ASCII (the Linux console, a locale that is
not UTF-8), Textual's own drawing follows where Textual lets it: the scrollbar's
eighth blocks, the progress bar's and tab underline's heavy lines, and borders
(the app gets the class ``-ascii``; the stylesheet switches them to ``ascii``).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from textual.app import App
from textual.renderables.bar import Bar as BarRenderable
from textual.scrollbar import ScrollBar, ScrollBarRender
from textual.theme import Theme

from console.glyphs import ASCII, G, is_ascii

NAME = "console-16"

# Each colour is one of the 16 (Textual writes "ansi_*" as the terminal's own colours).
# Text is bright white on black, muted text plain white; the selected row bright white
# on blue, the top bar and table headers bright white on bright blue; the error banner
# bright white on red (console.tcss), the warning banner black on bright yellow.
SIXTEEN = Theme(
    name=NAME,
    ansi=True,
    dark=True,
    primary="ansi_bright_blue",
    secondary="ansi_cyan",
    accent="ansi_bright_yellow",
    warning="ansi_bright_yellow",
    error="ansi_bright_red",
    success="ansi_green",
    foreground="ansi_bright_white",
    background="ansi_black",
    surface="ansi_black",
    panel="ansi_black",
    boost="ansi_black",
    variables={
        "text": "ansi_bright_white",
        "text-muted": "ansi_white",
        "text-disabled": "ansi_bright_black",
        "text-primary": "ansi_bright_cyan",
        "text-secondary": "ansi_bright_cyan",
        "text-accent": "ansi_bright_yellow",
        "text-warning": "ansi_bright_yellow",
        "text-error": "ansi_bright_red",
        "text-success": "ansi_bright_green",
        "panel-lighten-2": "ansi_bright_black",  # unfocused panels' and items' borders
        "foreground-muted": "ansi_white",
        "background-muted": "ansi_black",
        "ansi-background": "ansi_black",
        "ansi-foreground": "ansi_bright_white",
        "block-cursor-foreground": "ansi_bright_white",
        "block-cursor-background": "ansi_blue",
        "block-cursor-text-style": "bold",
        "block-cursor-blurred-foreground": "ansi_black",
        "block-cursor-blurred-background": "ansi_white",
        "block-cursor-blurred-text-style": "none",
        "block-hover-background": "ansi_black",
        "border": "ansi_bright_blue",
        "border-blurred": "ansi_bright_black",
        "scrollbar": "ansi_white",
        "scrollbar-hover": "ansi_bright_white",
        "scrollbar-active": "ansi_bright_white",
        "scrollbar-background": "ansi_black",
        "scrollbar-background-hover": "ansi_black",
        "scrollbar-background-active": "ansi_black",
        "scrollbar-corner-color": "ansi_black",
        "link-color": "ansi_bright_cyan",
        "link-color-hover": "ansi_bright_white",
        "link-background-hover": "ansi_blue",
        "footer-foreground": "ansi_bright_white",
        "footer-background": "ansi_black",
        "footer-key-foreground": "ansi_bright_yellow",
        "footer-key-background": "ansi_black",
        "footer-description-foreground": "ansi_bright_white",
        "footer-description-background": "ansi_black",
        "footer-item-background": "ansi_black",
        "input-cursor-foreground": "ansi_black",
        "input-cursor-background": "ansi_bright_white",
        "input-cursor-text-style": "none",
        "input-selection-foreground": "ansi_bright_white",
        "input-selection-background": "ansi_blue",
        "screen-selection-foreground": "ansi_bright_white",
        "screen-selection-background": "ansi_blue",
        "button-foreground": "ansi_bright_white",
        "button-color-foreground": "ansi_bright_white",
    },
)


MONO_NAME = "console-mono"
BLACK, DARK, LIGHT, WHITE = "#000000", "#5f5f5f", "#b2b2b2", "#ffffff"

# Each of the theme's variables by its grey (and the cursor's styles: a bold black is
# shown bright black on 16 colours, 4.0:1 on white).
_MONO_GREYS = {
    WHITE: "text text-primary text-secondary text-accent text-warning text-error text-success "
    "ansi-foreground border scrollbar-hover scrollbar-active link-color link-background-hover "
    "footer-foreground footer-key-foreground input-cursor-background block-cursor-background "
    "button-foreground button-color-foreground",
    LIGHT: "text-muted foreground-muted scrollbar footer-description-foreground "
    "block-cursor-blurred-background input-selection-background screen-selection-background",
    DARK: "text-disabled panel-lighten-2 border-blurred",
    BLACK: "background-muted ansi-background block-cursor-foreground "
    "block-cursor-blurred-foreground block-hover-background scrollbar-background "
    "scrollbar-background-hover scrollbar-background-active scrollbar-corner-color "
    "link-color-hover footer-background footer-key-background footer-description-background "
    "footer-item-background input-cursor-foreground input-selection-foreground "
    "screen-selection-foreground",
}
MONO = Theme(
    name=MONO_NAME,
    dark=True,
    primary=LIGHT,
    secondary=LIGHT,
    accent=WHITE,
    warning=WHITE,
    error=WHITE,
    success=LIGHT,
    foreground=WHITE,
    background=BLACK,
    surface=BLACK,
    panel=BLACK,
    boost=BLACK,
    variables={
        **{name: grey for grey, names in _MONO_GREYS.items() for name in names.split()},
        "block-cursor-text-style": "none",
        "block-cursor-blurred-text-style": "none",
        "input-cursor-text-style": "none",
    },
)


def wants_16_colours(color_system: str | None, env: Mapping[str, str]) -> bool:
    """The rule in the module's docstring, for a terminal (not a headless app)."""
    if "NO_COLOR" in env:
        return False
    if env.get("TERM", "").strip().lower().startswith("linux"):
        return True
    return color_system in ("standard", "windows")


def chosen(color_system: str | None, env: Mapping[str, str]) -> str | None:
    """The console's theme for a terminal: NO_COLOR's, the 16 colours', or None (Textual's
    default). Textual reads NO_COLOR as this does: set, whatever its value."""
    if "NO_COLOR" in env:
        return MONO_NAME
    return NAME if wants_16_colours(color_system, env) else None


class AsciiScrollBarRender(ScrollBarRender):
    """Whole cells only: no eighth blocks at the thumb's ends."""

    VERTICAL_BARS = list(ASCII.scroll_vertical)
    HORIZONTAL_BARS = list(ASCII.scroll_horizontal)


def textual_glyphs() -> None:
    """Textual's own drawing in the glyphs chosen: the heavy lines of progress bars and
    tab underlines, the scrollbars' eighth blocks. Class attributes Textual offers for
    this, so one table for the process, like console/glyphs.py's."""
    bar = BarRenderable
    bar.HALF_BAR_LEFT, bar.BAR, bar.HALF_BAR_RIGHT = G.bar_left, G.bar, G.bar_right
    ScrollBar.renderer = AsciiScrollBarRender if is_ascii() else ScrollBarRender


def apply_theme(app: App[Any]) -> None:
    """Register the 16-colour and the NO_COLOR themes and choose one when the terminal
    has 16 colours or NO_COLOR is set; Textual's glyphs and borders (the class
    ``-ascii``) as console/glyphs.py chose."""
    app.register_theme(SIXTEEN)
    app.register_theme(MONO)
    textual_glyphs()
    app.set_class(is_ascii(), "-ascii")
    name = None if app.is_headless else chosen(app.console.color_system, os.environ)
    if name is not None:
        app.theme = name
