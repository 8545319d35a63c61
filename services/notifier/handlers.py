"""The notifier's handlers: one plain function per event or request, dependencies passed by name.

Event handlers only *queue* deliveries, in the transaction that records the
event in the inbox; an email is queued as a small draft, its MIME message (with
any PDF, read from the blob store) composed when it is sent. :func:`dispatch_due`
sends them afterwards and records each outcome with its ``notification.sent`` /
``notification.failed`` event in the outbox. So a redelivered event sends nothing
twice, and a crash between the two loses nothing.
"""
from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from quoteflow import sealing
from quoteflow import observability
from quoteflow.blobs import BlobNotFound, FolderBlobStore
from quoteflow.envelope import Envelope, rfc3339
from quoteflow.errors import Conflict, InvalidArgument, NotFound
from quoteflow.uow import AlreadyHandled
from quoteflow.v1 import events_pb2
from services.notifier.adapters.mail import (
    AttachmentMissing,
    EmailDraft,
    MailError,
    MailTransport,
    sender_address,
)
from services.notifier.adapters.sms import SmsError, SmsSender
from services.notifier.adapters.templates import (
    SAMPLE,
    VARIABLES,
    Rendered,
    TemplateProblem,
    TemplateRenderer,
    default_content,
    long_date,
    moment,
    money,
)
from services.notifier.adapters.unit_of_work import NotifierUnitOfWork
from services.notifier.config import NotifierConfig
from services.notifier.domain.model import (
    DOWNLOAD,
    DRAFT,
    EMAIL,
    FAILED,
    MESSAGE,
    QUEUED,
    SELECTABLE,
    SENT,
    SMS,
    TEMPLATE_SPECS,
    VIEW,
    Closure,
    Delivery,
    Preferences,
    RetryPolicy,
    TemplateContent,
    TemplateSpec,
    TemplateVersion,
    View,
    clean_header,
    valid_custom_name,
    valid_email,
)

log = logging.getLogger(__name__)

SOURCE = "quoteflow/notifier"
KIND_TEMPLATES = {"send": "quote_send", "relance": "quote_relance"}


# --- queueing --------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Cause:
    """Why a message is sent: the event (or digest) id, for the delivery log's one-per-recipient key."""

    tenant: str
    event_id: str
    correlation_id: str
    quote_id: str

    @classmethod
    def of(cls, envelope: Envelope, quote_id: str) -> "Cause":
        return cls(envelope.tenant, envelope.id, envelope.correlation_id or envelope.id, quote_id)


def _queue(uow: NotifierUnitOfWork, cause: Cause, now: datetime, *, channel: str, recipient: str, template: str,
           subject: str, payload: bytes, error: str = "", expires_at: datetime | None = None,
           sensitive: bool = False, payload_format: str = MESSAGE) -> None:
    delivery = Delivery(
        id=str(uuid.uuid4()), tenant=cause.tenant, event_id=cause.event_id, channel=channel,
        recipient=recipient, template=template, quote_id=cause.quote_id, subject=subject[:300],
        payload=b"" if error else payload, created_at=now, status=FAILED if error else QUEUED, error=error,
        next_attempt_at=None if error else now, correlation_id=cause.correlation_id, expires_at=expires_at,
        sensitive=sensitive, traceparent=observability.current_traceparent(), payload_format=payload_format)
    uow.deliveries.add(delivery)
    if error:
        uow.emit(notification_event(delivery, now))
        uow.after_commit(lambda: _count(delivery))


