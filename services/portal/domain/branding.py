"""A tenant's colour, made safe to use: validated as ``#rrggbb`` and readable (WCAG AA).

The colour a salesperson picked is used twice: as is for decoration (the band at the top
of the page), and as the accent of links and buttons, where it is darkened until white
text on it and it on white both reach the 4.5:1 contrast WCAG AA asks of normal text.
"""
from __future__ import annotations

import re

_HEX = re.compile(r"#?([0-9a-fA-F]{6})")
AA_TEXT = 4.5
DEFAULT_ACCENT = "1f5fbf"


def valid_color(value: str) -> str:
    """``"#1F3A5F"`` -> ``"1f3a5f"``; anything not exactly ``#rrggbb`` -> ``""``."""
    match = _HEX.fullmatch((value or "").strip())
    return match.group(1).lower() if match else ""


def _channels(hex6: str) -> tuple[int, int, int]:
    return int(hex6[0:2], 16), int(hex6[2:4], 16), int(hex6[4:6], 16)


def luminance(hex6: str) -> float:
    """WCAG 2.x relative luminance of ``rrggbb``."""
    def linear(c: int) -> float:
        s = c / 255
        return s / 12.92 if s <= 0.04045 else ((s + 0.055) / 1.055) ** 2.4

    r, g, b = (linear(c) for c in _channels(hex6))
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(first: str, second: str) -> float:
    a, b = sorted((luminance(first), luminance(second)), reverse=True)
    return (a + 0.05) / (b + 0.05)


def readable_accent(hex6: str, background: str = "ffffff") -> str:
    """``hex6`` darkened just enough to reach AA contrast against ``background``."""
    r, g, b = _channels(hex6)
    for step in range(0, 101):
        factor = 1 - step / 100
        candidate = f"{round(r * factor):02x}{round(g * factor):02x}{round(b * factor):02x}"
        if contrast(candidate, background) >= AA_TEXT:
            return candidate
    return "000000"


def theme_css(hex6: str) -> str:
    """The tiny stylesheet of one colour (served as ``/theme/<rrggbb>.css``)."""
    color = valid_color(hex6)
    if not color:
        raise ValueError(f"not a #rrggbb colour: {hex6!r}")
    accent = readable_accent(color)
    return (f":root{{--brand:#{color};--accent:#{accent};"
            f"--accent-soft:#{accent}1a}}\n")
