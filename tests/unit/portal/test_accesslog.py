"""The portal's logs never hold a link token: the access log's atoms, gunicorn's error log and the app's
records, as gunicorn hands them to its logger class."""
from __future__ import annotations

import hashlib
import io
import json
import logging
import runpy
import secrets
from datetime import timedelta
from pathlib import Path
from types import SimpleNamespace

import pytest
from flask import Flask
from gunicorn.config import Config

from services.portal.domain import model
from services.portal.entrypoints.accesslog import RedactingLogger, link_ref, redact

CONF = Path(__file__).resolve().parents[3] / "services" / "portal" / "gunicorn.conf.py"
TOKEN = "4iDZWRz-nXCFboSyU9XMbapl3pIcfcXPKIEK65Z8csY"          # the shape of secrets.token_urlsafe(32)
REF = "h:" + hashlib.sha256(TOKEN.encode()).hexdigest()[:12]
DOC = "a" * 64
VIEW_ID = "Q1w2E3r4T5y6U7i8O9p0Aa." + "0123456789abcdef" * 2       # model.new_view_id's shape


@pytest.fixture(autouse=True)
def root_logging():
    """RedactingLogger configures the root logger; give the other tests theirs back."""
    root = logging.getLogger()
    handlers, level = [(h, h.formatter) for h in root.handlers], root.level
    yield
    root.handlers[:] = [h for h, _ in handlers]
    for handler, formatter in handlers:
        handler.setFormatter(formatter)
    root.setLevel(level)
    for name in ("gunicorn.access", "gunicorn.error"):
        log = logging.getLogger(name)
        log.handlers[:] = [h for h in log.handlers if not getattr(h, "_gunicorn", False)]


def gunicorn_logger(access_log_format: str | None = None) -> tuple[RedactingLogger, io.StringIO, io.StringIO]:
    cfg = Config()
    cfg.set("accesslog", "-")
    cfg.set("errorlog", "-")
    if access_log_format:
        cfg.set("access_log_format", access_log_format)
    logger = RedactingLogger(cfg)
    access, error = io.StringIO(), io.StringIO()
    own_handler(logger.access_log).setStream(access)
    own_handler(logger.error_log).setStream(error)
    return logger, access, error


def own_handler(log: logging.Logger) -> logging.StreamHandler:
    return next(h for h in log.handlers if getattr(h, "_gunicorn", False))


def request(path: str, query: str = "", referer: str = "-"):
    """What gunicorn passes to ``Logger.access``: its Request, Response and the WSGI environ."""
    raw_uri = path + ("?" + query if query else "")
    headers = [("HOST", "devis.example.com"), ("USER-AGENT", "Mozilla/5.0"), ("REFERER", referer)]
    req = SimpleNamespace(headers=headers, uri=raw_uri, method="GET")
    resp = SimpleNamespace(status="303 SEE OTHER", sent=0,
                           headers=[("Location", f"/d/{TOKEN}?refus=1"), ("Content-Length", "0")])
    environ = {"REQUEST_METHOD": "GET", "RAW_URI": raw_uri, "PATH_INFO": path, "QUERY_STRING": query,
               "SERVER_PROTOCOL": "HTTP/1.1", "REMOTE_ADDR": "203.0.113.7", "HTTP_HOST": "devis.example.com",
               "HTTP_USER_AGENT": "Mozilla/5.0", "HTTP_REFERER": referer, "REQUEST_URI": raw_uri}
    return resp, req, environ, timedelta(milliseconds=12)


def test_the_reference_is_the_start_of_the_hash_the_portal_stores():
    assert link_ref(TOKEN) == REF == "h:" + model.token_hash(TOKEN)[:12]
    token = secrets.token_urlsafe(32)
    assert model.well_formed(token) and link_ref(token)[2:] == model.token_hash(token)[:12]