def _email(uow, cause: Cause, now: datetime, cfg: NotifierConfig, *, template: str, to_name: str, to_email: str,
           rendered: Rendered, reply_to=None, attachment: tuple[str, str] | None = None, expires_at=None,
           sensitive=False) -> None:
    """Queues an email as a draft (``attachment``: file name and blob SHA-256); it is composed when sent."""
    to_email = (to_email or "").strip()
    if not valid_email(to_email):
        _queue(uow, cause, now, channel=EMAIL, recipient=to_email[:320] or "(aucune adresse)", template=template,
               subject=rendered.subject, payload=b"",
               error=f"adresse email invalide : {clean_header(to_email)[:80]!r}")
        return
    if reply_to and not valid_email(reply_to[1]):
        reply_to = None
    sender_address(cfg.mail_from)  # a bad MAIL_FROM fails the event, as composing the message did
    draft = EmailDraft(mail_from=cfg.mail_from, to_name=to_name, subject=rendered.subject, text=rendered.text,
                       html=rendered.html, reply_to=reply_to, attachment=attachment)
    _queue(uow, cause, now, channel=EMAIL, recipient=to_email, template=template, subject=rendered.subject,
           payload=draft.to_bytes(), expires_at=expires_at, sensitive=sensitive, payload_format=DRAFT)


def _sms(uow, cause: Cause, now: datetime, *, template: str, phone: str, rendered: Rendered, who: str,
         expires_at=None, sensitive=False) -> None:
    phone = clean_header(phone, 40)
    _queue(uow, cause, now, channel=SMS, recipient=phone or "(aucun numéro)", template=template,
           subject=rendered.subject, payload=rendered.sms.encode("utf-8"),
           error="" if phone else f"aucun numéro de téléphone pour {who}", expires_at=expires_at,
           sensitive=sensitive)


def notification_event(delivery: Delivery, now: datetime) -> Envelope:
    """``notification.sent`` or ``notification.failed`` for a delivery that is over."""
    if delivery.status == SENT:
        payload = events_pb2.NotificationSent(
            delivery_id=delivery.id, quote_id=delivery.quote_id, channel=delivery.channel,
            recipient=delivery.recipient, template=delivery.template, cause_event_id=delivery.event_id,
            at=rfc3339(delivery.sent_at or now), subject=delivery.subject)
    else:
        payload = events_pb2.NotificationFailed(
            delivery_id=delivery.id, quote_id=delivery.quote_id, channel=delivery.channel,
            recipient=delivery.recipient, template=delivery.template, cause_event_id=delivery.event_id,
            at=rfc3339(now), error=delivery.error, attempts=delivery.attempts)
    return Envelope.wrap(payload, source=SOURCE, subject=f"quote/{delivery.quote_id}", tenant=delivery.tenant,
                         correlation_id=delivery.correlation_id)


# --- templates in use ------------------------------------------------------------------------------

def _in_use(uow: NotifierUnitOfWork, tenant: str, name: str) -> tuple[TemplateContent, int, str] | None:
    """(content, version, base) of the tenant's template ``name``: its newest saved version, else the default."""
    saved = uow.templates.get(tenant, name)
    if saved is not None:
        return saved.content, saved.version, saved.base
    if name in TEMPLATE_SPECS:
        return default_content(name), 0, name
    return None


def _render(uow, renderer: TemplateRenderer, tenant: str, name: str, variables: dict, **edits) -> Rendered:
    content, _, _ = _in_use(uow, tenant, name)
    return renderer.render(name, variables, content=content, **edits)


# --- events ----------------------------------------------------------------------------------------

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


def _send_template(uow: NotifierUnitOfWork, tenant: str, event) -> str:
    """The template chosen for a quote.sent: the one named if this tenant has it, else the kind's default."""
    requested = event.template
    if requested in ("", "quote_send") and event.signature_requested and event.kind != "relance":
        requested = "quote_signature_request"
    found = _in_use(uow, tenant, requested) if requested else None
    if found is not None and found[2] in SELECTABLE:
        return requested
    fallback = KIND_TEMPLATES.get(event.kind, "quote_send")
    if fallback == "quote_send" and event.signature_requested:
        fallback = "quote_signature_request"
    if requested:
        log.warning("quote.sent for quote %s names template %r, unknown for tenant %s; using %s",
                    event.quote_id, requested, tenant, fallback)
    return fallback


