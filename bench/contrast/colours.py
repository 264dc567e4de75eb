"""Colours as a 16-colour terminal shows them, and their WCAG 2 contrast ratio.

xterm's default palette (its XTerm-col.ad / charproc defaults, colours 0-15), and the
Linux console's (drivers/tty/vt: default_red/grn/blu). Default foreground and background:
xterm black on white, the console light grey on black.
"""

from __future__ import annotations

from typing import Any

from console.tui.contrast import RGB, rgb

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