@pytest.mark.parametrize("text, expected", [
    (f"GET /d/{TOKEN} HTTP/1.1", f"GET /d/{REF} HTTP/1.1"),
    (f"/d/{TOKEN}/pdf?vue={VIEW_ID}", f"/d/{REF}/pdf?vue={VIEW_ID}"),
    (f"/d/{TOKEN}/documents/{DOC}", f"/d/{REF}/documents/{DOC}"),
    (f"https://devis.example.com/d/{TOKEN}#x", f"https://devis.example.com/d/{REF}#x"),
    (f"/d//{TOKEN}", f"/d//{REF}"),
    (f"/D/{TOKEN}", f"/D/{REF}"),
    (f"next=%2Fd%2F{TOKEN}", f"next=%2Fd%2F{REF}"),
    ("/d/AAAAAAAA", "/d/" + link_ref("AAAAAAAA")),          # a truncated token is a partial secret
    (f"/%64/{TOKEN}", f"/%64/{REF}"),                        # any token-shaped run, wherever it stands
    (f"'GET /d/{TOKEN}'", f"'GET /d/{REF}'"),
    (f"/d/{REF}/pdf", f"/d/{REF}/pdf"),                      # redacting twice changes nothing
    (f"/d/{REF}|/d/{REF}", f"/d/{REF}|/d/{REF}"),
    ("/healthz", "/healthz"),
    ("/static/portal.js", "/static/portal.js"),
    ("quoteflow_http_request_duration_seconds_bucket",) * 2,                  # snake_case names stay
    ("traceparent 00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",) * 2,   # hex and hyphens stay
    ("", ""),
])
def test_redact(text, expected):
    assert redact(text) == expected


def test_the_default_access_log_line_shows_the_reference_never_the_token():
    logger, access, _ = gunicorn_logger()
    logger.access(*request(f"/d/{TOKEN}/pdf", f"vue={VIEW_ID}", referer=f"https://devis.example.com/d/{TOKEN}"))
    line = access.getvalue()
    assert TOKEN not in line
    assert f'"GET /d/{REF}/pdf?vue={VIEW_ID} HTTP/1.1" 303' in line
    assert f'"https://devis.example.com/d/{REF}"' in line


def test_every_atom_a_custom_format_prints_is_redacted():
    fmt = ('%(r)s|%(U)s|%(q)s|%(f)s|%({referer}i)s|%({Location}o)s|%({raw_uri}e)s|%({request_uri}e)s|'
           '%({http_referer}e)s|%({path_info}e)s|%(m)s %(s)s %(M)s')
    logger, access, _ = gunicorn_logger(fmt)
    logger.access(*request(f"/d/{TOKEN}/vu", f"t={TOKEN}", referer=f"/d/{TOKEN}"))
    line = access.getvalue().strip()
    assert TOKEN not in line
    assert line.count(REF) == 13, line
    assert line.endswith("GET 303 12")


def test_the_error_log_is_redacted():
    logger, _, error = gunicorn_logger()
    logger.warning("Invalid request from ip=%s: %s", "203.0.113.7", f"Invalid HTTP request line: 'GET /d/{TOKEN}'")
    try:
        raise RuntimeError(f"boom on /d/{TOKEN}/sign")
    except RuntimeError:
        logger.exception("Error handling request %s", f"/d/{TOKEN}/sign")
    text = error.getvalue()
    assert TOKEN not in text
    assert f"GET /d/{REF}'" in text and f"Error handling request /d/{REF}/sign" in text
    assert f"RuntimeError: boom on /d/{REF}/sign" in text          # the traceback too


def test_the_app_logs_json_lines_without_the_token(capsys):
    """Flask logs an unhandled error as "Exception on <path> [GET]": through the root logger, redacted."""
    gunicorn_logger()
    app = Flask("portal_like")

    @app.get("/d/<token>/pdf")
    def pdf(token):
        raise RuntimeError(f"cannot read {token}")

    assert app.test_client().get(f"/d/{TOKEN}/pdf").status_code == 500
    err = capsys.readouterr().err
    assert TOKEN not in err
    [record] = [json.loads(line) for line in err.strip().splitlines()]      # and no plain copy from Flask
    assert record["service"] == "portal" and record["level"] == "error"
    assert record["message"] == f"Exception on /d/{REF}/pdf [GET]"
    assert f"RuntimeError: cannot read {REF}" in record["error"]


def test_the_shipped_gunicorn_settings_use_this_logger():
    settings = runpy.run_path(str(CONF))
    cfg = Config()
    for name in ("logger_class", "accesslog", "errorlog", "limit_request_line", "limit_request_fields",
                 "limit_request_field_size"):
        cfg.set(name, settings[name])
    assert cfg.logger_class is RedactingLogger
    assert cfg.accesslog == "-" and not cfg.logconfig_dict
    # gunicorn's defaults: a portal URL is under 250 bytes; a token never needs more room.
    assert (cfg.limit_request_line, cfg.limit_request_fields, cfg.limit_request_field_size) == (4096, 100, 8190)