def _pdf_attachment(blobs: FolderBlobStore, sha256: str, number: str, quote_id: str,
                    suffix: str = "") -> tuple[str, str]:
    """(file name, SHA-256) of a PDF to attach when sending; a blob not (yet) there fails the event, so it is
    retried: a stat here, the bytes are read by the dispatcher."""
    if not blobs.exists(sha256):
        raise BlobNotFound(sha256)
    return f"Devis-{''.join(c for c in number if c.isalnum() or c in '-_') or quote_id}{suffix}.pdf", sha256


def on_quote_sent(envelope: Envelope, uow: NotifierUnitOfWork, renderer: TemplateRenderer,
                  blobs: FolderBlobStore, cfg: NotifierConfig, clock) -> None:
    event = envelope.payload()
    variables = quote_variables(event)
    attachment = None
    if event.attach_pdf:
        attachment = _pdf_attachment(blobs, event.pdf_sha256, variables["quote_number"], event.quote_id)
    reply_to = (event.assignee.name, event.assignee.email) if event.assignee.email else None
    totals = event.snapshot.totals
    now = clock.now()
    with uow:
        uow.record_inbox(envelope)
        template = _send_template(uow, envelope.tenant, event)
        rendered = _render(uow, renderer, envelope.tenant, template, variables, subject=event.subject,
                           body=event.body)
        uow.sent_quotes.remember(envelope.tenant, event.quote_id, event.version, variables["quote_number"],
                                 totals.total_ttc, totals.currency, variables=variables, sent_at=now)
        _email(uow, Cause.of(envelope, event.quote_id), now, cfg, template=template, to_name=event.recipient.name,
               to_email=event.recipient.email, rendered=rendered, reply_to=reply_to, attachment=attachment)
        uow.commit()


def _context(uow: NotifierUnitOfWork, tenant: str, quote_id: str, version: int, event) -> dict:
    """What the notices say about the quote: the read model's data, the event's where it has them."""
    known = uow.sent_quotes.variables(tenant, quote_id, version) or {}
    context = {key: known.get(key, "") for key in ("quote_title", "quote_total_ttc", "company_name",
                                                   "account_name", "recipient_name")}
    context.update({
        "quote_number": event.number or known.get("quote_number", ""),
        "quote_version": str(version or known.get("quote_version", "")),
        "assignee_name": event.assignee.name, "assignee_email": event.assignee.email,
        "assignee_phone": event.assignee.phone,
    })
    return context


def _silenced(uow: NotifierUnitOfWork, tenant: str, quote_id: str, version: int) -> bool:
    closure = uow.closures.get(tenant, quote_id)
    return closure is not None and closure.silences(version)


def _on_portal_action(envelope: Envelope, action: str, template: str, uow: NotifierUnitOfWork,
                      renderer: TemplateRenderer, cfg: NotifierConfig, clock) -> None:
    event = envelope.payload()
    now = clock.now()
    with uow:
        uow.record_inbox(envelope)
        if _silenced(uow, envelope.tenant, event.quote_id, event.version):
            log.info("%s of quote %s after its signature or decline: nobody told", action, event.quote_id)
            uow.commit()
            return
        prefs = uow.preferences.get(envelope.tenant, event.assignee.id)
        channels = prefs.channels_for(action)
        if not channels:
            uow.commit()
            return
        if action == VIEW:
            window = uow.digests.get(envelope.tenant, event.quote_id)
            view = View(event_id=envelope.id, viewer_email=event.recipient_email, ip=event.ip,
                        user_agent=event.user_agent, at=event.at or envelope.time)
            at_once = window.on_view(view, now, timedelta(seconds=cfg.digest_window_seconds))
            uow.digests.save(window, number=event.number, version=event.version, assignee=event.assignee)
            if not at_once:
                uow.wake_dispatcher = True  # so it waits for this window's end
                uow.commit()
                return
        date, time = moment(event.at or envelope.time, cfg.timezone)
        variables = {**_context(uow, envelope.tenant, event.quote_id, event.version, event),
                     "viewer_email": event.recipient_email or "un visiteur", "ip": event.ip,
                     "user_agent": event.user_agent, "date": date, "time": time}
        rendered = _render(uow, renderer, envelope.tenant, template, variables)
        _tell_assignee(uow, Cause.of(envelope, event.quote_id), now, cfg, template, channels, event.assignee,
                       rendered)
        uow.commit()


