"""The notifier's handlers: one plain function per event or request, dependencies passed by name.

Event handlers only *queue* deliveries, in the transaction that records the
event in the inbox; :func:`dispatch_due` sends them afterwards. So a redelivered
event sends nothing twice, and a crash between the two loses nothing.
"""
from __future__ import annotations

import logging
import uuid
from dataclasses import replace
from datetime import datetime, timedelta

from quoteflow.blobs import FolderBlobStore
from quoteflow.envelope import Envelope, utcnow
from quoteflow.errors import InvalidArgument
from quoteflow.uow import AlreadyHandled
from services.notifier.adapters.mail import MailError, MailTransport, compose_email, sender_address
from services.notifier.adapters.sms import SmsError, SmsSender
from services.notifier.adapters.templates import (
    SEND_TEMPLATES,
    TemplateProblem,
    TemplateRenderer,
    long_date,
    moment,
    money,
)
from services.notifier.adapters.unit_of_work import NotifierUnitOfWork
from services.notifier.config import NotifierConfig
from services.notifier.domain.model import (
    DOWNLOAD,
    EMAIL,
    FAILED,
    QUEUED,
    SENT,
    SMS,
    VIEW,
    Delivery,
    Preferences,
    RetryPolicy,
    clean_header,
    valid_email,
)

log = logging.getLogger(__name__)

KIND_TEMPLATES = {"send": "quote_send", "relance": "quote_relance"}


def _queue(uow: NotifierUnitOfWork, envelope: Envelope, *, channel: str, recipient: str, template: str,
           quote_id: str, subject: str, payload: bytes, error: str = "") -> None:
    now = utcnow()
    uow.deliveries.add(Delivery(
        id=str(uuid.uuid4()), tenant=envelope.tenant, event_id=envelope.id, channel=channel,
        recipient=recipient, template=template, quote_id=quote_id, subject=subject[:300],
        payload=payload, created_at=now, status=FAILED if error else QUEUED, error=error,
        next_attempt_at=None if error else now))


def _email(uow, envelope, cfg: NotifierConfig, *, template: str, quote_id: str, to_name: str, to_email: str,
           rendered, reply_to=None, attachment=None) -> None:
    to_email = (to_email or "").strip()
    if not valid_email(to_email):
        _queue(uow, envelope, channel=EMAIL, recipient=to_email[:320] or "(aucune adresse)", template=template,
               quote_id=quote_id, subject=rendered.subject, payload=b"",
               error=f"adresse email invalide : {clean_header(to_email)[:80]!r}")
        return
    message = compose_email(mail_from=cfg.mail_from, to_name=to_name, to_email=to_email,
                            subject=rendered.subject, text=rendered.text, html=rendered.html,
                            reply_to=reply_to, attachment=attachment)
    _queue(uow, envelope, channel=EMAIL, recipient=to_email, template=template, quote_id=quote_id,
           subject=rendered.subject, payload=bytes(message))


def quote_variables(event) -> dict:
    """The template variables a quote.sent event gives (see templates.VARIABLES)."""
    snapshot = event.snapshot
    totals = snapshot.totals
    return {
        "quote_number": event.number or snapshot.number,
        "quote_title": snapshot.title,
        "quote_version": str(event.version or snapshot.version or ""),
        "quote_total_ht": money(totals.total_ht, totals.currency),
        "quote_total_ttc": money(totals.total_ttc, totals.currency),
        "quote_valid_until": long_date(snapshot.valid_until or event.expires_at),
        "company_name": snapshot.company.name,
        "account_name": snapshot.account.name,
        "recipient_name": event.recipient.name,
        "recipient_email": event.recipient.email,
        "assignee_name": event.assignee.name,
        "assignee_email": event.assignee.email,
        "assignee_phone": event.assignee.phone,
        "link_url": event.link_url,
        "signature_requested": bool(event.signature_requested),
    }


