"""The client-facing pages: the quote behind a link, its files, signing, declining, the view beacon.

``create_app(config=None, **deps)`` builds the Flask app; ``deps`` go to
:func:`services.portal.bootstrap.bootstrap` (``signer=``, ``blobs=``, ``clock=``,
``engine=``, ``publisher=``, ``create_schema=``) or give a ready ``portal=``.
Nothing connects before the first request that needs it.

Routes (``<token>`` is the capability from the email; only its SHA-256 is stored):

=========================================  ==================================================
``GET  /d/<token>``                        the quote, or the page of its state; counts nothing
``POST /d/<token>/vu``                     the page confirms a person's view (portal.js)
``GET  /d/<token>/pdf[?vue=]``             "Télécharger PDF": the frozen PDF, ETag, 304
``GET  /d/<token>/pdf-signe``              the sealed copy once signed
``GET  /d/<token>/documents/<sha256>``     a document attached to this version only
``GET  /d/<token>/logo``                   the tenant's logo of this version
``POST /d/<token>/sign``                   sign (``action=sign``) or get a one-time code (``action=code``)
``POST /d/<token>/refuser``                decline with a reason
``GET  /theme/<rrggbb>.css``               the stylesheet of one brand colour
=========================================  ==================================================

How views are told from machines: see :mod:`services.portal.domain.visitors`.
"""
from __future__ import annotations

import logging
import time
import unicodedata
from functools import wraps
from pathlib import Path
from urllib.parse import quote

from flask import (Blueprint, Flask, Response, abort, current_app, jsonify, redirect, render_template, request,
                   send_file, url_for)
from markupsafe import Markup
from werkzeug.exceptions import HTTPException
from werkzeug.middleware.proxy_fix import ProxyFix

from quoteflow import observability
from quoteflow.blobs import BlobNotFound
from quoteflow.errors import Conflict, DataLoss, DomainError, FailedPrecondition, InvalidArgument, NotFound
from services.portal.bootstrap import Portal, bootstrap
from services.portal.config import PortalConfig
from services.portal.domain import branding, commands, model
from services.portal.entrypoints import pages

log = logging.getLogger(__name__)

HERE = Path(__file__).parent
MAX_BODY = 1024 * 1024          # a drawn signature (<= 512 KiB PNG, base64) plus the form

SECURITY_HEADERS = {
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
    "X-Robots-Tag": "noindex, nofollow",
    "Content-Security-Policy": ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
                                "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; "
                                "base-uri 'none'"),
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=(), payment=()",
}
# A logo may be an SVG: if opened on its own it must not run anything, nor reach anything.
IMAGE_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; sandbox"
PREFETCH_HEADERS = ("Purpose", "Sec-Purpose", "X-Purpose", "X-Moz")
CONDITIONAL_HEADERS = ("HTTP_IF_NONE_MATCH", "HTTP_IF_MODIFIED_SINCE", "HTTP_RANGE", "HTTP_IF_RANGE")
PROBE_BYTES = 1024  # a part from byte 0 shorter than this (``bytes=0-0``) probes the file, it is no download

# The ONE table from domain errors to what the client sees: (HTTP status, title key, text key).
PAGES: list[tuple[type[DomainError], int, str, str]] = [
    (model.LinkNotFound, 404, "error.not_found.title", "error.not_found.body"),
    (model.TooManyAttempts, 429, "error.too_many.title", "error.too_many.body"),
    (model.DocumentMissing, 503, "error.document_missing.title", "error.document_missing.body"),
    (DataLoss, 500, "error.evidence_broken.title", "error.evidence_broken.body"),
    (model.SignatureUnavailable, 503, "error.signature_down.title", "error.signature_down.body"),
    (model.SignatureThrottled, 429, "error.throttled.title", "error.throttled.body"),
    (model.NotSignable, 409, "error.not_signable.title", ""),
    (Conflict, 409, "error.conflict.title", "error.conflict.body"),
    (FailedPrecondition, 409, "error.not_signable.title", "error.precondition.body"),
    (NotFound, 410, "error.request_gone.title", "error.request_gone.body"),
]

# Fields of the forms and the catalogue key of their default message.
FIELDS = {"signer_name": "field.signer_name", "consent": "field.consent", "otp_code": "field.otp_code",
          "signature_png": "field.signature_png", "reason": "field.reason"}