def _tell_assignee(uow, cause: Cause, now: datetime, cfg: NotifierConfig, template: str, channels: list[str],
                   assignee, rendered: Rendered) -> None:
    if EMAIL in channels:
        _email(uow, cause, now, cfg, template=template, to_name=assignee.name, to_email=assignee.email,
               rendered=rendered)
    if SMS in channels:
        _sms(uow, cause, now, template=template, phone=assignee.phone, rendered=rendered,
             who="le commercial assigné")


def on_quote_viewed(envelope, uow, renderer, cfg, clock) -> None:
    _on_portal_action(envelope, VIEW, "quote_viewed", uow, renderer, cfg, clock)


def on_quote_downloaded(envelope, uow, renderer, cfg, clock) -> None:
    _on_portal_action(envelope, DOWNLOAD, "quote_downloaded", uow, renderer, cfg, clock)


def _close(uow: NotifierUnitOfWork, tenant: str, quote_id: str, version: int, outcome: str, now: datetime) -> None:
    """No more view / download notices for this quote (this version or older); pending digests dropped."""
    uow.closures.close(tenant, Closure(quote_id=quote_id, version=version, outcome=outcome), now)
    window = uow.digests.get(tenant, quote_id)
    if window.pending:
        uow.digests.clear(window)


def _signer_variables(uow, envelope: Envelope, event, when: str, cfg: NotifierConfig) -> dict:
    date, time = moment(when or envelope.time, cfg.timezone)
    return {**_context(uow, envelope.tenant, event.quote_id, event.version, event),
            "signer_name": event.signer_name or event.signer_email, "signer_email": event.signer_email,
            "date": date, "time": time, "ip": event.ip}


def on_signature_completed(envelope: Envelope, uow: NotifierUnitOfWork, renderer: TemplateRenderer,
                           blobs: FolderBlobStore, cfg: NotifierConfig, clock) -> None:
    event = envelope.payload()
    now = clock.now()
    attachment = None
    if event.signed_pdf_sha256:
        attachment = _pdf_attachment(blobs, event.signed_pdf_sha256, event.number, event.quote_id, "-signe")
    else:
        log.warning("signature.completed %s has no signed PDF: the client's copy goes without it", envelope.id)
    with uow:
        uow.record_inbox(envelope)
        _close(uow, envelope.tenant, event.quote_id, event.version, "signed", now)
        amount = uow.sent_quotes.amount(envelope.tenant, event.quote_id, event.version)
        variables = {**_signer_variables(uow, envelope, event, event.signed_at, cfg),
                     "amount": money(*amount) if amount else ""}
        cause = Cause.of(envelope, event.quote_id)
        _email(uow, cause, now, cfg, template="signature_confirmation", to_name=event.assignee.name,
               to_email=event.assignee.email,
               rendered=_render(uow, renderer, envelope.tenant, "signature_confirmation", variables))
        signer_email = event.signer_email or variables.get("recipient_email", "")
        reply_to = (event.assignee.name, event.assignee.email) if event.assignee.email else None
        _email(uow, cause, now, cfg, template="signed_copy", to_name=event.signer_name, to_email=signer_email,
               rendered=_render(uow, renderer, envelope.tenant, "signed_copy", variables), reply_to=reply_to,
               attachment=attachment)
        uow.commit()


def on_signature_declined(envelope: Envelope, uow: NotifierUnitOfWork, renderer: TemplateRenderer,
                          cfg: NotifierConfig, clock) -> None:
    event = envelope.payload()
    now = clock.now()
    with uow:
        uow.record_inbox(envelope)
        _close(uow, envelope.tenant, event.quote_id, event.version, "declined", now)
        variables = {**_signer_variables(uow, envelope, event, event.declined_at, cfg),
                     "reason": event.reason.strip()[:5000]}
        _email(uow, Cause.of(envelope, event.quote_id), now, cfg, template="signature_declined",
               to_name=event.assignee.name, to_email=event.assignee.email,
               rendered=_render(uow, renderer, envelope.tenant, "signature_declined", variables))
        uow.commit()


