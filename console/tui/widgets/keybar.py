"""The key bar at the bottom: the keys that work here, each clickable, on one line.

It replaces Textual's Footer, which rebuilds a widget per key every time the
bindings change (every panel switch) and, through Textual issue #6666, never frees
the old ones: about a dozen widgets leaked per switch, and memory grew for as long
as the console ran. This bar is one widget whose text is redrawn in place.
"""

from __future__ import annotations

from rich.text import Text
from textual import events
from textual.widget import Widget

from console.glyphs import is_ascii


class KeyBar(Widget):
    COMPONENT_CLASSES = {"keybar--key", "keybar--off"}
    DEFAULT_CSS = """
    KeyBar {
        dock: bottom;
        height: 1;
        background: $footer-background;
        color: $footer-foreground;
    }
    KeyBar > .keybar--key {
        color: $footer-key-foreground;
        text-style: bold;
    }
    KeyBar > .keybar--off {
        color: $text-disabled;
    }
    """

    def __init__(self) -> None:
        super().__init__(id="keybar")
        self._keys: list[tuple[int, int, str]] = []  # (start, end, key) of each clickable key

    def on_mount(self) -> None:
        self.screen.bindings_updated_signal.subscribe(self, self._changed)

    def _changed(self, screen: object) -> None:
        if self.is_attached and screen is self.screen:
            self.refresh()

    def render(self) -> Text:
        """Drawn from the bindings and the styles of now: a theme chosen later (the
        palette's Theme, the 16-colour one) repaints it with its own colours."""
        text = Text(no_wrap=True, overflow="crop" if is_ascii() else "ellipsis")
        self._keys = []
        seen: set[str] = set()
        key_style = self.get_component_rich_style("keybar--key")
        off_style = self.get_component_rich_style("keybar--off")
        for _node, binding, enabled, _tooltip in self.screen.active_bindings.values():
            if not binding.show or binding.action in seen:
                continue
            seen.add(binding.action)
            start = len(text)
            key = self.app.get_key_display(binding)
            if not key.isascii() and is_ascii():  # Textual draws enter as ⏎, up as ↑, …
                key = binding.key.split(",")[0]
            text.append(f" {key}", style=key_style if enabled else off_style)
            text.append(f" {binding.description} ", style="" if enabled else off_style)
            self._keys.append((start, len(text), binding.key.split(",")[0]))
        palette = " ^p palette"
        if self.size.width > len(text) + len(palette):
            text.append(" " * (self.size.width - len(text) - len(palette)))
            text.append(palette, style="dim")
        return text

    def on_click(self, event: events.Click) -> None:
        x = event.x
        for start, end, key in self._keys:
            if start <= x < end:
                self.app.simulate_key(key)
                return
        if x >= self.size.width - len(" ^p palette"):
            self.app.action_command_palette()
