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

from quoteflow import links, sealing
from quoteflow import observability
from quoteflow.blobs import BlobNotFound, FolderBlobStore
from quoteflow.decimals import decimal_problem
from quoteflow.envelope import Envelope, rfc3339
from quoteflow.errors import Conflict, InvalidArgument, NotFound
from quoteflow.ids import has_line_break, id_problem
from quoteflow.uow import AlreadyHandled
from quoteflow.v1 import events_pb2
from services.notifier.adapters.mail import (
    PDF,
    AttachmentMissing,
    EmailDraft,
    MailError,
    MailTransport,
    sender_address,
)
from services.notifier.adapters.sms import SmsError, SmsSender, gsm7
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
from services.notifier.domain import browser
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
    Visit,
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
    delivery = Delivery(  # the subject stays in the log and the events: never a link's token (quoteflow.links)
        id=str(uuid.uuid4()), tenant=cause.tenant, event_id=cause.event_id, channel=channel, recipient=recipient,
        template=template, quote_id=cause.quote_id, subject=links.without_links(subject)[:300],
        payload=b"" if error else payload, created_at=now, status=FAILED if error else QUEUED, error=error,
        next_attempt_at=None if error else now, correlation_id=cause.correlation_id, expires_at=expires_at,
        sensitive=sensitive, traceparent=observability.current_traceparent(), payload_format=payload_format)
    uow.deliveries.add(delivery)
    if error:
        uow.emit(notification_event(delivery, now))
        uow.after_commit(lambda: _count(delivery))


def _email(uow, cause: Cause, now: datetime, cfg: NotifierConfig, *, template: str, to_name: str, to_email: str,
           rendered: Rendered, reply_to=None, attachments: tuple[tuple[str, str, str], ...] = (), expires_at=None,
           sensitive=False, from_name: str = "", partial: bool = False) -> None:
    """Queues an email as a draft (``attachments``: file name, blob SHA-256, content type); it is composed
    when sent. ``from_name``: the sending company, for the emails a client gets (the address stays MAIL_FROM's).
    ``partial``: on its last try it may go without a file still missing, saying so (EmailDraft)."""
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
                       html=rendered.html, reply_to=reply_to, attachments=attachments, from_name=from_name,
                       partial=partial)
    _queue(uow, cause, now, channel=EMAIL, recipient=to_email, template=template, subject=rendered.subject,
           payload=draft.to_bytes(), expires_at=expires_at, sensitive=sensitive, payload_format=DRAFT)


def _sms(uow, cause: Cause, now: datetime, *, template: str, phone: str, rendered: Rendered, who: str,
         expires_at=None, sensitive=False) -> None:
    phone = clean_header(phone, 40)
    _queue(uow, cause, now, channel=SMS, recipient=phone or "(aucun numéro)", template=template,
           subject=rendered.subject, payload=gsm7(rendered.sms).encode("utf-8"),
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
        "pdf_attached": bool(event.attach_pdf),
    }


def _send_template(uow: NotifierUnitOfWork, tenant: str, event) -> tuple[str, str]:
    """The template chosen for a quote.sent: the one named if this tenant has it, else the kind's default;
    and, when the one named could not be used, why (for the quote's history), else ''."""
    requested = event.template
    if requested in ("", "quote_send") and event.signature_requested and event.kind != "relance":
        requested = "quote_signature_request"
    found = _in_use(uow, tenant, requested) if requested else None
    if found is not None and found[2] in SELECTABLE:
        return requested, ""
    fallback = KIND_TEMPLATES.get(event.kind, "quote_send")
    if fallback == "quote_send" and event.signature_requested:
        fallback = "quote_signature_request"
    if not requested:
        return fallback, ""
    log.warning("quote.sent for quote %s names template %r, %s for tenant %s; using %s", event.quote_id, requested,
                "unknown" if found is None else "not a send template", tenant, fallback)
    why = "inconnu" if found is None else "qui ne sert pas à envoyer un devis"
    return fallback, (f"modèle « {clean_header(requested, 64)} » {why} : l'email part avec le modèle par défaut "
                      f"« {fallback} » à la place")