def _parse_time(value: str) -> datetime | None:
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00")) if value else None
    except ValueError:
        return None


def on_code_requested(envelope: Envelope, uow: NotifierUnitOfWork, renderer: TemplateRenderer,
                      cfg: NotifierConfig, clock) -> None:
    """Sends the one-time code by email or SMS; the code is in no log line and wiped once sent."""
    event = envelope.payload()
    now = clock.now()
    expires_at = _parse_time(event.expires_at)
    with uow:
        uow.record_inbox(envelope)
        known = uow.sent_quotes.variables(envelope.tenant, event.quote_id) or {}
        code = sealing.open_code(cfg.seal_key, event.sealed_code, tenant=envelope.tenant,
                                 request_id=event.request_id, expires_at=event.expires_at)
        variables = {
            "code": code, "quote_number": event.number or known.get("quote_number", ""),
            "recipient_name": event.recipient.name, "company_name": known.get("company_name", ""),
            "assignee_name": event.assignee.name or known.get("assignee_name", ""),
            "code_expires_time": moment(expires_at, cfg.timezone)[1] if expires_at else "",
            "code_valid_minutes": str(max(1, round((expires_at - now).total_seconds() / 60))) if expires_at else "",
        }
        rendered = _render(uow, renderer, envelope.tenant, "signature_code", variables)
        cause = Cause.of(envelope, event.quote_id)
        if event.channel == SMS:
            _sms(uow, cause, now, template="signature_code", phone=event.recipient.phone, rendered=rendered,
                 who="le signataire", expires_at=expires_at, sensitive=True)
        else:
            _email(uow, cause, now, cfg, template="signature_code", to_name=event.recipient.name,
                   to_email=event.recipient.email, rendered=rendered, expires_at=expires_at, sensitive=True)
        uow.commit()


def handle_event(envelope: Envelope, handlers: dict) -> None:
    """Runs the handler for ``envelope.type``; a redelivery is a no-op, other types are ignored."""
    handler = handlers.get(envelope.type)
    if handler is None:
        return
    try:
        handler(envelope)
    except AlreadyHandled:
        log.info("event %s (%s) already handled; nothing sent again", envelope.id, envelope.type)


# --- the digest of views ---------------------------------------------------------------------------

def flush_digests(uow: NotifierUnitOfWork, renderer: TemplateRenderer, cfg: NotifierConfig, clock) -> int:
    """Turns every closed window's gathered views into one digest per channel; returns how many windows."""
    now = clock.now()
    with uow:
        due = uow.digests.due(now)
        for window, who in due:
            views = window.take()
            uow.digests.clear(window)
            if _silenced(uow, window.tenant, window.quote_id, who["version"]):
                continue
            channels = uow.preferences.get(window.tenant, who["assignee_id"]).channels_for(VIEW)
            if not channels:
                continue
            listed = []
            for view in views:
                date, time = moment(view.at, cfg.timezone)
                listed.append({"viewer_email": view.viewer_email or "un visiteur", "ip": view.ip,
                               "user_agent": view.user_agent, "date": date, "time": time})
            assignee = _Party(who["assignee_id"], who["assignee_name"], who["assignee_email"], who["assignee_phone"])
            context = _context(uow, window.tenant, window.quote_id, who["version"],
                               _Numbered(who["number"], assignee))
            variables = {**context, "views": listed, "view_count": str(len(listed)),
                         "first_date": listed[0]["date"], "first_time": listed[0]["time"],
                         "last_date": listed[-1]["date"], "last_time": listed[-1]["time"]}
            rendered = _render(uow, renderer, window.tenant, "quote_viewed_digest", variables)
            digest_id = f"digest:{uuid.uuid4()}"
            cause = Cause(window.tenant, digest_id, digest_id, window.quote_id)
            _tell_assignee(uow, cause, now, cfg, "quote_viewed_digest", channels, assignee, rendered)
        uow.commit()
    return len(due)


