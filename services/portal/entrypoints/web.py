"""The client-facing pages: the quote behind a link, its PDF, the signature form.

``create_app(config=None, **deps)`` builds the Flask app; ``deps`` go to
:func:`services.portal.bootstrap.bootstrap` (``signer=``, ``blobs=``,
``clock=``, ``engine=``, ``publisher=``) or give a ready ``portal=``.
Nothing connects before the first request that needs it.
"""
from __future__ import annotations

import logging
from pathlib import Path
from urllib.parse import quote as urlquote

from flask import (Blueprint, Flask, Response, current_app, jsonify, redirect, render_template, request,
                   send_file, url_for)
from werkzeug.exceptions import HTTPException
from werkzeug.middleware.proxy_fix import ProxyFix

from quoteflow.errors import Conflict, DomainError, FailedPrecondition, InvalidArgument, NotFound
from services.portal import handlers
from services.portal.bootstrap import Portal, bootstrap
from services.portal.config import PortalConfig
from services.portal.domain import commands, model

log = logging.getLogger(__name__)

HERE = Path(__file__).parent

SECURITY_HEADERS = {
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
    "X-Robots-Tag": "noindex",
    "Content-Security-Policy": ("default-src 'none'; style-src 'self'; img-src 'self' data:; "
                                "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"),
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
}

NOT_SIGNABLE = {
    "signed": "Ce devis a déjà été signé.",
    "superseded": "Une version plus récente de ce devis vous a été envoyée : elle seule peut être signée.",
    "not_requested": "La signature en ligne n'a pas été demandée pour ce devis.",
}

# The ONE table from domain errors to what the client sees: (HTTP status, title, message).
PAGES: list[tuple[type[DomainError], int, str, str]] = [
    (model.LinkNotFound, 404, "Lien introuvable",
     "Ce lien n'est pas valide ou a expiré. Demandez un nouveau lien à votre interlocuteur commercial."),
    (model.TooManyAttempts, 429, "Trop de tentatives",
     "Trop de liens invalides ont été essayés depuis votre adresse. Réessayez dans quelques minutes."),
    (model.DocumentMissing, 503, "Document indisponible",
     "Le document n'est pas disponible pour le moment. Réessayez plus tard ou contactez votre interlocuteur."),
    (model.SignatureUnavailable, 503, "Signature momentanément indisponible",
     "Le service de signature ne répond pas. Votre devis n'a pas été signé : réessayez dans quelques instants."),
    (model.NotSignable, 409, "Signature impossible", ""),
    (Conflict, 409, "Signature déjà enregistrée",
     "Ce devis vient d'être signé. Rechargez la page pour voir la signature."),
    (FailedPrecondition, 409, "Signature impossible",
     "Ce devis ne peut plus être signé : une version plus récente a été envoyée, il a déjà été signé "
     "ou sa validité a expiré."),
    (NotFound, 410, "Demande de signature introuvable",
     "La demande de signature de ce devis n'existe plus. Contactez votre interlocuteur commercial."),
]

FIELD_MESSAGES = {
    "signer_name": "Veuillez saisir vos nom et prénom.",
    "consent": "Veuillez cocher la case pour accepter le devis.",
}

bp = Blueprint("portal", __name__, template_folder=str(HERE / "templates"))


def _portal() -> Portal:
    return current_app.extensions["portal"]


def _client() -> tuple[str, str]:
    return request.remote_addr or "", (request.user_agent.string or "")[:512]


def _error_page(error: DomainError):
    for cls, status, title, message in PAGES:
        if isinstance(error, cls):
            if isinstance(error, model.NotSignable):
                message = NOT_SIGNABLE.get(error.reason, message)
            return render_template("error.html", title=title, message=message), status
    raise error


def _link_hash(token: str) -> str:
    """The token's hash, or LinkNotFound (counted against the client address) for a malformed token."""
    portal = _portal()
    address = request.remote_addr or ""
    portal.limiter.check(address)
    if not model.well_formed(token):
        raise model.LinkNotFound(token[:8])
    return model.token_hash(token)


def _with_link(view):
    def wrapper(token: str):
        try:
            return view(token, _link_hash(token))
        except model.LinkNotFound:
            _portal().limiter.failed(request.remote_addr or "")
            return _error_page(model.LinkNotFound(""))
        except DomainError as error:
            return _error_page(error)

    wrapper.__name__ = view.__name__
    return wrapper