def _template_refused(cause: Cause, now: datetime, event, problem: str) -> Envelope:
    """The ``notification.failed`` that puts a template named but not used in the quote's history (the email
    goes all the same, with the default, and has its own notification.sent): the CRM's SendQuote was already
    answered, so this is where the salesperson learns the name was wrong. Not a delivery of the log."""
    refused = Delivery(
        id=str(uuid.uuid4()), tenant=cause.tenant, event_id=cause.event_id, channel=EMAIL,
        recipient=clean_header(event.recipient.email, 320) or "(aucune adresse)",
        template=clean_header(event.template, 64), quote_id=cause.quote_id, subject="", payload=b"",
        created_at=now, status=FAILED, error=problem, correlation_id=cause.correlation_id)
    return notification_event(refused, now)


def _opened_link(uow, cause: Cause, now: datetime, cfg: NotifierConfig, envelope: Envelope, event,
                 template: str) -> str:
    """The portal link of a quote.sent: opened from its seal (quoteflow/sealing.py), or in clear in an event
    published before links were sealed. A link that cannot be opened (sealed for another send, quote or
    tenant, or with another CODE_SEAL_KEY) or is missing sends no email: a failed delivery says why, and
    '' is returned. The opened link goes into the queued email only, never into a log or the read model."""
    if not event.sealed_link_url and event.link_url:
        return event.link_url
    try:
        return sealing.open_link(cfg.seal_key, event.sealed_link_url, tenant=envelope.tenant,
                                 quote_id=event.quote_id, version=event.version, token_sha256=event.link_token_sha256)
    except sealing.SealBroken as broken:
        log.error("quote.sent %s (quote %s, tenant %s): %s; the email is not sent", envelope.id, event.quote_id,
                  envelope.tenant, broken)
    _queue(uow, cause, now, channel=EMAIL, recipient=clean_header(event.recipient.email, 320) or "(aucune adresse)",
           template=template, subject="", payload=b"",
           error="le lien du devis reçu du service quotes ne peut pas être ouvert (scellé pour un autre envoi ou "
                 "avec une autre clé CODE_SEAL_KEY que celle du notifier) : l'email n'est pas parti ; corrigez "
                 "CODE_SEAL_KEY si besoin puis renvoyez le devis")
    return ""


def _shown_link(renderer: TemplateRenderer, rendered: Rendered, envelope: Envelope, template: str,
                link: str) -> Rendered:
    """The backstop of TemplateRenderer.validate: a part that does not show the link gets the standard one."""
    event = envelope.payload()
    rendered, added = renderer.ensure_link(rendered, link)
    if added:
        log.warning("quote.sent %s (quote %s): template %s of tenant %s does not show the « Accéder au document » "
                    "link in its %s part; the standard link was added", envelope.id, event.quote_id, template,
                    envelope.tenant, " and ".join(added))
    return rendered


# What the read model keeps of a quote.sent's variables: not its link, a capability made anew at each send (the
# portal and quotes keep only its SHA-256); a preview shows LINK_PLACEHOLDER where it goes.
_NOT_KEPT = frozenset({"link_url"})


def _file_name(prefix: str, number: str, quote_id: str, suffix: str = "", extension: str = "pdf") -> str:
    return f"{prefix}-{''.join(c for c in number if c.isalnum() or c in '-_') or quote_id}{suffix}.{extension}"


def _pdf_attachment(blobs: FolderBlobStore, sha256: str, number: str, quote_id: str) -> tuple[str, str, str]:
    """(file name, SHA-256, type) of the quote's PDF to attach when sending; a blob not (yet) there fails the
    event, so it is retried: a stat here, the bytes are read by the dispatcher."""
    if not blobs.exists(sha256):
        raise BlobNotFound(sha256)
    return _file_name("Devis", number, quote_id), sha256, PDF


