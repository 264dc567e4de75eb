"""A dialog's body fitted to the terminal: on a short one it scrolls, and the answers
(the buttons under it) stay in view.

A dialog is as tall as what it holds, up to 90% of the screen (console.tcss, ``.dialog``).
Past that, Textual cuts off what comes last: the buttons. So the body, a scrolling
container, may take only what the screen leaves it once the dialog's own rows (its
border and padding, the title, the buttons: ``chrome`` rows) are counted, and at most
``most``.
"""

from __future__ import annotations

from textual.geometry import Size
from textual.widget import Widget

DIALOG_SHARE = 0.9  # of the screen's height: console.tcss, .dialog's max-height
FRAME_ROWS = 6  # the border 2, the padding 2, the title and the line under it 2
CHROME_ROWS = FRAME_ROWS + 3  # and a row of buttons


def fit(body: Widget, screen: Size, most: int, chrome: int = CHROME_ROWS) -> None:
    """Let ``body`` take at most what a ``screen`` of this size leaves it (at least a row)."""
    room = int(screen.height * DIALOG_SHARE) - chrome
    body.styles.max_height = max(1, min(most, room))
