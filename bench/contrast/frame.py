"""What one frame shows: every (foreground, background) pair on screen, the pairs the
issue names, and the scrollbars' thumb against their track."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from console.tui.contrast import contrast
from contrast.colours import RGB, is_graphic, shown


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
