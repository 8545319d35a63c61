"""Signature requests and their rules. Pure Python: no database, broker, gRPC or PDF import."""
from __future__ import annotations

import hashlib
import hmac
import re
import unicodedata
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation

from babel.numbers import format_currency

from quoteflow.errors import FailedPrecondition, InvalidArgument, ResourceExhausted
from services.signature.domain import evidence
from services.signature.domain.evidence import Entry

OPEN = "open"
SIGNED = "signed"
SUPERSEDED = "superseded"
DECLINED = "declined"

OTP_CHANNELS = ("email", "sms")

MAX_NAME = 200
MAX_REASON = 2000
CODE_DIGITS = 6


class CodeThrottled(ResourceExhausted):
    """A new code was asked too soon after the previous one; the message says how long to wait.

    RESOURCE_EXHAUSTED over gRPC: what the portal shows as "try again shortly".
    """


@dataclass(frozen=True)
class Party:
    id: str = ""
    name: str = ""
    email: str = ""
    phone: str = ""

    def as_dict(self) -> dict:
        return {"id": self.id, "name": self.name, "email": self.email, "phone": self.phone}


@dataclass(frozen=True)
class CodePolicy:
    """How one-time codes behave (from configuration)."""

    ttl: timedelta = timedelta(minutes=10)
    max_attempts: int = 5            # wrong or right, per code; then the code is dead
    resend_interval: timedelta = timedelta(seconds=30)
    max_codes: int = 5               # per signature request


def format_amount(amount: str, currency: str = "EUR") -> str:
    try:
        value = Decimal(amount or "0")
    except InvalidOperation:
        raise InvalidArgument({"total_ttc": f"{amount!r} is not an amount"}) from None
    return format_currency(value, currency or "EUR", locale="fr_FR")


def consent_text(number: str, total_ttc: str, currency: str = "EUR") -> str:
    return (f"En signant, j'accepte le devis n° {number} d'un montant de "
            f"{format_amount(total_ttc, currency)} TTC.")


def _has_control(text: str, allowed: str = "") -> bool:
    return any(unicodedata.category(c) in ("Cc", "Cf") and c not in allowed for c in text)


def clean_signer_name(value: str) -> str:
    name = unicodedata.normalize("NFC", " ".join((value or "").split()))
    if not name:
        raise InvalidArgument({"signer_name": "is required: type your full name to sign"})
    if len(name) > MAX_NAME:
        raise InvalidArgument({"signer_name": f"at most {MAX_NAME} characters"})
    if _has_control(name):
        raise InvalidArgument({"signer_name": "contains control characters"})
    return name


def clean_reason(value: str) -> str:
    """A decline reason: required, at most MAX_REASON characters, line breaks kept, no other control."""
    text = unicodedata.normalize("NFC", (value or "").replace("\r\n", "\n").replace("\r", "\n"))
    text = "\n".join(line.rstrip() for line in text.strip().split("\n"))
    if not text:
        raise InvalidArgument({"reason": "is required: say why you decline the quote"})
    if len(text) > MAX_REASON:
        raise InvalidArgument({"reason": f"at most {MAX_REASON} characters"})
    if _has_control(text, allowed="\n\t"):
        raise InvalidArgument({"reason": "contains control characters"})
    return text


def mask_email(email: str) -> str:
    local, _, domain = (email or "").partition("@")
    if not domain:
        return "***"
    return f"{local[:1]}***@{domain}"


def mask_phone(phone: str) -> str:
    digits = re.sub(r"[^\d+]", "", phone or "")
    if re.fullmatch(r"\+33\d{9}", digits):
        return f"+33 {digits[3]} ** ** ** {digits[-2:]}"
    if len(digits) < 5:
        return "***"
    return f"{digits[:3]}{'*' * (len(digits) - 5)}{digits[-2:]}"