def on_quote_sent(envelope: Envelope, uow: NotifierUnitOfWork, renderer: TemplateRenderer,
                  blobs: FolderBlobStore, cfg: NotifierConfig, clock) -> None:
    event = envelope.payload()
    variables = quote_variables(event)
    attachments = ()
    if event.attach_pdf:
        attachments = (_pdf_attachment(blobs, event.pdf_sha256, variables["quote_number"], event.quote_id),)
    totals = event.snapshot.totals
    now = clock.now()
    with uow:
        uow.record_inbox(envelope)
        variables.update(_assignee_at_send(uow, envelope, event))
        reply_to = (variables["assignee_name"], variables["assignee_email"]) if variables["assignee_email"] else None
        template, problem = _send_template(uow, envelope.tenant, event)
        cause = Cause.of(envelope, event.quote_id)
        link = variables["link_url"] = _opened_link(uow, cause, now, cfg, envelope, event, template)
        kept = {name: value for name, value in variables.items() if name not in _NOT_KEPT}
        uow.sent_quotes.remember(envelope.tenant, event.quote_id, event.version, variables["quote_number"],
                                 totals.total_ttc, totals.currency, variables=kept, sent_at=now)
        if link:  # else a failed delivery says why no email went
            rendered = _render(uow, renderer, envelope.tenant, template, variables, subject=event.subject,
                               body=event.body)
            rendered = _shown_link(renderer, rendered, envelope, template, link)
            _email(uow, cause, now, cfg, template=template, to_name=event.recipient.name,
                   to_email=event.recipient.email, rendered=rendered, reply_to=reply_to, attachments=attachments,
                   from_name=variables["company_name"])
            if problem:
                uow.emit(_template_refused(cause, now, event, problem))
        uow.commit()


# --- the assignee: « le commercial en charge du devis » ----------------------------------------------
# quote.sent names the assignee of its moment; quote.assignee_changed names the new one after a reassignment
# or a change of the user's name, email or mobile. The notifier keeps the latest with the quote's variables
# (sent_quotes), with its time. Once a change was heard, the notices of the quote go to that assignee,
# whatever the portal's and the signature's events carry (their copies of an earlier quote.sent).
_ASSIGNEE_KEYS = ("assignee_id", "assignee_name", "assignee_email", "assignee_phone", "assignee_changed_at")


def _assignee_variables(assignee, at: str) -> dict:
    return {"assignee_id": assignee.id, "assignee_name": assignee.name, "assignee_email": assignee.email,
            "assignee_phone": assignee.phone, "assignee_changed_at": at}


def _after(first: str, second: str) -> bool:
    """Whether the RFC 3339 time ``first`` is later than ``second`` (an empty one is earlier than any)."""
    a, b = _parse_time(first), _parse_time(second)
    return a is not None and (b is None or a > b)


def _assignee_of(uow: NotifierUnitOfWork, tenant: str, quote_id: str, told):
    """Who the notices of the quote go to: the assignee a quote.assignee_changed named, if one did; else
    ``told``, the Party the event at hand carries."""
    known = uow.sent_quotes.variables(tenant, quote_id) or {}
    if not known.get("assignee_changed_at"):
        return told
    return _Party(known.get("assignee_id", ""), known.get("assignee_name", ""), known.get("assignee_email", ""),
                  known.get("assignee_phone", ""))


def _assignee_at_send(uow: NotifierUnitOfWork, envelope: Envelope, event) -> dict:
    """What a quote.sent keeps of the assignee, once a change was heard: the newer of its own and the one
    kept (a quote.sent retried after a later reassignment must not bring the previous assignee back)."""
    known = uow.sent_quotes.variables(envelope.tenant, event.quote_id) or {}
    if not known.get("assignee_changed_at"):
        return {}
    if _after(known["assignee_changed_at"], envelope.time):
        return {key: known.get(key, "") for key in _ASSIGNEE_KEYS}
    return _assignee_variables(event.assignee, envelope.time)


