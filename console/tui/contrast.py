"""WCAG 2 contrast between two colours: what the 16-colour theme is chosen by (4.5:1 for
text), checked by tests/ui/test_theme.py and measured by bench/bench_contrast.py."""

from __future__ import annotations

RGB = tuple[int, int, int]


def rgb(hex_: str) -> RGB:
    """``#rrggbb`` as three 0-255 values."""
    return int(hex_[1:3], 16), int(hex_[3:5], 16), int(hex_[5:7], 16)


def luminance(c: RGB) -> float:
    """Relative luminance (WCAG 2)."""

    def lin(v: int) -> float:
        s = v / 255
        return s / 12.92 if s <= 0.04045 else ((s + 0.055) / 1.055) ** 2.4

    r, g, b = (lin(v) for v in c)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(a: RGB, b: RGB) -> float:
    """The contrast ratio of two colours, 1 to 21."""
    hi, lo = sorted((luminance(a), luminance(b)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)
