"""The portal's logs without link tokens.

A link token is a capability: whoever reads ``/d/<token>`` in a log can open, download, sign or
decline the client's quote. Every log line the portal writes under gunicorn therefore carries, in
place of a token, ``h:`` and the first 12 hex digits of its SHA-256: the start of the ``token_sha256``
the portal keeps for the link, so an operator finds the row with
``SELECT * FROM links WHERE token_sha256 LIKE '3fa9c01b2d4e%'`` and nobody can go back to the token.

- :class:`RedactingLogger` is gunicorn's ``logger_class`` (``gunicorn.conf.py``): the access log's
  request line, path, query, Referer and any other atom the format prints; gunicorn's error log
  (``Invalid request from ip=...: Invalid HTTP request line: 'GET /d/...'``, ``Error handling request
  /d/...``); and the root logger the app writes to (Flask's ``Exception on /d/... [GET]``), as JSON lines.
- :func:`redact` is the rule; :func:`redact_handlers` applies it to the handlers of any logger (the
  werkzeug server of ``python -m services.portal`` logs its request lines through the root logger).

What is replaced: the path segment after ``/d/`` (or ``%2Fd%2F``), whatever it holds, and anywhere
else any run of 32 or more URL-safe base64 characters mixing upper and lower case letters, which a
``secrets.token_urlsafe(32)`` token does but hex digests, UUIDs and snake_case names do not.
"""
from __future__ import annotations

import logging
import re
from functools import lru_cache

from gunicorn.glogging import Logger

from quoteflow.links import REF_LENGTH, reference as link_ref

_STOP = r"/?#&\s\"'<>\\%"
# Logs see any path: the segment after /d/, whatever it holds (a truncated or malformed token is a partial
# secret), unless it already is a reference (redacting twice changes nothing). Stored text uses
# quoteflow.links.without_links, which replaces only well-formed tokens.
_LINK = re.compile(rf"(?P<prefix>(?:/|%2[fF])[dD](?:/|%2[fF])+)(?!h:[0-9a-f]{{{REF_LENGTH}}}(?![0-9a-f]))"
                   rf"(?P<token>[^{_STOP}]+)")
_RUN = re.compile(r"[A-Za-z0-9_-]{32,}")          # greedy from a run's first character: the whole run
_UPPER, _LOWER = re.compile(r"[A-Z]"), re.compile(r"[a-z]")
_FORMAT_KEY = re.compile(r"%\(([^)]+)\)")
# Atoms gunicorn computes itself (address, time, status, sizes, durations, pid, protocol): nothing to redact.
_COMPUTED_ATOMS = frozenset("hltsbBTDMLpH")


def _run_ref(match: re.Match) -> str:
    run = match.group(0)
    return link_ref(run) if _UPPER.search(run) and _LOWER.search(run) else run


def redact(text: str) -> str:
    """``text`` with every link token replaced by its reference."""
    if not text:
        return text
    text = _LINK.sub(lambda m: m.group("prefix") + link_ref(m.group("token")), text)
    return _RUN.sub(_run_ref, text)


class RedactingFormatter(logging.Formatter):
    """Formats with ``inner`` (message, traceback, JSON, any layout), then redacts the whole line."""

    def __init__(self, inner: logging.Formatter | None):
        super().__init__()
        self.inner = inner or logging.Formatter()

    def format(self, record: logging.LogRecord) -> str:
        return redact(self.inner.format(record))


def redact_handlers(logger: logging.Logger) -> None:
    """Every handler of ``logger`` writes redacted lines (idempotent)."""
    for handler in logger.handlers:
        if not isinstance(handler.formatter, RedactingFormatter):
            handler.setFormatter(RedactingFormatter(handler.formatter))


@lru_cache(maxsize=8)
def _printed_atoms(access_log_format: str) -> tuple[str, ...]:
    """The atoms a format prints that come from the request or the response, as keys of gunicorn's
    atoms dict (``{header}i`` keys are lower case)."""
    keys = _FORMAT_KEY.findall(access_log_format)
    return tuple(dict.fromkeys(key.lower() if key.startswith("{") else key for key in keys
                               if key not in _COMPUTED_ATOMS))


class RedactingLogger(Logger):
    """gunicorn's logger with tokens out of the access log, the error log and the app's log."""

    def setup(self, cfg):
        super().setup(cfg)
        redact_handlers(self.error_log)
        if not (cfg.logconfig_dict or cfg.logconfig_json or cfg.logconfig):
            # The app's own records (and Flask's "Exception on <path>") go to the root logger: JSON lines on
            # stderr as in every other service. Without a root handler Flask would write them, path and all,
            # straight into the error stream.
            from quoteflow.observability import configure_logging

            configure_logging("portal")
        redact_handlers(logging.getLogger())

    def atoms(self, resp, req, environ, request_time):
        atoms = super().atoms(resp, req, environ, request_time)
        for key in _printed_atoms(self.cfg.access_log_format):
            value = atoms.get(key)
            if isinstance(value, str):
                atoms[key] = redact(value)
        return atoms