@dataclass(frozen=True)
class _Party:
    id: str
    name: str
    email: str
    phone: str


@dataclass(frozen=True)
class _Numbered:
    number: str
    assignee: _Party


# --- sending ---------------------------------------------------------------------------------------

LEASE = timedelta(minutes=2)


def email_message(delivery: Delivery, blobs: FolderBlobStore) -> bytes:
    """The RFC 5322 bytes of an email delivery: composed from its draft (and the attachment's blob) now."""
    if delivery.payload_format != DRAFT:
        return delivery.payload
    try:
        return EmailDraft.from_bytes(delivery.payload).message(
            delivery.recipient, blobs, date=delivery.created_at, message_key=delivery.id)
    except AttachmentMissing as exc:  # the blob folder may be catching up (a replica): retried, bounded
        raise MailError(str(exc), transient=True) from None


def send_delivery(delivery: Delivery, mail: MailTransport, sms: SmsSender, cfg: NotifierConfig,
                  blobs: FolderBlobStore) -> None:
    """Sends one delivery; raises MailError / SmsError (with ``transient``) on failure."""
    if delivery.channel == EMAIL:
        mail.send(sender_address(cfg.mail_from)[1], delivery.recipient, email_message(delivery, blobs))
    elif delivery.channel == SMS:
        sms.send(delivery.recipient, delivery.payload.decode("utf-8"), reference=delivery.id)
    else:
        raise MailError(f"unknown channel {delivery.channel!r}", transient=False)


def dispatch_due(uow: NotifierUnitOfWork, renderer: TemplateRenderer, mail: MailTransport, sms: SmsSender,
                 blobs: FolderBlobStore, cfg: NotifierConfig, policy: RetryPolicy, clock, limit: int = 50) -> int:
    """Sends the deliveries due now, recording each outcome (and its event), then queues the closed
    digests (sent on the next call: a woken dispatcher sends what woke it first); returns how many
    deliveries and digests it handled."""
    with uow:
        due = uow.deliveries.claim_due(clock.now(), LEASE, limit)
        uow.commit()
    for delivery in due:
        outcome = _attempt(delivery, mail, sms, blobs, cfg, policy, clock).finished()
        with uow:
            uow.deliveries.save_outcome(outcome)
            if outcome.final:
                uow.emit(notification_event(outcome, clock.now()))
            uow.commit()
        _count(outcome)
    return len(due) + flush_digests(uow, renderer, cfg, clock)


def _attempt(delivery: Delivery, mail, sms, blobs, cfg, policy: RetryPolicy, clock) -> Delivery:
    now = clock.now()
    if delivery.expires_at is not None and now >= delivery.expires_at:
        return replace(delivery, status=FAILED, error="expiré avant l'envoi", next_attempt_at=None)
    attempted = replace(delivery, attempts=delivery.attempts + 1, last_attempt_at=now)
    try:
        with observability.span(f"notifier send {delivery.channel}", traceparent=delivery.traceparent,
                                kind="client", delivery_id=delivery.id, template=delivery.template,
                                cause_event_id=delivery.event_id, attempt=attempted.attempts):
            send_delivery(attempted, mail, sms, cfg, blobs)
    except (MailError, SmsError) as exc:
        log.warning("delivery %s (%s to %s, event %s) failed, attempt %d: %s", delivery.id, delivery.channel,
                    delivery.recipient, delivery.event_id, attempted.attempts, exc)
        return policy.after_failure(attempted, str(exc), exc.transient, clock.now())
    except Exception as exc:  # an adapter bug must not stop the other deliveries
        log.exception("delivery %s failed unexpectedly", delivery.id)
        return policy.after_failure(attempted, f"{type(exc).__name__}", True, clock.now())
    return replace(attempted, status=SENT, error="", sent_at=clock.now(), next_attempt_at=None)


def _count(delivery: Delivery) -> None:
    """The sent / failed counters, once a delivery's outcome is committed (a retry counts nothing yet)."""
    if delivery.status == SENT:
        observability.MESSAGES_SENT.labels(delivery.channel).inc()
    elif delivery.status == FAILED:
        observability.MESSAGES_FAILED.labels(delivery.channel).inc()


