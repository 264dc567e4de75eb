"""The glyphs the console prints, each with an ASCII fallback, chosen once from the environment.

The Linux console's fonts lack ✓ ○ ⏎ ⏳ ↻ ⚡ and the partial blocks, and a terminal
whose locale is not UTF-8 shows none of them. ASCII is used when

* ``MIGRATION_CONSOLE_ASCII`` says so (``1``/``0``; it wins over everything else),
* ``TERM`` names a console that cannot show them (``linux…``, ``vt…``, ``dumb``), or
* standard output's encoding is not UTF-8 (``PYTHONIOENCODING=ascii``, say: what
  the output can hold wins over what the locale says), or
* the locale's encoding (the first of ``LC_ALL``, ``LC_CTYPE``, ``LANG`` that is set)
  is not UTF-8. Python turns the plain C locale into
  C.UTF-8 (PEP 538); set ``MIGRATION_CONSOLE_ASCII=1`` for a terminal that really
  cannot show UTF-8.

A ground-floor module: it imports nothing of the console, Textual or Rich, so both
faces (and the core's wording in ``narrate``) can use it. Read glyphs through ``G``
when the text is made (``f"{G.ok} done"``): ``choose`` switches the table in place.
"""

from __future__ import annotations

import locale
import os
import sys
from collections.abc import Mapping
from dataclasses import asdict, dataclass

__all__ = ["ASCII", "UNICODE", "G", "Glyphs", "ascii_wanted", "choose", "is_ascii"]

OVERRIDE = "MIGRATION_CONSOLE_ASCII"
ASCII_TERMS = ("linux", "vt", "dumb")


@dataclass
class Glyphs:
    # run log and CLI (core/narrate.py)
    start: str = "▶"  # a run starts
    end: str = "■"  # a run ends
    ok: str = "✓"  # a statement succeeded; a check passed
    fail: str = "✗"  # a statement failed; a check failed
    retry: str = "↻"  # a lock attempt is retried
    wait: str = "⏳"  # a statement waits
    alarm: str = "‼"  # --max-wait reached
    undo: str = "↺"  # a transaction rolled back
    action: str = "⚡"  # an operator's action during a run
    ellipsis: str = "…"  # text cut short, work going on, build progress
    dash: str = "—"  # a clause set apart
    sep: str = "·"  # between the parts of a status line
    rule: str = "─"  # between two runs in the log
    arrow: str = "→"  # before → after
    # the Blockers panel's lock tree
    above: str = "▲"  # what the migration waits for
    below: str = "▼"  # what queues behind it
    root: str = "●"  # the migration's own session
    # checklist states
    pending: str = "○"
    running: str = "◐"
    done: str = "●"
    skipped: str = "–"
    # keys and Textual's own drawing (applied by console/tui/theme.py)
    enter: str = "⏎"
    bar: str = "━"  # progress bar and tab underline
    bar_left: str = "╺"
    bar_right: str = "╸"
    scroll_vertical: str = "▁▂▃▄▅▆▇ "  # a scrollbar thumb's ends, in eighths
    scroll_horizontal: str = "▉▊▋▌▍▎▏ "


UNICODE = Glyphs()
ASCII = Glyphs(
    start=">",
    end="#",
    ok="ok",
    fail="x",
    retry="retry",
    wait="..",
    alarm="!!",
    undo="<-",
    action="!",
    ellipsis="...",
    dash="--",
    sep="|",
    rule="-",
    arrow="->",
    above="^",
    below="v",
    root="*",
    pending="o",
    running="~",
    done="*",
    skipped="-",
    enter="enter",
    bar="-",
    bar_left="-",
    bar_right="-",
    scroll_vertical="        ",  # eight blanks: whole cells only
    scroll_horizontal="        ",
)

G = Glyphs()  # the table in use; ``choose`` fills it


def _codeset(name: str) -> str:
    """The character set of a locale name: "en_US.UTF-8@euro" -> "UTF-8", "C" -> "ascii"."""
    if name in ("C", "POSIX"):
        return "ascii"
    if "." not in name.split("@", 1)[0]:
        name = locale.normalize(name)  # "en_US" -> "en_US.ISO8859-1"
    base = name.split("@", 1)[0]
    return base.split(".", 1)[1] if "." in base else "ascii"


def _is_utf8(codeset: str) -> bool:
    return codeset.lower().replace("-", "").replace("_", "") == "utf8"


def ascii_wanted(env: Mapping[str, str] | None = None, encoding: str | None = None) -> bool:
    """Whether to print ASCII only, from ``env`` (default ``os.environ``) and the encoding
    of standard output (default ``sys.stdout``'s), by the rules in the module's docstring."""
    env = os.environ if env is None else env
    override = env.get(OVERRIDE, "").strip().lower()
    if override in ("1", "true", "yes", "on"):
        return True
    if override in ("0", "false", "no", "off"):
        return False
    term = env.get("TERM", "").strip().lower()
    if term.startswith(ASCII_TERMS):
        return True
    if encoding is None:
        encoding = getattr(sys.stdout, "encoding", None) or "utf-8"
    if not _is_utf8(encoding):
        return True  # the output could not hold them, whatever the locale says
    for var in ("LC_ALL", "LC_CTYPE", "LANG"):
        if env.get(var):
            return not _is_utf8(_codeset(env[var]))
    return False


def choose(use_ascii: bool | None = None) -> Glyphs:
    """Fill ``G`` with the ASCII or the Unicode table (``None``: as the environment says)."""
    table = ASCII if (ascii_wanted() if use_ascii is None else use_ascii) else UNICODE
    for name, value in asdict(table).items():
        setattr(G, name, value)
    return G


def is_ascii() -> bool:
    return G == ASCII


choose()
