"""How the benchmarks print: tables, percentiles, milliseconds, the machine they ran on.

The standard library only: a benchmark's child process imports this before the
console, and its import is not what the child measures.
"""

from __future__ import annotations

import os
import platform
import statistics
from collections.abc import Sequence


def pct(values: Sequence[float], p: float) -> float:
    """Nearest-rank percentile (p in 0..100) of a non-empty sequence."""
    ordered = sorted(values)
    rank = max(1, min(len(ordered), round(p / 100 * len(ordered) + 0.5)))
    return ordered[rank - 1]


def ms(seconds: float | None, digits: int = 1, *, grouped: bool = False) -> str:
    """Seconds as milliseconds, `-` for none; `grouped` writes 1,234.5."""
    if seconds is None:
        return "-"
    return f"{seconds * 1000:{',' if grouped else ''}.{digits}f}"


def spread(values: Sequence[float], digits: int = 1, *, grouped: bool = False) -> list[str]:
    """min, median, p95 and max in ms (four dashes for no values)."""
    if not values:
        return ["-"] * 4
    return [
        ms(v, digits, grouped=grouped)
        for v in (min(values), statistics.median(values), pct(values, 95), max(values))
    ]


def tail(values: Sequence[float]) -> list[str]:
    """p50, p95 and max in ms, nearest rank."""
    return [ms(pct(values, 50)), ms(pct(values, 95)), ms(max(values))]


def mib(kib: float) -> str:
    return f"{kib / 1024:.1f}"


def print_table(headers: Sequence[str], rows: Sequence[Sequence[str]], indent: str = "") -> None:
    """Columns as wide as their widest cell: the first left-aligned, the others right."""
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(headers)]
    print(indent + "  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)))
    print(indent + "  ".join("-" * w for w in widths))
    for r in rows:
        cells = zip(r, widths, strict=True)
        print(indent + "  ".join(c.rjust(w) if i else c.ljust(w) for i, (c, w) in enumerate(cells)))


def load_avg() -> str:
    try:
        return " ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:
        return "?"


def machine() -> str:
    """`python 3.x on <platform>, N CPUs`."""
    return f"python {platform.python_version()} on {platform.platform()}, {os.cpu_count()} CPUs"


def versions(*packages: str) -> str:
    """`textual 1.0, rich 13.9`: the installed version of each."""
    from importlib.metadata import version

    return ", ".join(f"{p} {version(p)}" for p in packages)
