"""Personal links out of what the notifier keeps.

A quote's link (``<portal>/d/<token>``) is a capability: whoever reads it can open, download, sign or
decline the client's quote. Quotes and the portal keep only the token's SHA-256; the notifier needs the
link only while the email carrying it waits to be sent. Whatever it keeps longer (a sent email's draft,
a delivery's subject, the read model of sent quotes) shows the link as the portal's logs do: ``/d/h:``
and the first 12 hex digits of the token's SHA-256, the start of the portal's ``links.token_sha256``
(``LIKE '3fa9c01b2d4e%'`` finds the link), from which nobody can go back to the token.
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