bp = Blueprint("portal", __name__, template_folder=str(HERE / "templates"))


def _portal() -> Portal:
    return current_app.extensions["portal"]


def _visitor() -> commands.Visitor:
    purpose = {name: request.headers[name][:200] for name in PREFETCH_HEADERS if name in request.headers}
    return commands.Visitor(ip=request.remote_addr or "", user_agent=(request.user_agent.string or "")[:512],
                            purpose=purpose)


def _error_page(error: DomainError):
    texts = _portal().texts
    for cls, status, title, body in PAGES:
        if isinstance(error, cls):
            if isinstance(error, model.NotSignable):
                key = f"error.not_signable.{error.reason}"
                body = key if key in texts else "error.precondition.body"
            response = current_app.make_response(
                (render_template("error.html", title=texts(title), message=texts(body)), status))
            if isinstance(error, model.TooManyAttempts):
                response.headers["Retry-After"] = str(_portal().limiter.retry_after(request.remote_addr or ""))
            return response
    raise error


def _state_page(token: str, error: model.LinkClosed):
    portal = _portal()
    context = pages.state_context(token=token, link=error.link, version=error.version, state=error.state,
                                  fmt=portal.fmt, texts=portal.texts)
    return render_template("state.html", **context), 410


def _link_hash(token: str) -> str:
    """The token's hash, or LinkNotFound (counted against the client address) for a malformed token."""
    _portal().limiter.check(request.remote_addr or "")
    if not model.well_formed(token):
        raise model.LinkNotFound(token[:8])
    return model.token_hash(token)


def _with_link(view):
    @wraps(view)
    def wrapper(token: str, **kwargs):
        try:
            return view(token, _link_hash(token), **kwargs)
        except model.LinkNotFound:
            _portal().limiter.failed(request.remote_addr or "")
            return _error_page(model.LinkNotFound(""))
        except model.LinkClosed as closed:
            return _state_page(token, closed)
        except DomainError as error:
            return _error_page(error)

    return wrapper


def _csrf_ok(link_hash: str) -> bool:
    return model.csrf_valid(_portal().config.secret_key, link_hash, request.form.get("csrf_token", ""))


def _csrf_failed():
    texts = _portal().texts
    return render_template("error.html", title=texts("error.csrf.title"), message=texts("error.csrf.body")), 400


def _signed_copy_ready(version: model.Version) -> bool:
    return version.status == model.SIGNED and _portal().blobs.exists(version.signed_pdf_sha256)


ANSWERED = {"signed": model.STATE_SIGNED, "declined": model.STATE_DECLINED}  # ?signe=1, ?refus=1


def _page_view_id(link_hash: str, state: str, form: pages.FormState | None, just: str) -> str:
    """The view id a quote page hands out: a new one for a new visit, never one that counts a visit twice.

    A page sent back after a post (a form error, a code request) keeps the view id the post carried when
    it is this link's: same visit, so its beacon and its next post count nothing more. The page thanking
    the client for an answer gets none (portal.js then sends no beacon): the answer's post confirmed it."""
    secret = _portal().config.secret_key
    if just and ANSWERED.get(just) == state:
        return ""
    if form is not None:
        posted = request.form.get("vue", "")[:100]
        if model.view_id_valid(secret, link_hash, posted):
            return posted
    return model.new_view_id(secret, link_hash)


def _quote_page(token: str, link_hash: str, *, status: int = 200, form: pages.FormState | None = None,
                just: str = ""):
    portal = _portal()
    # Right after a sign, a decline or a code request, the page reads the database: the change may
    # have been committed by another worker whose notice this one has not heard yet.
    link, version, state = portal.show(link_hash, fresh=bool(just) or form is not None)
    if state not in model.READABLE:
        raise model.LinkClosed(state, link, version)
    frozen = current_app.extensions["portal_frozen"](version, portal.fmt, portal.texts)
    own = pages.quote_context(
        token=token, link=link, version=version, state=state, fmt=portal.fmt, texts=portal.texts,
        csrf=model.csrf_token(portal.config.secret_key, link_hash), now=portal.clock(),
        signed_copy=_signed_copy_ready(version), frozen=frozen, just=just,
        dwell_seconds=portal.config.view_dwell_seconds)
    view_id = _page_view_id(link_hash, state, form, just)
    if form is not None:  # a form sent back with its problems: rare, never kept
        return render_template("quote.html", **{**frozen, **own, "view_id": view_id, "form": form}), status
    key = (pages.version_key(version, portal.texts), request.script_root)
    return current_app.extensions["portal_pages"]("quote.html", frozen, own, key, view_id), status