def next_due(uow: NotifierUnitOfWork) -> datetime | None:
    """The next moment the dispatcher has work: a retry falling due or a digest window closing."""
    with uow:
        moments = [m for m in (uow.deliveries.next_due(), uow.digests.next_close()) if m is not None]
    return min(moments) if moments else None


# --- requests: templates ---------------------------------------------------------------------------

@dataclass(frozen=True)
class TemplateView:
    name: str
    spec: TemplateSpec
    version: int
    content: TemplateContent
    saved_at: datetime | None = None
    saved_by: str = ""
    customized: bool = False

    @property
    def base(self) -> str:
        return self.spec.name

    @property
    def title(self) -> str:
        return self.spec.title if self.name == self.spec.name else f"{self.spec.title} : {self.name}"

    def variables(self) -> list[tuple[str, str, bool]]:
        return [(name, VARIABLES[name], name in self.spec.required) for name in self.spec.variables]


def _view(name: str, saved: TemplateVersion | None, customized: bool) -> TemplateView:
    if saved is None:
        return TemplateView(name=name, spec=TEMPLATE_SPECS[name], version=0, content=default_content(name))
    return TemplateView(name=name, spec=TEMPLATE_SPECS[saved.base], version=saved.version, content=saved.content,
                        saved_at=saved.saved_at, saved_by=saved.saved_by, customized=customized)


def list_templates(tenant: str, uow: NotifierUnitOfWork) -> list[TemplateView]:
    with uow:
        saved = {version.name: version for version in uow.templates.current_all(tenant)}
    views = [_view(name, saved.get(name), name in saved) for name in TEMPLATE_SPECS]
    views += [_view(name, saved[name], True) for name in sorted(saved) if name not in TEMPLATE_SPECS]
    return views


def get_template(tenant: str, name: str, version: int, uow: NotifierUnitOfWork) -> TemplateView:
    name = (name or "").strip()
    if not name:
        raise InvalidArgument({"name": "is required"})
    with uow:
        newest = uow.templates.get(tenant, name)
        if version < 0:
            raise InvalidArgument({"version": "must be 0 (the current one) or a saved version"})
        if version == 0:
            if newest is None and name not in TEMPLATE_SPECS:
                raise NotFound(f"no template {name!r}")
            return _view(name, newest, newest is not None)
        saved = uow.templates.get(tenant, name, version)
    if saved is None:
        raise NotFound(f"template {name!r} has no version {version}")
    return _view(name, saved, True)


def list_template_versions(tenant: str, name: str, uow: NotifierUnitOfWork) -> list[TemplateVersion]:
    name = (name or "").strip()
    with uow:
        versions = uow.templates.versions(tenant, name)
    if not versions and name not in TEMPLATE_SPECS:
        raise NotFound(f"no template {name!r}")
    return versions


def _normalized(content: TemplateContent) -> TemplateContent:
    def clean(text: str) -> str:
        return (text or "").replace("\r\n", "\n").replace("\r", "\n")
    return TemplateContent(subject=clean(content.subject).strip(), text=clean(content.text),
                           html=clean(content.html), sms=clean(content.sms).strip())


