"""Brand colours are validated and made readable; the portal's own palette meets WCAG AA."""
from __future__ import annotations

import re
from pathlib import Path

import pytest
from hypothesis import given, strategies as st

from services.portal.domain import branding

CSS = Path(__file__).resolve().parents[3] / "services/portal/entrypoints/static/portal.css"


def test_only_rrggbb_is_a_colour():
    assert branding.valid_color("#1F3A5F") == "1f3a5f"
    assert branding.valid_color("1f3a5f") == "1f3a5f"
    for bad in ("", "#fff", "red", "#1f3a5f;", "#1f3a5fff", "url(x)", "#1f3a5g", " #1f3a5f}body{"):
        assert branding.valid_color(bad) == "", bad


def test_contrast_matches_wcag_reference_values():
    assert branding.contrast("ffffff", "000000") == pytest.approx(21.0)
    assert branding.contrast("777777", "ffffff") == pytest.approx(4.48, abs=0.01)
    assert branding.contrast("1f5fbf", "ffffff") > 4.5


@given(st.from_regex(r"[0-9a-f]{6}", fullmatch=True))
def test_the_accent_of_any_colour_is_readable_on_white_and_under_white_text(color):
    accent = branding.readable_accent(color)
    assert branding.contrast(accent, "ffffff") >= 4.5
    css = branding.theme_css(color)
    assert css == f":root{{--brand:#{color};--accent:#{accent};--accent-soft:#{accent}1a}}\n"


def test_a_dark_colour_is_kept_as_it_is():
    assert branding.readable_accent("1f3a5f") == "1f3a5f"


def test_theme_css_refuses_what_is_not_a_colour():
    with pytest.raises(ValueError):
        branding.theme_css("expression(alert(1))")


def _palette() -> dict[str, str]:
    root = re.search(r":root\s*\{([^}]*)\}", CSS.read_text()).group(1)
    return {name: value.lower() for name, value in re.findall(r"--([a-z-]+):\s*#([0-9a-fA-F]{6})", root)}


@pytest.mark.parametrize("text, background", [
    ("ink", "card"), ("ink", "page"), ("muted", "card"), ("muted", "page"), ("accent", "card"),
    ("ok", "ok-bg"), ("warn", "warn-bg"), ("bad", "bad-bg"), ("bad", "card"), ("ink", "page"),
])
def test_the_portal_palette_meets_aa_for_text(text, background):
    colors = _palette()
    assert branding.contrast(colors[text], colors[background]) >= 4.5, (text, background)


def test_white_text_on_the_buttons_meets_aa():
    colors = _palette()
    for fill in ("accent", "ok"):
        assert branding.contrast("ffffff", colors[fill]) >= 4.5, fill