def _form_error(token: str, link_hash: str, error: InvalidArgument, form: pages.FormState, which: str):
    texts = _portal().texts
    fields = {}
    for name, why in error.violations.items():
        if name not in FIELDS:
            continue
        key = f"field.{why}"  # our own checks name the catalogue key; the signature service writes prose
        fields[name] = texts(key, **error.info) if key in texts else texts(FIELDS[name])
    form.errors = fields
    form.message = " ".join(dict.fromkeys(fields.values())) or texts("error.invalid")
    form.form = which
    return _quote_page(token, link_hash, status=400, form=form)


# --- pages ---------------------------------------------------------------------------------------

@bp.get("/d/<token>")
@_with_link
def quote_page(token: str, link_hash: str):
    just = ("signed" if request.args.get("signe") == "1"
            else "declined" if request.args.get("refus") == "1" else "")
    return _quote_page(token, link_hash, just=just)


@bp.post("/d/<token>/vu")
@_with_link
def confirm_view(token: str, link_hash: str):
    if not _csrf_ok(link_hash):
        return _csrf_failed()
    counted = _portal().handle(commands.ConfirmView(link_hash, request.form.get("vue", "")[:100], _visitor()))
    return Response(status=204, headers={"X-Quoteflow-View": "counted" if counted else "ignored"})


def _conditional() -> bool:
    """True when the request may be answered with less than the whole file: a revalidation, a range."""
    return any(name in request.environ for name in CONDITIONAL_HEADERS)


def _hands_over(response: Response) -> bool:
    """Whether ``response`` gives a person the file, read from the answer itself (werkzeug decided it by
    its own rules: weak ETags, dates, If-Range): a GET answered in full, or a part from byte 0 longer than
    a probe. Not HEAD, a 304, a 416, a part from the middle (the rest of a download already counted)."""
    if request.method != "GET":
        return False
    if response.status_code == 200:
        return True
    part = response.content_range if response.status_code == 206 else None
    return bool(part and part.start == 0 and part.stop - part.start >= min(PROBE_BYTES, part.length or 0))


@bp.get("/d/<token>/pdf")
@_with_link
def quote_pdf(token: str, link_hash: str):
    portal = _portal()
    record = commands.RecordDownload(link_hash, _visitor(), view_id=request.args.get("vue", "")[:100])
    if request.method == "GET" and not _conditional():  # the common case: recorded, then the bytes
        link, version = portal.handle(record)
        return _send_blob(version.pdf_sha256, "application/pdf", _filename(version.number))
    link, version, state = portal.show(link_hash)  # HEAD, a revalidation, a range: the answer decides
    if state not in model.READABLE:
        raise model.LinkClosed(state, link, version)
    response = _send_blob(version.pdf_sha256, "application/pdf", _filename(version.number))
    if _hands_over(response):
        portal.handle(record)  # before the bytes go out, as in the common case
    return response


@bp.get("/d/<token>/pdf-signe")
@_with_link
def signed_pdf(token: str, link_hash: str):
    version = _portal().handle(commands.GetSignedCopy(link_hash))
    return _send_blob(version.signed_pdf_sha256, "application/pdf", _filename(version.number, "-signe"))


@bp.get("/d/<token>/documents/<sha256>")
@_with_link
def document(token: str, link_hash: str, sha256: str):
    portal = _portal()
    link, version, state = portal.show(link_hash)
    if state not in model.READABLE:
        raise model.LinkClosed(state, link, version)
    doc = version.document(sha256) if model.is_sha256(sha256) else None
    if doc is None:
        abort(404)
    if not portal.blobs.exists(sha256):
        raise model.DocumentMissing(sha256)
    response = _send_blob(sha256, model.served_type(doc.get("content_type", "")),
                          model.document_filename(doc.get("name", "")))
    view_id = request.args.get("vue", "")[:100]
    if view_id and _hands_over(response):
        portal.handle(commands.ConfirmView(link_hash, view_id, _visitor(), trigger="document"))
    return response