def code_sha256(code: str, salt: str) -> str:
    return hashlib.sha256(f"{salt}:{code}".encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class SealDetails:
    """What the signature page of a sealed PDF shows."""

    signer_name: str
    signer_email: str
    signed_at: datetime
    reference: str
    number: str = ""
    version: int = 0
    document_sha256: str = ""
    consent_text: str = ""
    signature_png: bytes | None = None   # the drawn signature, when there is one


@dataclass
class OneTimeCode:
    """A code sent to the signer; only its salted hash is kept."""

    seq: int
    channel: str
    recipient: str
    salt: str
    code_sha256: str
    issued_at: datetime
    expires_at: datetime
    attempts: int = 0

    def matches(self, code: str) -> bool:
        return hmac.compare_digest(code_sha256(code, self.salt), self.code_sha256)


@dataclass(frozen=True)
class CodeAttempt:
    """One use of an attempt: ``code.attempts`` was ``attempts_before`` and is now one more."""

    code: OneTimeCode
    attempts_before: int
    ok: bool
    attempts_left: int


@dataclass
class Signature:
    """What a signer did: kept on the request once it is signed."""

    signer_name: str
    signer_email: str
    signer_contact_id: str
    signed_at: datetime
    ip: str
    user_agent: str
    consent_text: str
    signed_pdf_sha256: str
    proof_sha256: str = ""            # the sealed proof PDF ("Dossier de preuve")
    proof_json_sha256: str = ""       # the same proof as JSON
    signature_png_sha256: str = ""    # the drawn signature, when there is one


@dataclass
class Decline:
    """What a signer who declined said: kept on the request once it is declined."""

    signer_name: str
    signer_email: str
    reason: str
    declined_at: datetime
    ip: str
    user_agent: str


@dataclass
class SignatureRequest:
    id: str
    tenant: str
    quote_id: str
    number: str
    version: int
    document_sha256: str
    signer: Party
    assignee: Party
    amount_ttc: str
    currency: str
    consent_text: str
    status: str
    created_at: datetime
    evidence: list[Entry] = field(default_factory=list)
    signature: Signature | None = None
    expires_at: datetime | None = None
    otp_channel: str = ""             # "" (no code), "email" or "sms"
    codes: list[OneTimeCode] = field(default_factory=list)
    declined: Decline | None = None

    @classmethod
    def open(cls, *, id: str, tenant: str, quote_id: str, number: str, version: int, document_sha256: str,
             signer: Party, assignee: Party, amount_ttc: str, currency: str, at: datetime,
             event_id: str = "", superseded: bool = False, expires_at: datetime | None = None,
             otp_channel: str = "") -> "SignatureRequest":
        if otp_channel not in ("", *OTP_CHANNELS):
            raise InvalidArgument({"signature_otp": f"{otp_channel!r} is not '', 'email' or 'sms'"})
        request = cls(id=id, tenant=tenant, quote_id=quote_id, number=number, version=version,
                      document_sha256=document_sha256, signer=signer, assignee=assignee,
                      amount_ttc=amount_ttc, currency=currency or "EUR",
                      consent_text=consent_text(number, amount_ttc, currency),
                      status=SUPERSEDED if superseded else OPEN, created_at=at, expires_at=expires_at,
                      otp_channel=otp_channel)
        data = {
            "request_id": id, "quote_id": quote_id, "number": number, "version": version,
            "document_sha256": document_sha256, "signer": signer.as_dict(), "amount_ttc": amount_ttc,
            "currency": request.currency, "consent_text": request.consent_text, "event_id": event_id,
        }
        # Only present when set, so that chains written before these existed hash the same way.
        if expires_at is not None:
            data["expires_at"] = evidence.timestamp(expires_at)
        if otp_channel:
            data["otp_channel"] = otp_channel
        evidence.append(request.evidence, step="sent", at=at, data=data)
        return request

    @property
    def evidence_sha256(self) -> str:
        return evidence.head(self.evidence)

    @property
    def current_code(self) -> OneTimeCode | None:
        return self.codes[-1] if self.codes else None

    # rules ---------------------------------------------------------------
    def check_open(self, now: datetime) -> None:
        """Raises unless the signer may still act on this request (sign, decline, ask for a code)."""
        if self.status == SUPERSEDED:
            raise FailedPrecondition("a newer version of this quote was sent: sign the latest version")
        if self.status == DECLINED:
            raise FailedPrecondition("this quote was declined: it can no longer be signed")
        if self.status == SIGNED:
            raise FailedPrecondition("this quote is already signed")
        if self.status != OPEN:
            raise FailedPrecondition(f"this signature request is {self.status}")
        if self.expires_at is not None and now >= self.expires_at:
            raise FailedPrecondition(
                f"this quote expired on {evidence.timestamp(self.expires_at)}: it can no longer be signed")

    def check_can_sign(self, document_sha256: str, now: datetime | None = None) -> None:
        if now is None:
            now = self.created_at
        self.check_open(now)
        if document_sha256 != self.document_sha256:
            raise FailedPrecondition("the document shown is not the one sent for signature (SHA-256 differs)")

    def supersede(self, at: datetime, by_version: int) -> list[Entry]:
        if self.status != OPEN:
            return []
        self.status = SUPERSEDED
        entry = evidence.append(self.evidence, step="superseded", at=at, data={"by_version": by_version})
        return [entry]

    # the signer's steps ----------------------------------------------------
    def record_opened(self, *, at: datetime, ip: str, user_agent: str, window: timedelta) -> list[Entry]:
        """An "opened" entry, unless the same client opened it within ``window`` or it is closed."""
        if self.status != OPEN:
            return []
        stamp_from = evidence.timestamp(at - window)
        for entry in reversed(self.evidence):
            if entry.at < stamp_from:
                break
            if entry.step == "opened" and entry.ip == (ip or "") and entry.user_agent == (user_agent or ""):
                return []
        return [evidence.append(self.evidence, step="opened", at=at, ip=ip, user_agent=user_agent,
                                data={"version": self.version, "document_sha256": self.document_sha256})]

    def code_recipient(self) -> tuple[str, str]:
        """(channel, recipient) a code goes to: SMS needs a phone number, else it falls back to email."""
        if self.otp_channel == "sms" and self.signer.phone.strip():
            return "sms", self.signer.phone.strip()
        if self.signer.email.strip():
            return "email", self.signer.email.strip()
        raise FailedPrecondition("the signer has neither a mobile number nor an email address for the code")

    def issue_code(self, *, code: str, salt: str, at: datetime, policy: CodePolicy, ip: str = "",
                   user_agent: str = "") -> tuple[OneTimeCode, list[Entry]]:
        if not self.otp_channel:
            raise FailedPrecondition("no one-time code is needed to sign this quote")
        self.check_open(at)
        if len(self.codes) >= policy.max_codes:
            raise FailedPrecondition(
                f"{policy.max_codes} codes were already sent for this quote: contact your sales contact")
        last = self.current_code
        if last is not None and at < last.issued_at + policy.resend_interval:
            wait = int((last.issued_at + policy.resend_interval - at).total_seconds()) + 1
            raise CodeThrottled(f"a code was just sent: wait {wait} s before asking for another one")
        channel, recipient = self.code_recipient()
        issued = OneTimeCode(seq=len(self.codes) + 1, channel=channel, recipient=recipient, salt=salt,
                             code_sha256=code_sha256(code, salt), issued_at=at, expires_at=at + policy.ttl)
        self.codes.append(issued)
        entry = evidence.append(self.evidence, step="code_sent", at=at, ip=ip, user_agent=user_agent, data={
            "code_seq": issued.seq, "channel": channel, "recipient": recipient,
            "expires_at": evidence.timestamp(issued.expires_at)})
        return issued, [entry]

    def try_code(self, code: str, *, at: datetime, policy: CodePolicy) -> CodeAttempt | None:
        """Uses one attempt of the current code (None when no code is needed).

        A malformed or missing code uses no attempt; an expired or dead code is refused.
        """
        if not self.otp_channel:
            return None
        code = (code or "").strip()
        current = self.current_code
        if current is None:
            raise FailedPrecondition("a one-time code is required: ask for a code first")
        if not code:
            raise InvalidArgument({"otp_code": "is required: type the code you received"})
        if not (len(code) == CODE_DIGITS and code.isascii() and code.isdigit()):
            raise InvalidArgument({"otp_code": f"the code has {CODE_DIGITS} digits"})
        if at >= current.expires_at:
            raise FailedPrecondition("the one-time code expired: ask for a new code")
        if current.attempts >= policy.max_attempts:
            raise FailedPrecondition("too many wrong codes: ask for a new code")
        before = current.attempts
        current.attempts += 1
        return CodeAttempt(code=current, attempts_before=before, ok=current.matches(code),
                           attempts_left=policy.max_attempts - current.attempts)

    def sign(self, *, at: datetime, signer_name: str, signer_email: str, ip: str, user_agent: str,
             shown_consent_text: str, signed_pdf_sha256: str, signature_png_sha256: str = "",
             verified_code: OneTimeCode | None = None) -> list[Entry]:
        """Records the verified code (if any), consent and signature; returns the new evidence entries."""
        self.check_open(at)
        if self.otp_channel and verified_code is None:
            raise FailedPrecondition("a one-time code is required to sign this quote")
        name = clean_signer_name(signer_name)
        email = (signer_email or self.signer.email).strip()
        contact_id = self.signer.id if email.lower() == self.signer.email.lower() else ""
        text = (shown_consent_text or "").strip() or self.consent_text
        identity = {"signer_name": name, "signer_email": email, "signer_contact_id": contact_id,
                    "document_sha256": self.document_sha256}
        entries = []
        if verified_code is not None:
            entries.append(evidence.append(self.evidence, step="code_verified", at=at, ip=ip,
                                           user_agent=user_agent, data={
                "code_seq": verified_code.seq, "channel": verified_code.channel,
                "recipient": verified_code.recipient, "attempts": verified_code.attempts}))
        entries.append(evidence.append(self.evidence, step="consented", at=at, ip=ip, user_agent=user_agent, data={
            **identity, "consent_text": text, "consent_sha256": evidence.sha256_text(text)}))
        signed = {**identity, "request_id": self.id, "quote_id": self.quote_id, "version": self.version,
                  "signed_pdf_sha256": signed_pdf_sha256}
        if signature_png_sha256:
            signed["signature_png_sha256"] = signature_png_sha256
        entries.append(evidence.append(self.evidence, step="signed", at=at, ip=ip, user_agent=user_agent,
                                       data=signed))
        self.status = SIGNED
        self.signature = Signature(signer_name=name, signer_email=email, signer_contact_id=contact_id,
                                   signed_at=at, ip=ip, user_agent=user_agent, consent_text=text,
                                   signed_pdf_sha256=signed_pdf_sha256, signature_png_sha256=signature_png_sha256)
        return entries

    def decline(self, *, at: datetime, reason: str, signer_name: str = "", signer_email: str = "",
                ip: str = "", user_agent: str = "") -> list[Entry]:
        """Records the refusal with its reason; a repeat changes nothing and returns no entry."""
        if self.status == DECLINED:
            return []
        if self.status == SIGNED:
            raise FailedPrecondition("this quote is already signed: it can no longer be declined")
        self.check_open(at)
        text = clean_reason(reason)
        name = clean_signer_name(signer_name) if (signer_name or "").strip() else self.signer.name
        email = (signer_email or self.signer.email).strip()
        contact_id = self.signer.id if email.lower() == self.signer.email.lower() else ""
        entry = evidence.append(self.evidence, step="declined", at=at, ip=ip, user_agent=user_agent, data={
            "request_id": self.id, "quote_id": self.quote_id, "version": self.version,
            "document_sha256": self.document_sha256, "signer_name": name, "signer_email": email,
            "signer_contact_id": contact_id, "reason": text, "reason_sha256": evidence.sha256_text(text)})
        self.status = DECLINED
        self.declined = Decline(signer_name=name, signer_email=email, reason=text, declined_at=at, ip=ip,
                                user_agent=user_agent)
        return [entry]

    # the proof -----------------------------------------------------------
    def proof(self, *, certificate_sha256: str = "") -> dict:
        """The proof file's content: everything needed to check this signature without us."""
        s = self.signature
        if s is None:
            raise FailedPrecondition("this request is not signed")
        document = {"sha256": self.document_sha256, "signed_pdf_sha256": s.signed_pdf_sha256,
                    "seal_certificate_sha256": certificate_sha256}
        if s.signature_png_sha256:
            document["signature_png_sha256"] = s.signature_png_sha256
        return {
            "format": "quoteflow-signature-proof/1",
            "request": {"id": self.id, "tenant": self.tenant, "quote_id": self.quote_id, "number": self.number,
                        "version": self.version, "amount_ttc": self.amount_ttc, "currency": self.currency,
                        "expires_at": evidence.timestamp(self.expires_at) if self.expires_at else "",
                        "one_time_code": self.otp_channel},
            "signer": {"name": s.signer_name, "email": s.signer_email, "contact_id": s.signer_contact_id,
                       "ip": s.ip, "user_agent": s.user_agent, "signed_at": evidence.timestamp(s.signed_at)},
            "document": document,
            "consent": {"text": s.consent_text, "sha256": evidence.sha256_text(s.consent_text)},
            "evidence": [entry.as_dict() for entry in self.evidence],
            "evidence_sha256": self.evidence_sha256,
            "verification": VERIFICATION_STEPS,
        }


VERIFICATION_STEPS = [
    "1. Le SHA-256 du PDF du devis envoyé doit être égal à document.sha256 ; ce PDF est aussi la première "
    "révision du PDF signé.",
    "2. Chaque entrée de evidence a pour sha256 le SHA-256 du JSON canonique (clés triées, sans espaces, "
    "UTF-8) de {seq, at, step, ip, user_agent, data, prev_sha256} ; la première a prev_sha256 = "
    f"{evidence.GENESIS}, chaque suivante celui de la précédente ; la dernière est evidence_sha256.",
    "3. Le SHA-256 de consent.text doit être égal à consent.sha256.",
    "4. Le PDF signé (SHA-256 = document.signed_pdf_sha256) porte un sceau PAdES : toute modification après "
    "scellement est signalée par « python -m services.signature verify FICHIER.pdf », par un lecteur PDF "
    "ou par tout validateur PAdES (par exemple « pyhanko sign validate --trust seal-cert.pem FICHIER.pdf »).",
    "5. Le dossier de preuve PDF est scellé de la même façon et se vérifie avec les mêmes outils.",
]
