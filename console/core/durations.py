"""Durations as PostgreSQL writes them (``500ms``, ``5s``, ``2min``, ``1h``), read and shown.

Every time option of the console goes through ``parse_duration``: a bare number
is seconds, a unit is one of PostgreSQL's time units. A value that rounds to
0 ms is refused, because PostgreSQL reads a timeout of 0 as "wait forever";
so are ``nan``, ``inf``, negatives and values PostgreSQL cannot hold.
"""

from __future__ import annotations

import math
import re

from console.errors import BadInput

# PostgreSQL's time units (GUC "Numeric with Unit"), in seconds.
UNITS = {"us": 1e-6, "ms": 1e-3, "s": 1.0, "min": 60.0, "h": 3600.0, "d": 86400.0}
MAX_MS = 2**31 - 1  # the largest timeout PostgreSQL accepts (about 24.8 days)
UNLIMITED = ("0", "none", "off", "unlimited")
_SHAPE = re.compile(r"^\s*([+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:e[+-]?\d+)?)\s*([a-z]*)\s*$", re.I)


def parse_duration(text: str, option: str, *, unlimited_ok: bool = False) -> float | None:
    """Seconds, or None for "no limit" (only where ``unlimited_ok``); BadInput otherwise."""
    raw = str(text).strip()
    if unlimited_ok and raw.lower() in UNLIMITED:
        return None
    m = _SHAPE.match(raw)
    hint = (
        f"Give {option} as PostgreSQL writes durations: 500ms, 5s, 2min, 1h "
        "(a bare number is seconds)" + (", or 0 for no limit." if unlimited_ok else ".")
    )
    if m is None:
        raise BadInput(f"{option} {raw!r} is not a duration.", hint)
    number, unit = float(m.group(1)), (m.group(2) or "s").lower()
    if unit not in UNITS:
        raise BadInput(f"{option} {raw!r} has an unknown unit {m.group(2)!r}.", hint)
    seconds = number * UNITS[unit]
    if not math.isfinite(seconds) or seconds < 0:
        raise BadInput(f"{option} must be a positive duration, not {raw!r}.", hint)
    ms = round(seconds * 1000)
    if ms == 0:
        raise BadInput(
            f"{option} {raw!r} rounds to 0 ms, which PostgreSQL reads as 'wait forever'.", hint
        )
    if ms > MAX_MS:
        raise BadInput(f"{option} {raw!r} is longer than PostgreSQL allows (24 days).", hint)
    return seconds


def pg_ms(seconds: float | None) -> str:
    """A duration as a PostgreSQL setting value in whole milliseconds; None is "0" (off)."""
    return "0" if seconds is None else f"{max(1, round(seconds * 1000))}ms"


def duration(seconds: float) -> str:
    """A duration for people: "450 ms", "12.30 s", "3 min 5 s", "2 h 5 min"."""
    if seconds < 1:
        return f"{seconds * 1000:.0f} ms"
    if seconds < 120:
        return f"{seconds:.2f} s"
    if seconds < 7200:
        return f"{int(seconds // 60)} min {seconds % 60:.0f} s"
    return f"{int(seconds // 3600)} h {int(seconds % 3600 // 60)} min"


def age(seconds: float | None, unknown: str = "?") -> str:
    """How long something has been so, for a sentence: "45 s", "12 min", "2 h 5 min"."""
    if seconds is None:
        return unknown
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    return f"{int(seconds // 3600)} h {int(seconds % 3600 // 60)} min"


def short(seconds: float) -> str:
    """A duration in one compact word: "45s", "3m05s", "2h05m"."""
    if seconds < 60:
        return f"{seconds:.0f}s"
    if seconds < 3600:
        return f"{seconds // 60:.0f}m{seconds % 60:02.0f}s"
    return f"{seconds // 3600:.0f}h{seconds % 3600 // 60:02.0f}m"