def on_assignee_changed(envelope: Envelope, uow: NotifierUnitOfWork) -> None:
    """quote.assignee_changed: from now on the quote's notices (alerts, digest, signature news) go to the
    assignee it names; an older change than the one kept is dropped."""
    event = envelope.payload()
    changed_at = event.changed_at or envelope.time
    with uow:
        uow.record_inbox(envelope)
        known = uow.sent_quotes.variables(envelope.tenant, event.quote_id)
        if known is None:  # its quote.sent is not here yet: retried
            raise NotFound(f"quote {event.quote_id} of tenant {envelope.tenant} is not known here yet")
        version = int(known.get("quote_version") or 0)
        amount = uow.sent_quotes.amount(envelope.tenant, event.quote_id, version) if version else None
        if amount is None:
            log.warning("quote.assignee_changed %s: quote %s was sent before the notifier kept its variables; "
                        "its notices keep going to the assignee its events name", envelope.id, event.quote_id)
        elif not _after(known.get("assignee_changed_at", ""), changed_at):
            # sent_at unknown here: None keeps this row from passing for the tenant's latest send (company_name)
            uow.sent_quotes.remember(envelope.tenant, event.quote_id, version,
                                     known.get("quote_number") or event.number, *amount,
                                     variables={**known, **_assignee_variables(event.assignee, changed_at)},
                                     sent_at=None)
            for digests in uow.digests.values():
                window = digests.get(envelope.tenant, event.quote_id)
                if window.pending:  # views or downloads waiting for their digest: it goes to the new assignee
                    who = digests.recipient(envelope.tenant, event.quote_id)
                    digests.save(window, number=who["number"], version=who["version"], assignee=event.assignee)
        uow.commit()


def _context(uow: NotifierUnitOfWork, tenant: str, quote_id: str, version: int, event) -> dict:
    """What the notices say about the quote: the read model's data, the event's where it has them."""
    known = uow.sent_quotes.variables(tenant, quote_id, version) or {}
    context = {key: known.get(key, "") for key in ("quote_title", "quote_total_ttc", "company_name",
                                                   "account_name", "recipient_name", "recipient_email")}
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
        assignee = _assignee_of(uow, envelope.tenant, event.quote_id, event.assignee)
        prefs = uow.preferences.get(envelope.tenant, assignee.id)
        channels = prefs.channels_for(action)
        if not channels:
            uow.commit()
            return
        digests = uow.digests[action]
        window = digests.get(envelope.tenant, event.quote_id)
        if window.due(now):  # closed, its digest not sent yet (the dispatcher is late): it goes first
            _send_digest(uow, renderer, cfg, now, window, digests.recipient(envelope.tenant, event.quote_id))
        visit = Visit(event_id=envelope.id, viewer_email=event.recipient_email, ip=event.ip,
                      user_agent=event.user_agent, at=event.at or envelope.time)
        at_once = window.on_action(visit, now, timedelta(seconds=cfg.digest_window_seconds))
        digests.save(window, number=event.number, version=event.version, assignee=assignee)
        if not at_once:
            uow.wake_dispatcher = True  # so it waits for this window's end
            uow.commit()
            return
        context = _context(uow, envelope.tenant, event.quote_id, event.version, _Numbered(event.number, assignee))
        variables = {**context, **_visit(context, event.recipient_email, event.ip, event.user_agent,
                                         event.at or envelope.time, cfg)}
        rendered = _render(uow, renderer, envelope.tenant, template, variables)
        _tell_assignee(uow, Cause.of(envelope, event.quote_id), now, cfg, template, channels, assignee, rendered)
        uow.commit()


def _visit(context: dict, email: str, ip: str, user_agent: str, at, cfg: NotifierConfig) -> dict:
    """Who opened the link (the contact's name when the quote.sent told it), with what, when."""
    date, time = moment(at, cfg.timezone)
    named = email and email.strip().lower() == (context.get("recipient_email") or "").strip().lower()
    name = context.get("recipient_name") if named else ""
    return {"viewer_name": name or email or "un visiteur", "viewer_email": email or "", "ip": ip,
            "browser": browser.describe(user_agent), "user_agent": user_agent, "date": date, "time": time}


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


def _close(uow: NotifierUnitOfWork, renderer: TemplateRenderer, cfg: NotifierConfig, tenant: str, quote_id: str,
           version: int, outcome: str, now: datetime) -> None:
    """No more view / download notices for this quote (this version or older). Views and downloads gathered
    before are real actions the salesperson asked to hear of: their digests go now, with the signature's news."""
    uow.closures.close(tenant, Closure(quote_id=quote_id, version=version, outcome=outcome), now)
    for digests in uow.digests.values():
        window = digests.get(tenant, quote_id)
        if window.pending:
            _send_digest(uow, renderer, cfg, now, window, digests.recipient(tenant, quote_id))