@bp.get("/d/<token>/logo")
@_with_link
def logo(token: str, link_hash: str):
    portal = _portal()
    _, version, _ = portal.show(link_hash)
    sha, kind = version.logo
    if kind not in model.LOGO_TYPES or not portal.blobs.exists(sha):
        abort(404)
    response = _send_blob(sha, kind)
    response.headers["Content-Security-Policy"] = IMAGE_CSP
    return response


@bp.get("/theme/<color>.css")
def theme(color: str):
    try:
        css = branding.theme_css(color)
    except ValueError:
        abort(404)
    return Response(css, mimetype="text/css")


def _send_blob(sha256: str, mimetype: str, download_name: str = "") -> Response:
    """A blob (an attachment when it has a ``download_name``), its hash as ETag, answering revalidations
    (304) and ranges (206): from memory when the store keeps it -- a blob never changes, its name is its
    hash -- else from its file."""
    blobs = _portal().blobs
    try:
        data = blobs.cached(sha256)
    except BlobNotFound:
        raise model.DocumentMissing(sha256) from None
    if data is None:
        response = send_file(blobs.path(sha256), mimetype=mimetype, etag=sha256, conditional=True, max_age=None)
    else:
        response = Response(data, mimetype=mimetype, direct_passthrough=True)
        response.set_etag(sha256)
        if _conditional():
            response.make_conditional(request, accept_ranges=True, complete_length=len(data))
        else:  # what make_conditional would answer, without parsing headers the request does not have
            response.headers["Accept-Ranges"] = "bytes"
    if download_name:
        response.headers["Content-Disposition"] = _attachment(download_name)
    return response


def _attachment(name: str) -> str:
    """The Content-Disposition of a download named ``name``: a quoted ASCII ``filename`` and, for any
    other name, its UTF-8 form (RFC 5987) in ``filename*`` -- what browsers save it as."""
    simple = name if name.isascii() else unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    value = 'attachment; filename="' + simple.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if not name.isascii():
        value += "; filename*=UTF-8''" + quote(name, safe="!#$&+-.^_`|~")
    return value


def _filename(number: str, suffix: str = "") -> str:
    safe = "".join(c if c.isascii() and (c.isalnum() or c in "-_.") else "-" for c in number)
    return f"Devis-{safe or 'document'}{suffix}.pdf"


# --- answers: sign, one-time code, decline --------------------------------------------------------

@bp.post("/d/<token>/sign")
@_with_link
def quote_sign(token: str, link_hash: str):
    if not _csrf_ok(link_hash):
        return _csrf_failed()
    portal = _portal()
    form = pages.FormState(
        signer_name=model.clean_line(request.form.get("signer_name", "")[:500]),
        consent=request.form.get("consent") in ("on", "1", "true", "oui"),
        signature_data_url=request.form.get("signature_png", ""),
        otp_code=request.form.get("otp_code", "")[:20])
    view_id = request.form.get("vue", "")[:100]
    try:
        model.drawn_signature(form.signature_data_url)
    except ValueError:
        form.signature_data_url = ""  # never echo back what is not a PNG
        if request.form.get("action") != "code":
            return _form_error(token, link_hash, InvalidArgument({"signature_png": "signature_png"}), form, "sign")
    if request.form.get("action") == "code":
        try:
            portal.handle(commands.RequestCode(link_hash, _visitor(), view_id=view_id))
        except InvalidArgument as error:  # asked too soon, or no more codes: said on the code field
            return _form_error(token, link_hash, error, form, "sign")
        form.otp_code = ""
        return _quote_page(token, link_hash, form=form)
    try:
        portal.handle(commands.Sign(token_sha256=link_hash, signer_name=form.signer_name, consent=form.consent,
                                    visitor=_visitor(), otp_code=form.otp_code,
                                    signature_data_url=form.signature_data_url, view_id=view_id))
    except InvalidArgument as error:
        return _form_error(token, link_hash, error, form, "sign")
    return redirect(url_for("portal.quote_page", token=token, signe="1"), code=303)


