"""The notifier's rules in pure Python: preferences, deliveries, retries, the digests, templates' specs."""
from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from quoteflow import addresses
from quoteflow.ids import LINE_BREAKS

EMAIL = "email"
SMS = "sms"

QUEUED = "queued"
SENT = "sent"
FAILED = "failed"

VIEW = "view"
DOWNLOAD = "download"

MESSAGE = "message"  # a delivery's payload is what goes out: RFC 5322 bytes, or the SMS text
DRAFT = "draft"      # a delivery's payload is an email draft (JSON), made into a message when sent

_CONTROL = re.compile(r"[\x00-\x08\x0e-\x1f\x7f]")


def clean_header(value: str, limit: int = 300) -> str:
    """A header value made harmless: line breaks become spaces, control characters go."""
    text = _CONTROL.sub("", LINE_BREAKS.sub(" ", value or "")).strip()
    return text[:limit]


def valid_email(address: str) -> bool:
    """The address rule quotes checks input with (quoteflow.addresses): one @, an ASCII dot-atom before it."""
    return addresses.valid_email(address)


def msisdn(phone: str) -> str:
    """A phone number as Vonage wants it (E.164 digits, no '+'); '' when it is not one.

    The rule quotes checks input with (quoteflow.addresses), applied at send time so numbers stored
    before it was checked still go out: '+33 (0)6 12 34 56 78', '0033612345678' and '06 12 34 56 78' all
    give '33612345678'; the Martinique mobile '0696 12 34 56' gives '596696123456'.
    """
    try:
        return addresses.e164(phone)[1:]
    except addresses.AddressError:
        return ""


@dataclass(frozen=True)
class Preferences:
    """What a salesperson wants to hear about; email on, SMS off until they change it."""

    user_id: str
    on_view_email: bool = True
    on_view_sms: bool = False
    on_download_email: bool = True
    on_download_sms: bool = False

    def channels_for(self, action: str) -> list[str]:
        if action == VIEW:
            wanted = ((EMAIL, self.on_view_email), (SMS, self.on_view_sms))
        elif action == DOWNLOAD:
            wanted = ((EMAIL, self.on_download_email), (SMS, self.on_download_sms))
        else:
            raise ValueError(f"unknown action {action!r}")
        return [channel for channel, on in wanted if on]


@dataclass
class Delivery:
    """One message to one recipient on one channel, caused by one event."""

    id: str
    tenant: str
    event_id: str
    channel: str
    recipient: str
    template: str
    quote_id: str
    subject: str
    payload: bytes
    created_at: datetime
    status: str = QUEUED
    error: str = ""
    attempts: int = 0
    sent_at: datetime | None = None
    next_attempt_at: datetime | None = None
    last_attempt_at: datetime | None = None
    correlation_id: str = ""
    expires_at: datetime | None = None   # not worth sending after this (a one-time code)
    sensitive: bool = False              # payload wiped once the delivery is over (a one-time code)
    traceparent: str = ""                # the trace of the event that caused it: the send joins it
    payload_format: str = MESSAGE        # MESSAGE or DRAFT

    @property
    def final(self) -> bool:
        return self.status in (SENT, FAILED)

    def finished(self) -> "Delivery":
        """What is kept once it is over: a sensitive payload is wiped."""
        return replace(self, payload=b"") if self.sensitive and self.final else self


@dataclass(frozen=True)
class RetryPolicy:
    """Bounded retries of transient failures with a doubling pause."""

    max_attempts: int = 5
    base_seconds: float = 2.0
    cap_seconds: float = 300.0

    def after_failure(self, delivery: Delivery, error: str, transient: bool, now: datetime) -> Delivery:
        """The delivery after a failed attempt (``attempts`` already counts it)."""
        if transient and delivery.attempts < self.max_attempts:
            pause = min(self.base_seconds * (2 ** (delivery.attempts - 1)), self.cap_seconds)
            return replace(delivery, status=QUEUED, error=error[:1000],
                           next_attempt_at=now + timedelta(seconds=pause))
        return replace(delivery, status=FAILED, error=error[:1000], next_attempt_at=None)


# --- views and downloads: the first one at once, the next ones in a digest -------------------------

@dataclass(frozen=True)
class Visit:
    """One view or download of a quote gathered for the digest."""

    event_id: str
    viewer_email: str
    ip: str
    user_agent: str
    at: str  # RFC 3339


@dataclass
class DigestWindow:
    """Per quote and action (VIEW, DOWNLOAD): after one was notified at once, the next ones until
    ``closes_at`` wait for one digest."""

    tenant: str
    quote_id: str
    action: str = VIEW
    closes_at: datetime | None = None
    pending: list[Visit] = field(default_factory=list)

    def open_at(self, now: datetime) -> bool:
        return self.closes_at is not None and now < self.closes_at

    def on_action(self, visit: Visit, now: datetime, window: timedelta) -> bool:
        """Records a visit; True when it is to be notified at once (and a new window opens)."""
        if window <= timedelta(0):
            return True
        if self.open_at(now):
            self.pending.append(visit)
            return False
        self.closes_at = now + window
        self.pending = []
        return True

    def due(self, now: datetime) -> bool:
        return bool(self.pending) and self.closes_at is not None and now >= self.closes_at

    def take(self) -> list[Visit]:
        visits, self.pending = self.pending, []
        return visits