def _signer_variables(uow, envelope: Envelope, event, when: str, cfg: NotifierConfig, assignee) -> dict:
    date, time = moment(when or envelope.time, cfg.timezone)
    return {**_context(uow, envelope.tenant, event.quote_id, event.version, _Numbered(event.number, assignee)),
            "signer_name": event.signer_name or event.signer_email, "signer_email": event.signer_email,
            "date": date, "time": time, "ip": event.ip}


# The proofs the assignee's confirmation carries: the event's field naming the blob, the file's name (prefix,
# suffix, extension), its type, and what the email says of it.
_PROOFS = (
    ("signed_pdf_sha256", "Devis", "-signe", "pdf", PDF,
     "le devis signé, scellé électroniquement (toute modification du fichier serait détectable)"),
    ("proof_sha256", "Preuves", "", "pdf", PDF,
     "le dossier de preuve (signataire, date et heure, adresse IP, empreintes SHA-256, journal horodaté de la "
     "signature)"),
    ("proof_json_sha256", "Preuves", "", "json", "application/json",
     "le même dossier de preuve au format JSON, pour un logiciel (le PDF de preuve en donne l'empreinte SHA-256)"),
)


def _proofs(event) -> list[tuple[str, str, str, str]]:
    """(file name, SHA-256, content type, description) of each proof file the event names."""
    return [(_file_name(prefix, event.number, event.quote_id, suffix, extension), getattr(event, field), kind,
             description)
            for field, prefix, suffix, extension, kind, description in _PROOFS if getattr(event, field)]


def _listed(files: list[tuple[str, str, str, str]]) -> list[dict]:
    return [{"name": name, "description": description} for name, _, _, description in files]


def _references(files: list[tuple[str, str, str, str]]) -> tuple[tuple[str, str, str], ...]:
    return tuple((name, sha256, kind) for name, sha256, kind, _ in files)


def on_signature_completed(envelope: Envelope, uow: NotifierUnitOfWork, renderer: TemplateRenderer,
                           blobs: FolderBlobStore, cfg: NotifierConfig, clock) -> None:
    """The assignee's confirmation with the proofs attached, the signer's copy with the signed PDF.

    The files are only named here: signature wrote them before its event, and the dispatcher reads them
    when it sends. One still missing then is waited for (retried); on the last try the confirmation goes
    without it and says so (the news of a signature must not wait on a file), the copy fails visibly.
    """
    event = envelope.payload()
    now = clock.now()
    proofs = _proofs(event)
    for name, sha256, _, _ in proofs:
        if not blobs.exists(sha256):
            log.warning("signature.completed %s: %s (blob %s) not in the blob store yet; the mails wait for it",
                        envelope.id, name, sha256[:12])
    if not event.signed_pdf_sha256:
        log.warning("signature.completed %s has no signed PDF: the client's copy goes without it", envelope.id)
    with uow:
        uow.record_inbox(envelope)
        _close(uow, renderer, cfg, envelope.tenant, event.quote_id, event.version, "signed", now)
        amount = uow.sent_quotes.amount(envelope.tenant, event.quote_id, event.version)
        assignee = _assignee_of(uow, envelope.tenant, event.quote_id, event.assignee)
        variables = {**_signer_variables(uow, envelope, event, event.signed_at, cfg, assignee),
                     "amount": money(*amount) if amount else ""}
        cause = Cause.of(envelope, event.quote_id)
        _email(uow, cause, now, cfg, template="signature_confirmation", to_name=assignee.name,
               to_email=assignee.email,
               rendered=_render(uow, renderer, envelope.tenant, "signature_confirmation",
                                {**variables, "attachments": _listed(proofs)}),
               attachments=_references(proofs), partial=True)
        signed_pdf = [proof for proof in proofs if proof[1] == event.signed_pdf_sha256]
        signer_email = event.signer_email or variables.get("recipient_email", "")
        reply_to = (assignee.name, assignee.email) if assignee.email else None
        _email(uow, cause, now, cfg, template="signed_copy", to_name=event.signer_name, to_email=signer_email,
               rendered=_render(uow, renderer, envelope.tenant, "signed_copy",
                                {**variables, "attachments": _listed(signed_pdf)}),
               reply_to=reply_to, attachments=_references(signed_pdf), from_name=variables.get("company_name", ""))
        uow.commit()