def save_template(tenant: str, name: str, base: str, content: TemplateContent, expected_version: int,
                  saved_by: str, uow: NotifierUnitOfWork, renderer: TemplateRenderer, clock) -> TemplateView:
    """Saves a new version after :meth:`TemplateRenderer.validate` accepted it."""
    name, base = (name or "").strip(), (base or "").strip()
    content = _normalized(content)
    with uow:
        current = uow.templates.get(tenant, name) if name else None
    if name in TEMPLATE_SPECS:
        if base and base != name:
            raise InvalidArgument({"base": f"a built-in template is its own base ({name})"})
        base = name
    elif current is not None:
        if base and base != current.base:
            raise InvalidArgument({"base": f"{name} is based on {current.base}; it cannot change"})
        base = current.base
    else:
        if not valid_custom_name(name):
            raise InvalidArgument({"name": "a new template needs a name of 2 to 64 lowercase letters, digits, "
                                           "'-' or '_', not one of the built-in names"})
        if base not in SELECTABLE:
            raise InvalidArgument({"base": f"a new template must be based on one of {', '.join(SELECTABLE)}"})
    problems = renderer.validate(TEMPLATE_SPECS[base], content)
    if problems:
        raise InvalidArgument(problems)
    current_version = current.version if current else 0
    if expected_version and expected_version != current_version:
        raise Conflict(f"template {name} is at version {current_version}, not {expected_version}: "
                       "someone saved it meanwhile")
    saved = TemplateVersion(tenant=tenant, name=name, base=base, version=current_version + 1, content=content,
                            saved_at=clock.now(), saved_by=clean_header(saved_by, 200))
    with uow:
        uow.templates.add(saved)
        uow.commit()
    return _view(name, saved, True)


@dataclass(frozen=True)
class Preview:
    rendered: Rendered
    template: str
    version: int
    quote_known: bool
    missing: list[str] = field(default_factory=list)


_TRUE = {"1", "true", "yes", "oui", "on"}


def preview_email(tenant: str, template: str, variables: dict[str, str], uow: NotifierUnitOfWork,
                  renderer: TemplateRenderer, *, quote_id: str = "", subject: str = "", body: str = "",
                  draft: TemplateContent | None = None, fill_samples: bool = False) -> Preview:
    """Renders ``template`` (or ``draft``) with the quote's last sent data, overridden by ``variables``.

    ``variables`` may also carry ``subject`` and ``body`` (the edited email), as the request's fields do.
    """
    template = (template or "").strip()
    if not template:
        raise InvalidArgument({"template": "is required"})
    free = dict(variables)
    subject = subject or free.pop("subject", "")
    body = body or free.pop("body", "")
    with uow:
        found = _in_use(uow, tenant, template)
        known = uow.sent_quotes.variables(tenant, quote_id.strip()) if quote_id.strip() else None
    if found is None:
        raise InvalidArgument({"template": f"unknown template {template!r}"})
    content, version, base = found
    if draft is not None and any((draft.subject, draft.text, draft.html, draft.sms)):
        content, version = _normalized(draft), -1
    values: dict = dict(known or {})
    values.update(free)
    if "signature_requested" in free:
        values["signature_requested"] = str(free["signature_requested"]).strip().lower() in _TRUE
    used = renderer.used_variables(content)
    missing = sorted(name for name in used if name in VARIABLES and values.get(name) in (None, ""))
    if fill_samples:
        for name in missing:
            values[name] = SAMPLE.get(name, "")
    try:
        rendered = renderer.render(template, values, content=content, subject=subject, body=body)
    except TemplateProblem as exc:
        problems = renderer.validate(TEMPLATE_SPECS[base], content) if version == -1 else {}
        raise InvalidArgument(problems or {"template": str(exc)}) from None
    return Preview(rendered=rendered, template=template, version=max(version, 0), quote_known=known is not None,
                   missing=missing)


# --- requests: preferences and the delivery log ----------------------------------------------------

def get_preferences(tenant: str, user_id: str, uow: NotifierUnitOfWork) -> Preferences:
    if not user_id.strip():
        raise InvalidArgument({"user_id": "is required"})
    with uow:
        return uow.preferences.get(tenant, user_id.strip())


def set_preferences(tenant: str, prefs: Preferences, uow: NotifierUnitOfWork, clock) -> Preferences:
    if not prefs.user_id.strip():
        raise InvalidArgument({"user_id": "is required"})
    prefs = replace(prefs, user_id=prefs.user_id.strip())
    with uow:
        uow.preferences.save(tenant, prefs, clock.now())
        uow.commit()
    return prefs


def list_deliveries(tenant: str, quote_id: str, uow: NotifierUnitOfWork) -> list[Delivery]:
    if not quote_id.strip():
        raise InvalidArgument({"quote_id": "is required"})
    with uow:
        return uow.deliveries.for_quote(tenant, quote_id.strip())
