"""Which requests are a person reading the quote, and which are machines that open every link.

Views that are real
-------------------
A link in an email is opened by many things that are not the client: mail-security
gateways that fetch every URL of an incoming message (Microsoft Defender Safe Links,
Mimecast, Proofpoint, Barracuda, ...), link previews (Outlook, Slack, WhatsApp, Teams),
browsers that prefetch, uptime checkers. Counting those makes the salesperson's "vu"
counter and "consulté" alerts lie -- the known cause of false alerts in other CRMs.
The portal therefore records ``portal.quote_viewed`` only when a person confirms it:

1. ``HEAD`` never counts, and the page ``GET`` does not count by itself. Each page carries
   a view id (random, HMAC-bound to the link) and the link's CSRF token.
2. With JavaScript, ``/static/portal.js`` confirms the view with a same-origin ``POST
   /d/<token>/vu`` (view id + CSRF token) once the page is visible and either the reader
   interacts with it (pointer, touch, scroll, key) or it has stayed visible for a few
   seconds; a browser driven by automation (``navigator.webdriver``) never sends it.
3. Without JavaScript, the view is confirmed when the client acts from the page: the PDF
   and document links carry the view id (``?vue=``), the sign, code and decline forms
   carry it in a hidden field.
4. Each view id counts once (a table of confirmed ids), so a beacon followed by a download
   is one view; reloading the page is a new consultation, as the manual asks.
5. Whatever the route, a request whose ``User-Agent`` matches a known scanner, preview or
   HTTP-library signature (:data:`SIGNATURES`), or that carries a prefetch/preview header
   (``Purpose``, ``Sec-Purpose``, ``X-Purpose``, ``X-Moz``), or has no ``User-Agent``,
   records nothing -- no view, no download (the file is still served).

Downloads (``portal.quote_downloaded``) follow rule 5 and are counted when bytes are sent
(not on HEAD, not on a 304 revalidation, not on a range that does not start at 0).
When a view is confirmed on a quote awaiting signature, the portal also tells the
signature service (``RecordOpened``: evidence "opened"); a failure there is logged only.
"""
from __future__ import annotations

import functools
import re
from typing import Mapping

# Lower-case patterns (regular expressions) of User-Agent values sent by machines, by who sends them.
# Only what no person's browser sends: in-app browsers (Facebook, LINE, Teams, ...) are persons.
SIGNATURES: dict[str, tuple[str, ...]] = {
    "mail security": (
        r"safe ?links", r"microsoft office existence discovery", r"ms-office", r"msoffice",
        r"microsoft office/", r"microsoft outlook", r"mimecast", r"proofpoint", r"barracuda", r"ironport",
        r"cisco secure email", r"symantec", r"messagelabs", r"trend ?micro", r"forcepoint", r"websense",
        r"sophos", r"fireeye", r"trellix", r"zscaler", r"cloudmark", r"fortinet", r"fortiguard",
        r"check ?point", r"avanan", r"darktrace", r"abnormal ?security", r"ironscales", r"hornetsecurity",
        r"vade ?secure", r"spamtitan", r"mailguard", r"libraesva", r"retarus", r"perception ?point",
        r"google-safety", r"googleimageproxy", r"yahoomailproxy", r"bingpreview",
    ),
    "link preview": (
        r"slack-imgproxy", r"skypeuripreview", r"whatsapp/", r"facebookexternalhit", r"facebot",
        r"embedly", r"iframely", r"vkshare", r"\bpreview\b",
    ),
    "crawler or checker": (
        r"(?<!cu)bot\b", r"crawler", r"spider", r"slurp", r"link ?-?check", r"w3c_validator", r"validator",
        r"check_http", r"monitor", r"uptime", r"pingdom", r"statuscake", r"site24x7", r"lighthouse",
        r"pagespeed", r"google-inspectiontool", r"adsbot", r"mediapartners", r"archive\.org", r"scanner",
        r"urlscan", r"headlesschrome", r"phantomjs", r"puppeteer", r"playwright", r"selenium", r"cypress",
    ),
    "http library": (
        r"^curl/", r"^wget/", r"python-requests", r"python-urllib", r"python-httpx", r"aiohttp",
        r"go-http-client", r"okhttp", r"^java/", r"apache-httpclient", r"libwww-perl", r"lwp::",
        r"^axios/", r"node-fetch", r"^undici", r"^got \(", r"^ruby", r"guzzlehttp", r"postmanruntime",
        r"insomnia", r"windowspowershell", r"winhttp", r"dart:io", r"reqwest", r"httpie",
    ),
}

_PREFETCH_HEADERS = ("Purpose", "Sec-Purpose", "X-Purpose", "X-Moz")
_PREFETCH_WORDS = re.compile(r"prefetch|preview|prerender", re.I)

_PATTERNS: tuple[tuple[re.Pattern, str], ...] = tuple(
    (re.compile(pattern), kind) for kind, patterns in SIGNATURES.items() for pattern in patterns)
# All of them in one expression: a person's browser (no match) costs one search, not one per pattern.
_ANY = re.compile("|".join(f"(?:{pattern.pattern})" for pattern, _ in _PATTERNS))


def automated(user_agent: str, headers: Mapping[str, str] | None = None) -> str:
    """Why this request is not a person ("" when nothing says so)."""
    for name in _PREFETCH_HEADERS:
        value = (headers or {}).get(name) or ""
        if _PREFETCH_WORDS.search(value):
            return f"{name}: {value}"[:100]
    return _agent_kind(user_agent or "")


# A client's browser sends the same User-Agent with every request: the search over all the signatures
# (the costliest step of a download's own work, measured) runs once per distinct agent.
@functools.lru_cache(maxsize=4096)
def _agent_kind(user_agent: str) -> str:
    agent = " ".join(user_agent.split()).lower()
    if not agent:
        return "no User-Agent"
    if not _ANY.search(agent):
        return ""
    for pattern, kind in _PATTERNS:
        if pattern.search(agent):
            return f"{kind} ({pattern.pattern})"
    return ""