@dataclass(frozen=True)
class Closure:
    """A quote signed or declined: no more view / download notices for that version or an older one."""

    quote_id: str
    version: int
    outcome: str  # signed, declined

    def silences(self, version: int) -> bool:
        return version <= self.version


# --- templates ------------------------------------------------------------------------------------

DOCUMENT_VARIABLES = (
    "quote_number", "quote_title", "quote_version", "quote_total_ht", "quote_total_ttc", "quote_valid_until",
    "company_name", "account_name", "recipient_name", "recipient_email", "assignee_name", "assignee_email",
    "assignee_phone", "link_url", "signature_requested", "pdf_attached",
)
_QUOTE_CONTEXT = ("quote_number", "quote_version", "quote_title", "quote_total_ttc", "company_name",
                  "account_name", "recipient_name", "assignee_name", "assignee_email", "assignee_phone")
ACTION_VARIABLES = _QUOTE_CONTEXT + ("viewer_name", "viewer_email", "ip", "browser", "user_agent", "date", "time")
_GATHERED = ("first_date", "first_time", "last_date", "last_time")
DIGEST_VARIABLES = _QUOTE_CONTEXT + ("views", "view_count") + _GATHERED
DOWNLOAD_DIGEST_VARIABLES = _QUOTE_CONTEXT + ("downloads", "download_count") + _GATHERED
CODE_VARIABLES = ("code", "code_expires_time", "code_valid_minutes", "quote_number", "recipient_name",
                  "company_name", "assignee_name")
SIGNED_VARIABLES = _QUOTE_CONTEXT + ("signer_name", "signer_email", "date", "time", "ip", "amount", "attachments")
DECLINED_VARIABLES = _QUOTE_CONTEXT + ("signer_name", "signer_email", "date", "time", "ip", "reason")


@dataclass(frozen=True)
class TemplateSpec:
    """What a built-in template is for, which variables it may use and which it must keep."""

    name: str
    title: str
    description: str
    variables: tuple[str, ...]
    required: tuple[str, ...] = ()
    has_sms: bool = False
    selectable: bool = False  # a salesperson chooses it when sending; tenants may add more of its kind


TEMPLATE_SPECS: dict[str, TemplateSpec] = {spec.name: spec for spec in (
    TemplateSpec("quote_send", "Envoi du devis", "Premier envoi du devis au client, avec le lien « Accéder au "
                 "document ».", DOCUMENT_VARIABLES, required=("link_url",), selectable=True),
    TemplateSpec("quote_relance", "Relance du devis", "Relance par email après un premier envoi (« Relancer "
                 "par email »).", DOCUMENT_VARIABLES, required=("link_url",), selectable=True),
    TemplateSpec("quote_signature_request", "Envoi avec demande de signature électronique",
                 "Envoi du devis quand une signature électronique est demandée.", DOCUMENT_VARIABLES,
                 required=("link_url",), selectable=True),
    TemplateSpec("signature_code", "Code de vérification", "Code à usage unique envoyé au signataire avant la "
                 "signature, par email ou par SMS.", CODE_VARIABLES, required=("code",), has_sms=True),
    TemplateSpec("quote_viewed", "Notification : devis consulté", "Au commercial assigné, quand le devis en "
                 "ligne est consulté (« Quand devis en ligne vu »).", ACTION_VARIABLES, has_sms=True),
    TemplateSpec("quote_viewed_digest", "Notification : résumé des consultations", "Au commercial assigné : "
                 "les consultations suivantes, regroupées sur la fenêtre de regroupement.", DIGEST_VARIABLES,
                 has_sms=True),
    TemplateSpec("quote_downloaded", "Notification : devis téléchargé", "Au commercial assigné, quand le PDF "
                 "est téléchargé (« Quand devis en ligne téléchargé »).", ACTION_VARIABLES, has_sms=True),
    TemplateSpec("quote_downloaded_digest", "Notification : résumé des téléchargements", "Au commercial "
                 "assigné : les téléchargements suivants, regroupés sur la fenêtre de regroupement.",
                 DOWNLOAD_DIGEST_VARIABLES, has_sms=True),
    TemplateSpec("signature_confirmation", "Confirmation de signature", "Au commercial assigné, quand le devis "
                 "est signé électroniquement (statut « Accepté »), avec les preuves en pièces jointes (le PDF "
                 "signé et le dossier de preuve).", SIGNED_VARIABLES),
    TemplateSpec("signed_copy", "Copie du devis signé", "Au signataire, avec le PDF signé en pièce jointe.",
                 SIGNED_VARIABLES),
    TemplateSpec("signature_declined", "Refus de signature", "Au commercial assigné, quand le client refuse de "
                 "signer, avec son motif.", DECLINED_VARIABLES),
)}

SELECTABLE = tuple(name for name, spec in TEMPLATE_SPECS.items() if spec.selectable)
_CUSTOM_NAME = re.compile(r"^[a-z0-9][a-z0-9_\-]{1,63}$")


def valid_custom_name(name: str) -> bool:
    return bool(_CUSTOM_NAME.match(name or "")) and name not in TEMPLATE_SPECS


@dataclass(frozen=True)
class TemplateContent:
    subject: str
    text: str
    html: str
    sms: str = ""


@dataclass(frozen=True)
class TemplateVersion:
    """One saved version of a tenant's template (version 0 is the built-in default, never stored)."""

    tenant: str
    name: str
    base: str
    version: int
    content: TemplateContent
    saved_at: datetime | None = None
    saved_by: str = ""