def on_signature_declined(envelope: Envelope, uow: NotifierUnitOfWork, renderer: TemplateRenderer,
                          cfg: NotifierConfig, clock) -> None:
    event = envelope.payload()
    now = clock.now()
    with uow:
        uow.record_inbox(envelope)
        _close(uow, renderer, cfg, envelope.tenant, event.quote_id, event.version, "declined", now)
        assignee = _assignee_of(uow, envelope.tenant, event.quote_id, event.assignee)
        variables = {**_signer_variables(uow, envelope, event, event.declined_at, cfg, assignee),
                     "reason": event.reason.strip()[:5000]}
        _email(uow, Cause.of(envelope, event.quote_id), now, cfg, template="signature_declined",
               to_name=assignee.name, to_email=assignee.email,
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
        assignee = _assignee_of(uow, envelope.tenant, event.quote_id, event.assignee)
        code = sealing.open_code(cfg.seal_key, event.sealed_code, tenant=envelope.tenant,
                                 request_id=event.request_id, expires_at=event.expires_at)
        variables = {
            "code": code, "quote_number": event.number or known.get("quote_number", ""),
            "recipient_name": event.recipient.name, "company_name": known.get("company_name", ""),
            "assignee_name": assignee.name or known.get("assignee_name", ""),
            "code_expires_time": moment(expires_at, cfg.timezone)[1] if expires_at else "",
            "code_valid_minutes": str(max(1, round((expires_at - now).total_seconds() / 60))) if expires_at else "",
        }
        rendered = _render(uow, renderer, envelope.tenant, "signature_code", variables)
        cause = Cause.of(envelope, event.quote_id)
        if event.channel == SMS:
            _sms(uow, cause, now, template="signature_code", phone=event.recipient.phone, rendered=rendered,
                 who="le signataire", expires_at=expires_at, sensitive=True)
        else:
            reply_to = (assignee.name, assignee.email) if assignee.email else None
            _email(uow, cause, now, cfg, template="signature_code", to_name=event.recipient.name,
                   to_email=event.recipient.email, rendered=rendered, expires_at=expires_at, sensitive=True,
                   reply_to=reply_to, from_name=variables["company_name"])
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


# --- the digests of views and downloads ------------------------------------------------------------

# The digest of each action: its template, and the names its list and count go by in it.
DIGESTS = {VIEW: ("quote_viewed_digest", "views", "view_count"),
           DOWNLOAD: ("quote_downloaded_digest", "downloads", "download_count")}


def flush_digests(uow: NotifierUnitOfWork, renderer: TemplateRenderer, cfg: NotifierConfig, clock) -> int:
    """Turns every closed window's gathered views or downloads into one digest per channel; returns how
    many windows."""
    now = clock.now()
    with uow:
        due = [found for digests in uow.digests.values() for found in digests.due(now)]
        for window, who in due:
            _send_digest(uow, renderer, cfg, now, window, who)
        uow.commit()
    return len(due)


def _send_digest(uow: NotifierUnitOfWork, renderer: TemplateRenderer, cfg: NotifierConfig, now: datetime,
                 window, who: dict) -> None:
    """Queues the digest of ``window``'s pending views or downloads to ``who`` ({number, version,
    assignee_*}) on the channels the assignee chose for that action, and empties the window."""
    visits = window.take()
    uow.digests[window.action].clear(window)
    channels = uow.preferences.get(window.tenant, who["assignee_id"]).channels_for(window.action)
    if not visits or not channels:
        return
    template, listed_as, counted_as = DIGESTS[window.action]
    assignee = _Party(who["assignee_id"], who["assignee_name"], who["assignee_email"], who["assignee_phone"])
    context = _context(uow, window.tenant, window.quote_id, who["version"], _Numbered(who["number"], assignee))
    listed = [_visit(context, visit.viewer_email, visit.ip, visit.user_agent, visit.at, cfg) for visit in visits]
    variables = {**context, listed_as: listed, counted_as: str(len(listed)),
                 "first_date": listed[0]["date"], "first_time": listed[0]["time"],
                 "last_date": listed[-1]["date"], "last_time": listed[-1]["time"]}
    rendered = _render(uow, renderer, window.tenant, template, variables)
    digest_id = f"digest:{uuid.uuid4()}"
    cause = Cause(window.tenant, digest_id, digest_id, window.quote_id)
    _tell_assignee(uow, cause, now, cfg, template, channels, assignee, rendered)


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


def email_message(delivery: Delivery, blobs: FolderBlobStore, last_try: bool = False) -> bytes:
    """The RFC 5322 bytes of an email delivery: composed from its draft (and the attachments' blobs) now;
    on the ``last_try`` a partial draft goes without a file still missing."""
    if delivery.payload_format != DRAFT:
        return delivery.payload
    try:
        return EmailDraft.from_bytes(delivery.payload).message(
            delivery.recipient, blobs, date=delivery.created_at, message_key=delivery.id, last_try=last_try)
    except AttachmentMissing as exc:  # the blob folder may be catching up (a replica): retried, bounded
        raise MailError(str(exc), transient=True) from None


def send_delivery(delivery: Delivery, mail: MailTransport, sms: SmsSender, cfg: NotifierConfig,
                  blobs: FolderBlobStore, last_try: bool = False) -> None:
    """Sends one delivery; raises MailError / SmsError (with ``transient``) on failure."""
    if delivery.channel == EMAIL:
        mail.send(sender_address(cfg.mail_from)[1], delivery.recipient, email_message(delivery, blobs, last_try))
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
        outcome = _kept(_attempt(delivery, mail, sms, blobs, cfg, policy, clock))
        with uow:
            uow.deliveries.save_outcome(outcome)
            if outcome.final:
                uow.emit(notification_event(outcome, clock.now()))
            uow.commit()
        _count(outcome)
    return len(due) + flush_digests(uow, renderer, cfg, clock)


def _kept(delivery: Delivery) -> Delivery:
    """What the log keeps of a delivery: while queued, all of it (to send it); once over, a sensitive payload
    wiped (Delivery.finished), a draft's bodies with each quote link's token replaced by its reference
    (quoteflow.links: a link is a capability), a whole message queued before drafts wiped (its bodies may be
    encoded, so a link in them cannot be found)."""
    delivery = delivery.finished()
    if not delivery.final or not delivery.payload:
        return delivery
    try:
        if delivery.payload_format == DRAFT:
            return replace(delivery, payload=EmailDraft.from_bytes(delivery.payload).without_links().to_bytes())
        if delivery.channel != EMAIL:
            return replace(delivery, payload=links.without_links(delivery.payload.decode("utf-8")).encode("utf-8"))
    except (ValueError, TypeError, AttributeError):  # unreadable: nothing worth keeping, the outcome must be saved
        log.warning("delivery %s: its payload could not be read to take its links out; wiped", delivery.id)
    return replace(delivery, payload=b"")


def _attempt(delivery: Delivery, mail, sms, blobs, cfg, policy: RetryPolicy, clock) -> Delivery:
    now = clock.now()
    if delivery.expires_at is not None and now >= delivery.expires_at:
        return replace(delivery, status=FAILED, error="expiré avant l'envoi", next_attempt_at=None)
    attempted = replace(delivery, attempts=delivery.attempts + 1, last_attempt_at=now)
    try:
        with observability.span(f"notifier send {delivery.channel}", traceparent=delivery.traceparent,
                                kind="client", delivery_id=delivery.id, template=delivery.template,
                                cause_event_id=delivery.event_id, attempt=attempted.attempts):
            send_delivery(attempted, mail, sms, cfg, blobs, last_try=attempted.attempts >= policy.max_attempts)
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
        moments = [m for m in (uow.deliveries.next_due(), *(d.next_close() for d in uow.digests.values()))
                   if m is not None]
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


def _id(value: str, field: str) -> str:
    """``value`` without surrounding spaces if it can be an id (quoteflow.ids: the rule quotes checks ids with), else INVALID_ARGUMENT
    naming ``field``: a NUL or an overlong id reaches no query (PostgreSQL would refuse it with an error)."""
    value = (value or "").strip()
    problem = id_problem(value)
    if problem:
        raise InvalidArgument({field: problem})
    return value


def get_template(tenant: str, name: str, version: int, uow: NotifierUnitOfWork) -> TemplateView:
    name = _id(name, "name")
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
    name = _id(name, "name")
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
    name, base = _id(name, "name"), (base or "").strip()
    content = _normalized(content)
    with uow:
        current = uow.templates.get(tenant, name)
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


LINK_PLACEHOLDER = "[lien personnel créé à l'envoi]"


def draft_variables(quote) -> dict:
    """The template variables a quote never sent gives (a ``Quote`` as GetQuote returns it): only those it has.
    A total in another form than the contract's is refused, not shown as a guess."""
    totals = quote.totals
    wrong = {f"quote.totals.{name}": decimal_problem(getattr(totals, name), negative=True)
             for name in ("total_ht", "total_ttc") if getattr(totals, name)}
    if any(wrong.values()):
        raise InvalidArgument({name: why for name, why in wrong.items() if why})
    next_version = quote.version + 1 if quote.version == 0 or quote.unsent_changes else quote.version
    values = {
        "quote_number": quote.number, "quote_title": quote.title, "quote_version": str(next_version),
        "quote_total_ht": money(totals.total_ht, totals.currency),
        "quote_total_ttc": money(totals.total_ttc, totals.currency),
        "quote_valid_until": long_date(quote.valid_until),
    }
    return {name: value for name, value in values.items() if value}


def preview_email(tenant: str, template: str, variables: dict[str, str], uow: NotifierUnitOfWork,
                  renderer: TemplateRenderer, *, quote_id: str = "", subject: str = "", body: str = "",
                  draft: TemplateContent | None = None, fill_samples: bool = False, quote=None) -> Preview:
    """Renders ``template`` (or ``draft``) with the quote's last sent data, then what ``quote`` (a ``Quote``
    message, for a quote never sent) has, overridden by ``variables``. Without a link yet, the email shows
    where the personal link will go; without a company name, the tenant's last one.

    ``variables`` may also carry ``subject`` and ``body`` (the edited email), as the request's fields do.
    """
    template = _id(template, "template")
    free = dict(variables)
    subject = subject or free.pop("subject", "")
    body = body or free.pop("body", "")
    if has_line_break(subject):  # as quotes refuses it in SendQuote: a header is one line
        raise InvalidArgument({"subject": "must be a single line"})
    quote_id = quote_id.strip() or (quote.id if quote is not None else "")
    if quote_id:
        quote_id = _id(quote_id, "quote_id")
    with uow:
        found = _in_use(uow, tenant, template)
        known = uow.sent_quotes.variables(tenant, quote_id) if quote_id else None
        company = uow.sent_quotes.company_name(tenant) if not (known or {}).get("company_name") else ""
    if found is None:
        raise NotFound(f"no template {template!r}")
    content, version, base = found
    if draft is not None and any((draft.subject, draft.text, draft.html, draft.sms)):
        content, version = _normalized(draft), -1
    values: dict = {"company_name": company} if company else {}
    values.update(known or {})
    if quote is not None:
        values.update(draft_variables(quote))
    values.update(free)
    for flag in ("signature_requested", "pdf_attached"):  # a flag not given is false, never "missing"
        values[flag] = str(free[flag]).strip().lower() in _TRUE if flag in free else bool(values.get(flag))
    used = renderer.used_variables(content)
    if not values.get("link_url") and not fill_samples:
        values["link_url"] = LINK_PLACEHOLDER  # made when the quote is sent: nothing to ask the caller for
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
    user_id = _id(user_id, "user_id")
    with uow:
        return uow.preferences.get(tenant, user_id)


def set_preferences(tenant: str, prefs: Preferences, uow: NotifierUnitOfWork, clock) -> Preferences:
    prefs = replace(prefs, user_id=_id(prefs.user_id, "user_id"))
    with uow:
        uow.preferences.save(tenant, prefs, clock.now())
        uow.commit()
    return prefs


def list_deliveries(tenant: str, quote_id: str, uow: NotifierUnitOfWork) -> list[Delivery]:
    quote_id = _id(quote_id, "quote_id")
    with uow:
        return uow.deliveries.for_quote(tenant, quote_id)
