"""What may be kept of a portal link: its reference, never its token.

A quote's link (``<portal>/d/<token>``) is a capability: whoever reads it can open, download, sign or
decline the client's quote. Quotes and the portal keep only the token's SHA-256. Whatever is kept or
logged beyond that (the portal's logs, a sent email's draft in the notifier, a delivery's subject) shows
``/d/h:`` and the first 12 hex digits of the token's SHA-256, the start of the portal's
``links.token_sha256`` (``LIKE '3fa9c01b2d4e%'`` finds the link), from which nobody can go back to the token.
"""
from __future__ import annotations

import hashlib
import re

REF_LENGTH = 12
# After /d/ (or its percent-encoded form), a token as the portal accepts it: 32 to 128 URL-safe characters.
_LINK = re.compile(r"(?P<prefix>(?:/|%2[fF])d(?:/|%2[fF]))(?P<token>[A-Za-z0-9_-]{32,128})(?![A-Za-z0-9_-])")


def reference(token: str) -> str:
    """What is kept of a token: ``h:`` + the first 12 hex digits of its SHA-256."""
    return "h:" + hashlib.sha256(token.encode("utf-8")).hexdigest()[:REF_LENGTH]


def without_links(text: str) -> str:
    """``text`` with the token of every quote link replaced by its reference (twice changes nothing)."""
    if not text:
        return text
    return _LINK.sub(lambda match: match["prefix"] + reference(match["token"]), text)