def on_quote_sent(envelope: Envelope, uow: NotifierUnitOfWork, renderer: TemplateRenderer,
                  blobs: FolderBlobStore, cfg: NotifierConfig) -> None:
    event = envelope.payload()
    template = event.template if event.template in SEND_TEMPLATES else KIND_TEMPLATES.get(event.kind, "quote_send")
    if event.template and event.template != template:
        log.warning("quote.sent %s names unknown template %r; using %s", envelope.id, event.template, template)
    variables = quote_variables(event)
    rendered = renderer.render(template, variables, subject=event.subject, body=event.body)
    attachment = None
    if event.attach_pdf:
        number = "".join(c for c in variables["quote_number"] if c.isalnum() or c in "-_") or event.quote_id
        attachment = (f"Devis-{number}.pdf", blobs.get(event.pdf_sha256))
    reply_to = (event.assignee.name, event.assignee.email) if event.assignee.email else None
    totals = event.snapshot.totals
    with uow:
        uow.record_inbox(envelope)
        uow.sent_quotes.remember(envelope.tenant, event.quote_id, event.version, variables["quote_number"],
                                 totals.total_ttc, totals.currency)
        _email(uow, envelope, cfg, template=template, quote_id=event.quote_id, to_name=event.recipient.name,
               to_email=event.recipient.email, rendered=rendered, reply_to=reply_to, attachment=attachment)
        uow.commit()


def _on_portal_action(envelope: Envelope, action: str, template: str, uow: NotifierUnitOfWork,
                      renderer: TemplateRenderer, cfg: NotifierConfig) -> None:
    event = envelope.payload()
    date, time = moment(event.at or envelope.time, cfg.timezone)
    variables = {
        "quote_number": event.number, "quote_version": str(event.version or ""),
        "viewer_email": event.recipient_email or "un visiteur", "ip": event.ip, "user_agent": event.user_agent,
        "date": date, "time": time, "assignee_name": event.assignee.name,
        "assignee_email": event.assignee.email, "assignee_phone": event.assignee.phone,
    }
    with uow:
        uow.record_inbox(envelope)
        prefs = uow.preferences.get(envelope.tenant, event.assignee.id)
        channels = prefs.channels_for(action)
        if channels:
            rendered = renderer.render(template, variables)
            if EMAIL in channels:
                _email(uow, envelope, cfg, template=template, quote_id=event.quote_id,
                       to_name=event.assignee.name, to_email=event.assignee.email, rendered=rendered)
            if SMS in channels:
                phone = clean_header(event.assignee.phone, 40)
                _queue(uow, envelope, channel=SMS, recipient=phone or "(aucun numéro)", template=template,
                       quote_id=event.quote_id, subject=rendered.subject, payload=rendered.sms.encode("utf-8"),
                       error="" if phone else "aucun numéro de téléphone pour le commercial assigné")
        uow.commit()


def on_quote_viewed(envelope, uow, renderer, cfg) -> None:
    _on_portal_action(envelope, VIEW, "quote_viewed", uow, renderer, cfg)


def on_quote_downloaded(envelope, uow, renderer, cfg) -> None:
    _on_portal_action(envelope, DOWNLOAD, "quote_downloaded", uow, renderer, cfg)


def on_signature_completed(envelope: Envelope, uow: NotifierUnitOfWork, renderer: TemplateRenderer,
                           cfg: NotifierConfig) -> None:
    event = envelope.payload()
    date, time = moment(event.signed_at or envelope.time, cfg.timezone)
    with uow:
        uow.record_inbox(envelope)
        amount = uow.sent_quotes.amount(envelope.tenant, event.quote_id, event.version)
        variables = {
            "quote_number": event.number, "quote_version": str(event.version or ""),
            "signer_name": event.signer_name or event.signer_email, "signer_email": event.signer_email,
            "date": date, "time": time, "ip": event.ip, "amount": money(*amount) if amount else "",
            "assignee_name": event.assignee.name, "assignee_email": event.assignee.email,
        }
        rendered = renderer.render("signature_confirmation", variables)
        _email(uow, envelope, cfg, template="signature_confirmation", quote_id=event.quote_id,
               to_name=event.assignee.name, to_email=event.assignee.email, rendered=rendered)
        uow.commit()


EVENT_HANDLERS = {
    "quote.sent": on_quote_sent,
    "portal.quote_viewed": on_quote_viewed,
    "portal.quote_downloaded": on_quote_downloaded,
    "signature.completed": on_signature_completed,
}


