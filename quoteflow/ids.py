"""The ids a service takes from the CRM (a quote, a user, a template's name): one rule for every service."""
from __future__ import annotations

import re

ID_MAX = 64

# Every character a mail reader or a terminal may take for the end of a line (those Unicode calls line breaks).
LINE_BREAKS = re.compile(r"[\r\n\x0b\x0c\x1c-\x1e\x85\u2028\u2029]+")


def has_line_break(value: str) -> bool:
    """Whether ``value`` cannot be a one-line field (a subject, a header): it holds a line break, anywhere."""
    return bool(LINE_BREAKS.search(value or ""))


def has_control_characters(value: str, *, allow_newlines: bool = True) -> bool:
    allowed = "\n\t\r" if allow_newlines else ""
    return any((ord(c) < 32 and c not in allowed) or 0x7F <= ord(c) < 0xA0 or c in "\u2028\u2029"
               for c in value)


def id_problem(value: str, maximum: int = ID_MAX) -> str:
    """Why ``value`` cannot be an id ('' when it can): empty, longer than ``maximum``, spaces around it, or
    a control character (a NUL, which PostgreSQL cannot even compare; a line break)."""
    if not value:
        return "is required"
    if len(value) > maximum:
        return f"at most {maximum} characters"
    if value != value.strip() or has_control_characters(value, allow_newlines=False):
        return "must be printable characters without surrounding spaces"
    return ""