@bp.post("/d/<token>/refuser")
@_with_link
def quote_decline(token: str, link_hash: str):
    if not _csrf_ok(link_hash):
        return _csrf_failed()
    form = pages.FormState(reason=request.form.get("reason", "")[:4000],
                           decliner_name=model.clean_line(request.form.get("name", "")[:500]))
    try:
        _portal().handle(commands.Decline(token_sha256=link_hash, reason=form.reason, visitor=_visitor(),
                                          name=form.decliner_name, view_id=request.form.get("vue", "")[:100]))
    except InvalidArgument as error:
        return _form_error(token, link_hash, error, form, "decline")
    return redirect(url_for("portal.quote_page", token=token, refus="1"), code=303)


@bp.get("/healthz")
def healthz():
    return jsonify(status="ok")


# --- the app ---------------------------------------------------------------------------------------

# The security headers as WSGI header tuples, built once: with and without the page policy.
_SECURITY = [(name, value) for name, value in SECURITY_HEADERS.items()]
_SECURITY_KEEP_CSP = [(name, value) for name, value in _SECURITY if name != "Content-Security-Policy"]
_SECURITY_NAMES = frozenset(name.lower() for name in SECURITY_HEADERS)
ROUTE = "quoteflow.route"     # environ key: the url rule that served the request


def _secured(headers: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """``headers`` with the security headers set; a route that set its own (stricter) policy keeps it."""
    own_csp = any(name.lower() == "content-security-policy" for name, _ in headers)
    kept = [(name, value) for name, value in headers
            if name.lower() not in _SECURITY_NAMES or name.lower() == "content-security-policy"]
    return kept + (_SECURITY_KEEP_CSP if own_csp else _SECURITY)


class Served:
    """WSGI wrapper of the portal: the security headers on every response, and the request's latency
    in ``quoteflow_http_request_duration_seconds`` by route (the url rule, never the path, which
    holds the token), method and status. The latency runs until the response starts: a file's bytes
    stream afterwards."""

    def __init__(self, app):
        self.app = app

    def __call__(self, environ, start_response):
        started = time.perf_counter()
        status = ["500"]

        def start(status_line, headers, exc_info=None):
            status[0] = status_line[:3]
            return start_response(status_line, _secured(headers), exc_info)

        try:
            return self.app(environ, start)
        finally:
            observability.HTTP_LATENCY.labels(environ.get(ROUTE, "unmatched"), environ.get("REQUEST_METHOD", ""),
                                              status[0]).observe(time.perf_counter() - started)


def _note_route() -> None:
    if request.url_rule is not None:
        request.environ[ROUTE] = request.url_rule.rule


def _http_error(error: HTTPException):
    texts = _portal().texts
    known = {400: "bad_request", 404: "page_missing", 405: "method", 413: "too_large", 416: "range",
             500: "unexpected"}
    if error.code in known:
        key = known[error.code]
        headers = [(name, value) for name, value in error.get_headers() if name in ("Content-Range", "Allow")]
        return render_template("error.html", title=texts(f"error.{key}.title"),
                               message=texts(f"error.{key}.body")), error.code, headers
    return error


def create_app(config: PortalConfig | None = None, **deps) -> Flask:
    """The portal's Flask app; ``deps`` are handed to bootstrap (or ``portal=`` a built one)."""
    app = Flask(__name__, static_folder=str(HERE / "static"), static_url_path="/static")
    portal = deps.pop("portal", None) or bootstrap(config, **deps)
    app.extensions["portal"] = portal
    app.extensions["portal_frozen"] = pages.FrozenContent(
        lambda name, **context: Markup(render_template(name, **context)))
    # Pages kept are pages without a form sent back (see _quote_page).
    app.extensions["portal_pages"] = pages.RenderedPages(
        lambda name, **context: render_template(name, form=pages.FormState(), **context))
    app.config.update(MAX_CONTENT_LENGTH=MAX_BODY, MAX_FORM_MEMORY_SIZE=MAX_BODY, MAX_FORM_PARTS=50,
                      SEND_FILE_MAX_AGE_DEFAULT=None, TEMPLATES_AUTO_RELOAD=False)
    app.wsgi_app = Served(app.wsgi_app)
    if portal.config.trusted_proxies:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=portal.config.trusted_proxies,
                                x_proto=portal.config.trusted_proxies)
    app.jinja_env.globals["t"] = portal.texts
    app.register_blueprint(bp)
    app.register_error_handler(HTTPException, _http_error)
    app.before_request(_note_route)
    return app