def handle_event(envelope: Envelope, handlers: dict) -> None:
    """Runs the handler for ``envelope.type``; a redelivery is a no-op, other types are ignored."""
    handler = handlers.get(envelope.type)
    if handler is None:
        return
    try:
        handler(envelope)
    except AlreadyHandled:
        log.info("event %s (%s) already handled; nothing sent again", envelope.id, envelope.type)


# --- sending ---------------------------------------------------------------------------------------

LEASE = timedelta(minutes=2)


def send_delivery(delivery: Delivery, mail: MailTransport, sms: SmsSender, cfg: NotifierConfig) -> None:
    """Sends one delivery; raises MailError / SmsError (with ``transient``) on failure."""
    if delivery.channel == EMAIL:
        mail.send(sender_address(cfg.mail_from)[1], delivery.recipient, delivery.payload)
    elif delivery.channel == SMS:
        sms.send(delivery.recipient, delivery.payload.decode("utf-8"))
    else:
        raise MailError(f"unknown channel {delivery.channel!r}", transient=False)


def dispatch_due(uow: NotifierUnitOfWork, mail: MailTransport, sms: SmsSender, cfg: NotifierConfig,
                 policy: RetryPolicy, now: datetime | None = None, limit: int = 50) -> int:
    """Sends the deliveries due now and records each outcome; returns how many were attempted."""
    now = now or utcnow()
    with uow:
        due = uow.deliveries.claim_due(now, LEASE, limit)
        uow.commit()
    for delivery in due:
        attempted = replace(delivery, attempts=delivery.attempts + 1)
        try:
            send_delivery(attempted, mail, sms, cfg)
        except (MailError, SmsError) as exc:
            outcome = policy.after_failure(attempted, str(exc), exc.transient, utcnow())
            log.warning("delivery %s (%s to %s, event %s) failed, attempt %d: %s", delivery.id,
                        delivery.channel, delivery.recipient, delivery.event_id, attempted.attempts, exc)
        except Exception as exc:  # an adapter bug must not stop the other deliveries
            log.exception("delivery %s failed unexpectedly", delivery.id)
            outcome = policy.after_failure(attempted, f"{type(exc).__name__}: {exc}", True, utcnow())
        else:
            outcome = replace(attempted, status=SENT, error="", sent_at=utcnow(), next_attempt_at=None)
        with uow:
            uow.deliveries.save_outcome(outcome)
            uow.commit()
    return len(due)


def next_due(uow: NotifierUnitOfWork) -> datetime | None:
    with uow:
        return uow.deliveries.next_due()


# --- requests --------------------------------------------------------------------------------------

_TRUE = {"1", "true", "yes", "oui", "on"}


def preview_email(template: str, variables: dict[str, str], renderer: TemplateRenderer):
    """Renders ``template``; variables ``subject`` and ``body`` (plain text) preview an edited email."""
    if not template:
        raise InvalidArgument({"template": "is required"})
    values = {key: value for key, value in variables.items() if key not in ("subject", "body")}
    values["signature_requested"] = str(variables.get("signature_requested", "")).strip().lower() in _TRUE
    try:
        return renderer.render(template, values, subject=variables.get("subject", ""),
                               body=variables.get("body", ""))
    except TemplateProblem as exc:
        raise InvalidArgument({"template": str(exc)}) from None


def get_preferences(tenant: str, user_id: str, uow: NotifierUnitOfWork) -> Preferences:
    if not user_id.strip():
        raise InvalidArgument({"user_id": "is required"})
    with uow:
        return uow.preferences.get(tenant, user_id.strip())


def set_preferences(tenant: str, prefs: Preferences, uow: NotifierUnitOfWork) -> Preferences:
    if not prefs.user_id.strip():
        raise InvalidArgument({"user_id": "is required"})
    prefs = replace(prefs, user_id=prefs.user_id.strip())
    with uow:
        uow.preferences.save(tenant, prefs, utcnow())
        uow.commit()
    return prefs


def list_deliveries(tenant: str, quote_id: str, uow: NotifierUnitOfWork) -> list[Delivery]:
    if not quote_id.strip():
        raise InvalidArgument({"quote_id": "is required"})
    with uow:
        return uow.deliveries.for_quote(tenant, quote_id.strip())