def _quote_page(token: str, link: model.Link, version: model.Version, *, status: int = 200,
                error: str = "", field_errors: dict | None = None, signer_name: str = "",
                just_signed: bool = False):
    portal = _portal()
    fmt = portal.fmt
    snap = version.snapshot
    totals = snap.get("totals") or {}
    currency = totals.get("currency") or "EUR"
    lines = [{
        "description": line.get("description", ""),
        "quantity": fmt.number(line.get("quantity", "")),
        "unit": line.get("unit", ""),
        "unit_price": fmt.money(line.get("unit_price", ""), currency),
        "discount": fmt.rate(line.get("discount_percent")) if line.get("discount_percent", "0") not in
        ("", "0", "0.00", "0.0") else "",
        "vat_rate": fmt.rate(line.get("vat_rate", "0")),
        "total_ht": fmt.money(line.get("total_ht", ""), currency),
    } for line in snap.get("lines") or []]
    assignee = {**(snap.get("assignee") or {}), **{k: v for k, v in version.assignee.items() if v}}
    feedback = ""
    if assignee.get("email"):
        feedback = (f"mailto:{urlquote(assignee['email'], safe='@')}"
                    f"?subject={urlquote('Devis ' + version.number, safe='')}")
    context = {
        "token": token,
        "number": version.number,
        "title": snap.get("title", ""),
        "company": snap.get("company") or {},
        "account": snap.get("account") or {},
        "contact": snap.get("contact") or {},
        "assignee": assignee,
        "issued_on": fmt.day(snap.get("issued_on", "")),
        "valid_until": fmt.day(snap.get("valid_until", "")),
        "lines": lines,
        "has_discount": any(line["discount"] for line in lines),
        "vat": [{"rate": fmt.rate(v.get("rate", "0")), "base_ht": fmt.money(v.get("base_ht", ""), currency),
                 "vat": fmt.money(v.get("vat", ""), currency)} for v in totals.get("vat") or []],
        "total_ht": fmt.money(totals.get("total_ht", ""), currency),
        "total_vat": fmt.money(totals.get("total_vat", ""), currency),
        "total_ttc": fmt.money(totals.get("total_ttc", ""), currency),
        "terms": snap.get("terms", ""),
        "feedback_href": feedback,
        "status": version.status,
        "signable": version.signable,
        "signer_name": version.signer_name,
        "signed_on": fmt.moment(version.signed_at),
        "consent_text": handlers.consent_text_for(version, fmt.money),
        "csrf_token": model.csrf_token(portal.config.secret_key, link.token_sha256),
        "error": error,
        "field_errors": field_errors or {},
        "typed_name": signer_name,
        "just_signed": just_signed,
    }
    return render_template("quote.html", **context), status


@bp.get("/d/<token>")
@_with_link
def quote_page(token: str, link_hash: str):
    portal = _portal()
    if request.method == "HEAD":
        link, version = portal.show(link_hash)
    else:
        ip, agent = _client()
        link, version = portal.handle(commands.RecordView(link_hash, ip, agent))
    return _quote_page(token, link, version, just_signed=request.args.get("signe") == "1")


@bp.get("/d/<token>/pdf")
@_with_link
def quote_pdf(token: str, link_hash: str):
    portal = _portal()
    if request.method == "HEAD":
        link, version = portal.show(link_hash)
        if not portal.blobs.exists(version.pdf_sha256):
            raise model.DocumentMissing(version.pdf_sha256)
    else:
        ip, agent = _client()
        link, version = portal.handle(commands.RecordDownload(link_hash, ip, agent))
    response = send_file(portal.blobs.path(version.pdf_sha256), mimetype="application/pdf",
                         etag=version.pdf_sha256, conditional=True, max_age=None)
    response.headers["Content-Disposition"] = f'attachment; filename="{_filename(version.number)}"'
    return response


def _filename(number: str) -> str:
    safe = "".join(c if c.isascii() and (c.isalnum() or c in "-_.") else "-" for c in number)
    return f"Devis-{safe or 'document'}.pdf"


@bp.post("/d/<token>/sign")
@_with_link
def quote_sign(token: str, link_hash: str):
    portal = _portal()
    if not model.csrf_valid(portal.config.secret_key, link_hash, request.form.get("csrf_token", "")):
        return render_template("error.html", title="Formulaire expiré",
                               message="Le formulaire n'est plus valide. Rechargez la page du devis puis "
                                       "signez à nouveau."), 400
    ip, agent = _client()
    typed = request.form.get("signer_name", "")[:500]
    try:
        portal.handle(commands.Sign(token_sha256=link_hash, signer_name=typed,
                                    consent=request.form.get("consent") in ("on", "1", "true", "oui"),
                                    ip=ip, user_agent=agent))
    except InvalidArgument as error:
        link, version = portal.show(link_hash)
        fields = {f: FIELD_MESSAGES.get(f, why) for f, why in error.violations.items() if f in FIELD_MESSAGES}
        message = " ".join(fields.values()) or ("La signature a été refusée : les informations saisies ne sont "
                                                "pas valides. Vérifiez-les puis signez à nouveau.")
        return _quote_page(token, link, version, status=400, error=message, field_errors=fields,
                           signer_name=handlers.clean_signer_name(typed))
    return redirect(url_for("portal.quote_page", token=token, signe="1"), code=303)


@bp.get("/healthz")
def healthz():
    return jsonify(status="ok")


def _secure(response: Response) -> Response:
    for name, value in SECURITY_HEADERS.items():
        response.headers[name] = value
    return response


def _http_error(error: HTTPException):
    if error.code == 404:
        return render_template("error.html", title="Page introuvable",
                               message="Cette page n'existe pas."), 404
    if error.code == 405:
        return render_template("error.html", title="Action impossible",
                               message="Cette action n'est pas permise sur cette page."), 405
    if error.code == 413:
        return render_template("error.html", title="Formulaire trop volumineux",
                               message="Le formulaire envoyé est trop volumineux."), 413
    return error


def create_app(config: PortalConfig | None = None, **deps) -> Flask:
    """The portal's Flask app; ``deps`` are handed to bootstrap (or ``portal=`` a built one)."""
    app = Flask(__name__, static_folder=str(HERE / "static"), static_url_path="/static")
    portal = deps.pop("portal", None) or bootstrap(config, **deps)
    app.extensions["portal"] = portal
    app.config.update(MAX_CONTENT_LENGTH=64 * 1024, SEND_FILE_MAX_AGE_DEFAULT=None)
    if portal.config.trusted_proxies:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=portal.config.trusted_proxies,
                                x_proto=portal.config.trusted_proxies)
    app.register_blueprint(bp)
    app.register_error_handler(HTTPException, _http_error)
    app.after_request(_secure)
    return app
