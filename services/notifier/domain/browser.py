"""A User-Agent as a salesperson reads it: « Chrome sur Android », « Safari sur iPhone », « Firefox sur Windows ».

Only the browsers and systems people actually open a quote with are named; the order of the
checks matters because every engine claims to be another (Edge and Opera say "Chrome", Chrome
says "Safari", every iOS browser is Safari underneath and says so). Anything else is "" and the
notice shows the raw string only.
"""
from __future__ import annotations

import re

# One pattern per name, tried in order; the first found names the browser (an app's own web view first:
# the app is what the salesperson recognises), then the system.
_IN_APP = {r"\bOutlook-(?:iOS|Android)/|\bMicrosoft Outlook\b": "Outlook", r"\bGSA/": "l'application Google",
           r"\bFBAN/|\bFBAV/": "Facebook", r"\bInstagram\b": "Instagram", r"\bLinkedInApp\b": "LinkedIn"}
_BROWSERS = {
    r"\b(?:Edg|EdgA|EdgiOS|Edge)/": "Edge", r"\b(?:OPR|OPiOS|Opera)/": "Opera",
    r"\bSamsungBrowser/": "Samsung Internet", r"\bYaBrowser/": "Yandex", r"\bVivaldi/": "Vivaldi",
    r"\b(?:Firefox|FxiOS)/": "Firefox", r"\b(?:CriOS|Chrome|Chromium)/": "Chrome",
    r"\bMSIE |\bTrident/": "Internet Explorer",
    r"\bVersion/[\d.]+.*\bSafari/|\b(?:iPhone|iPad|iPod)\b.*\bAppleWebKit/": "Safari",
}
_SYSTEMS = {r"\biPhone\b": "iPhone", r"\biPad\b": "iPad", r"\bAndroid\b": "Android", r"\bCrOS\b": "ChromeOS",
            r"\bWindows\b": "Windows", r"\bMac OS X\b|\bMacintosh\b": "Mac", r"\bLinux\b": "Linux"}


def _first(table: dict[str, str], text: str) -> str:
    return next((name for pattern, name in table.items() if re.search(pattern, text)), "")


def describe(user_agent: str) -> str:
    """« Chrome sur Android », « Safari sur iPhone », « Firefox » (system unknown) or "" (nothing known)."""
    text = (user_agent or "")[:500]
    if not text.strip():
        return ""
    browser = _first(_IN_APP, text) or _first(_BROWSERS, text)
    system = _first(_SYSTEMS, text)
    if browser and system:
        return f"{browser} sur {system}"
    if browser:
        return browser
    return f"navigateur sur {system}" if system else ""
