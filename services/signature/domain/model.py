"""Signature requests and their rules. Pure Python: no database, broker, gRPC or PDF import."""
from __future__ import annotations

import hashlib
import hmac
import math
import re
import unicodedata
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from babel.numbers import format_currency

from quoteflow import validity
from quoteflow.decimals import read_decimal
from quoteflow.errors import DataLoss, DomainError, FailedPrecondition, InvalidArgument, ResourceExhausted
from services.signature.domain import evidence, purchase
from services.signature.domain.evidence import Entry

OPEN = "open"
SIGNED = "signed"
SUPERSEDED = "superseded"
DECLINED = "declined"
WITHDRAWN = "withdrawn"    # the salesperson withdrew the quote (quote.withdrawn)

OTP_CHANNELS = ("email", "sms")

# Evidence steps: the first send that opened a request, and each later send of the same version to it (a
# relance, from the CRM's « Relancer par email »), so one chain tells the whole story of a version's signature.
SENT = "sent"
SENT_AGAIN = "sent_again"
OPENED = "opened"
CODE_SENT = "code_sent"
CODE_VERIFIED = "code_verified"
CONSENTED = "consented"
SIGNED_STEP = "signed"
DECLINED_STEP = "declined"
SUPERSEDED_STEP = "superseded"
WITHDRAWN_STEP = "withdrawn"
# Every step this model writes into a chain, in the order a story may tell them (the proof PDF has a label for
# each: adapters/documents.py STEP_LABELS; a test reads this module to keep the list whole).
STEPS = (SENT, SENT_AGAIN, OPENED, CODE_SENT, CODE_VERIFIED, CONSENTED, SIGNED_STEP, DECLINED_STEP,
         SUPERSEDED_STEP, WITHDRAWN_STEP)

MAX_NAME = 200
MAX_REASON = 2000
CODE_DIGITS = 6

# Why a code or a request refuses, for programs (DomainError.reason, sent as google.rpc.ErrorInfo; the list is
# in proto/quoteflow/v1/signature.proto). The texts are for people and may change; these may not.
CODE_WRONG = "CODE_WRONG"                      # info: attempts_left, codes_left
CODE_EXPIRED = "CODE_EXPIRED"                  # info: codes_left
CODE_LOCKED = "CODE_LOCKED"                    # too many attempts on this code; info: codes_left
CODE_NOT_SENT = "CODE_NOT_SENT"                # no code issued for this request yet; info: codes_left
CODE_MALFORMED = "CODE_MALFORMED"              # info: digits
CODES_USED_UP = "CODES_USED_UP"                # no more codes for this request; info: max_codes
CODE_RESEND_TOO_SOON = "CODE_RESEND_TOO_SOON"  # info: retry_after_seconds
REQUEST_SIGNED = "REQUEST_SIGNED"
REQUEST_DECLINED = "REQUEST_DECLINED"
REQUEST_SUPERSEDED = "REQUEST_SUPERSEDED"
REQUEST_EXPIRED = "REQUEST_EXPIRED"
REQUEST_WITHDRAWN = "REQUEST_WITHDRAWN"
EVIDENCE_TAMPERED = "EVIDENCE_TAMPERED"        # info: request_id

# What is kept of a code: HMAC-SHA256 of "salt:code" under the service's code key; the salt is marked so.
# Codes issued before the key existed were kept as SHA-256 of "salt:code" (salt unmarked): they are checked
# that way while they last (ttl, 10 minutes by default) and are worthless once expired.
KEYED_SALT = "hmac:"


class EvidenceTampered(DataLoss):
    """The request's evidence log, as stored, breaks its hash chain or does not end with the head its row records:
    someone changed the database. Nothing is signed, sealed or served from it.

    Not a refusal the caller can do anything about: DATA_LOSS over gRPC (quoteflow/grpcserver.py), with the
    reason EVIDENCE_TAMPERED.
    """

    reason = EVIDENCE_TAMPERED


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
    max_codes: int = 5               # per send asking for a signature: a relance gives the signer a fresh budget
    key: bytes = field(default=b"", repr=False)   # the HMAC key codes are kept under (a server secret)


def format_amount(amount: str, currency: str = "EUR") -> str:
    value = read_decimal(amount or "0", "total_ttc", negative=True)
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


def check_document_sha256(value: str) -> None:
    """The SHA-256 of the PDF the signer was shown must be sent, as 64 hexadecimal digits."""
    if not value:
        raise InvalidArgument({"document_sha256": "is required: the SHA-256 of the PDF the signer was shown"})
    if not re.fullmatch(r"[0-9a-fA-F]{64}", value):
        raise InvalidArgument({"document_sha256": "is not a SHA-256: 64 hexadecimal digits"})


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


def same_email(a: str, b: str) -> bool:
    return (a or "").strip().lower() == (b or "").strip().lower()


def code_digest(code: str, salt: str, key: bytes) -> str:
    """What is kept of ``code``: keyed (HMAC) for a marked salt, else the SHA-256 of codes issued before."""
    message = f"{salt}:{code}".encode("utf-8")
    if not salt.startswith(KEYED_SALT):
        return hashlib.sha256(message).hexdigest()
    if not key:
        raise ValueError("no key to keep one-time codes under (CodePolicy.key)")
    return hmac.new(key, message, hashlib.sha256).hexdigest()


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
    level: str = ""                      # the PAdES level the seal reaches (SEAL_LEVELS), known before sealing


# The PAdES baseline levels (ETSI EN 319 142-1) a seal reaches, as the proof and the certificate page say them:
# B-T adds a timestamp authority's date, B-LT the validation data (chain, OCSP, CRL) that keeps the seal checkable
# once the certificate has expired, B-LTA a document timestamp over all of it, renewed before it ages out.
SEAL_LEVELS = {
    "B-B": "signature seule, datée par l'horloge du serveur",
    "B-T": "signature horodatée par une autorité d'horodatage",
    "B-LT": "signature horodatée, données de validation intégrées",
    "B-LTA": "données de validation et horodatage d'archive intégrés",
}


def seal_level_text(level: str) -> str:
    """« PAdES B-LTA (données de validation et horodatage d'archive intégrés) »; "" for an unknown level."""
    return f"PAdES {level} ({SEAL_LEVELS[level]})" if level in SEAL_LEVELS else ""


def pades_level(*, timestamped: bool, validation_data: bool, archive_timestamps: int) -> str:
    """The level a seal reaches: B-LT needs B-T (a timestamp), B-LTA needs B-LT and a document timestamp."""
    if not timestamped:
        return "B-B"
    if not validation_data:
        return "B-T"
    return "B-LTA" if archive_timestamps else "B-LT"


@dataclass
class OneTimeCode:
    """A code sent to the signer; only its keyed hash is kept (see ``code_digest``)."""

    seq: int
    channel: str
    recipient: str
    salt: str
    code_sha256: str
    issued_at: datetime
    expires_at: datetime
    attempts: int = 0

    def matches(self, code: str, key: bytes) -> bool:
        return hmac.compare_digest(code_digest(code, self.salt, key), self.code_sha256)


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
    # The head of the chain as the request's row records it (None: a request not read from storage).
    recorded_head: str | None = None
    # What was bought (domain/purchase.py), its SHA-256 in the first entry; None: opened before lines were chained.
    lines: dict | None = None

    @classmethod
    def open(cls, *, id: str, tenant: str, quote_id: str, number: str, version: int, document_sha256: str,
             signer: Party, assignee: Party, amount_ttc: str, currency: str, at: datetime,
             event_id: str = "", superseded: bool = False, expires_at: datetime | None = None,
             otp_channel: str = "", sent_at: datetime | None = None,
             lines: dict | None = None) -> "SignatureRequest":
        """A new request; its chain starts with a "sent" entry dated ``at`` (when this service took the send in).

        ``sent_at``, when known, is when the CRM sent the quote (the quote.sent event's time), kept as data.
        ``lines``, the frozen lines and totals sent, enter the chain as their SHA-256 (purchase.CHAIN_KEY).
        """
        if otp_channel not in ("", *OTP_CHANNELS):
            raise InvalidArgument({"signature_otp": f"{otp_channel!r} is not '', 'email' or 'sms'"})
        request = cls(id=id, tenant=tenant, quote_id=quote_id, number=number, version=version,
                      document_sha256=document_sha256, signer=signer, assignee=assignee,
                      amount_ttc=amount_ttc, currency=currency or "EUR",
                      consent_text=consent_text(number, amount_ttc, currency),
                      status=SUPERSEDED if superseded else OPEN, created_at=at, expires_at=expires_at,
                      otp_channel=otp_channel, lines=lines or None)
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
        if sent_at is not None:
            data["sent_at"] = evidence.timestamp(sent_at)
        if request.lines:
            data[purchase.CHAIN_KEY] = purchase.lines_sha256(request.lines)
        evidence.append(request.evidence, step=SENT, at=at, data=data)
        return request

    def send_again(self, *, at: datetime, recipient: Party, signature_requested: bool, event_id: str = "",
                   otp_channel: str | None = None, expires_at: datetime | None = None,
                   sent_at: datetime | None = None) -> list[Entry]:
        """The same version sent once more (a relance): a "sent_again" entry in this request's chain.

        When the send asks for a signature, the request follows it: addressed to ``recipient`` (a relance to
        another contact of the account re-addresses it; the entry names whom it was addressed to before),
        with the send's one-time code channel and validity, and a fresh budget of codes. A send without a
        signature asked is only recorded. A closed request (signed, declined, superseded) changes no more.
        ``sent_at``, when known, is when the CRM sent it (the quote.sent event's time), kept as data.
        """
        if self.status != OPEN:
            return []
        data = {"version": self.version, "document_sha256": self.document_sha256,
                "recipient": recipient.as_dict(), "signature_requested": signature_requested, "event_id": event_id}
        if sent_at is not None:
            data["sent_at"] = evidence.timestamp(sent_at)
        if signature_requested:
            if not same_email(recipient.email, self.signer.email):
                data["previous_signer"] = self.signer.as_dict()
            self.signer = recipient
            if otp_channel is not None and otp_channel != self.otp_channel:
                if otp_channel not in ("", *OTP_CHANNELS):
                    raise InvalidArgument({"signature_otp": f"{otp_channel!r} is not '', 'email' or 'sms'"})
                self.otp_channel = data["otp_channel"] = otp_channel
            if expires_at is not None and expires_at != self.expires_at:
                self.expires_at = expires_at
                data["expires_at"] = evidence.timestamp(expires_at)
        return [evidence.append(self.evidence, step=SENT_AGAIN, at=at, data=data)]

    @property
    def evidence_sha256(self) -> str:
        return evidence.head(self.evidence)

    def check_evidence(self) -> str:
        """Raises :class:`EvidenceTampered` unless every link of the chain holds and it ends with the head the
        request's row records (when it was read from storage); returns the head."""
        try:
            return evidence.verify_chain(self.evidence, expected_head=self.recorded_head)
        except evidence.BrokenChain as broken:
            raise EvidenceTampered(f"the evidence log of signature request {self.id} was altered: {broken}",
                                   info={"request_id": self.id}) from None

    @property
    def current_code(self) -> OneTimeCode | None:
        return self.codes[-1] if self.codes else None

    def codes_since_last_send(self) -> int:
        """Codes sent since the last send that asked for a signature (the first send or a relance)."""
        count = 0
        for entry in reversed(self.evidence):
            if entry.step == SENT or (entry.step == SENT_AGAIN and entry.data.get("signature_requested")):
                break
            count += entry.step == CODE_SENT
        return count

    def codes_left(self, policy: CodePolicy) -> int:
        return max(0, policy.max_codes - self.codes_since_last_send())

    def contact_id(self, email: str) -> str:
        """The CRM contact id of ``email`` when this version was sent to it: the signer, or anyone an earlier
        send of the chain went to (a relance may have re-addressed the request); "" for anyone else."""
        if same_email(email, self.signer.email):
            return self.signer.id
        for entry in reversed(self.evidence):
            if entry.step not in (SENT, SENT_AGAIN):
                continue
            party = entry.data.get("signer" if entry.step == SENT else "recipient")
            if isinstance(party, dict) and same_email(email, party.get("email", "")):
                return party.get("id", "")
        return ""

    # rules ---------------------------------------------------------------
    def check_open(self, now: datetime) -> None:
        """Raises unless the signer may still act on this request (sign, decline, ask for a code)."""
        if self.status == SUPERSEDED:
            raise FailedPrecondition("a newer version of this quote was sent: sign the latest version",
                                     reason=REQUEST_SUPERSEDED)
        if self.status == DECLINED:
            raise FailedPrecondition("this quote was declined: it can no longer be signed", reason=REQUEST_DECLINED)
        if self.status == SIGNED:
            raise FailedPrecondition("this quote is already signed", reason=REQUEST_SIGNED)
        if self.status == WITHDRAWN:
            raise FailedPrecondition("the sender withdrew this quote: it can no longer be signed or declined",
                                     reason=REQUEST_WITHDRAWN)
        if self.status != OPEN:
            raise FailedPrecondition(f"this signature request is {self.status}")
        if validity.ended(self.expires_at, now):
            raise FailedPrecondition(
                f"this quote expired on {evidence.timestamp(self.expires_at)}: it can no longer be signed",
                reason=REQUEST_EXPIRED)

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
        entry = evidence.append(self.evidence, step=SUPERSEDED_STEP, at=at, data={"by_version": by_version})
        return [entry]

    def withdraw(self, at: datetime, event_id: str = "") -> list[Entry]:
        """The salesperson withdrew the quote: an open request closes for good (a closed one stays as it is)."""
        if self.status != OPEN:
            return []
        self.status = WITHDRAWN
        return [evidence.append(self.evidence, step=WITHDRAWN_STEP, at=at,
                                data={"version": self.version, "event_id": event_id})]

    # the signer's steps ----------------------------------------------------
    def record_opened(self, *, at: datetime, ip: str, user_agent: str, window: timedelta) -> list[Entry]:
        """An "opened" entry, unless the same client opened it within ``window`` or it is closed."""
        if self.status != OPEN:
            return []
        stamp_from = evidence.timestamp(at - window)
        for entry in reversed(self.evidence):
            if entry.at < stamp_from:
                break
            if entry.step == OPENED and entry.ip == (ip or "") and entry.user_agent == (user_agent or ""):
                return []
        return [evidence.append(self.evidence, step=OPENED, at=at, ip=ip, user_agent=user_agent,
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
        if self.codes_since_last_send() >= policy.max_codes:
            raise FailedPrecondition(
                f"{policy.max_codes} codes were already sent for this quote: contact your sales contact",
                reason=CODES_USED_UP, info={"max_codes": policy.max_codes})
        last = self.current_code
        if last is not None and at < last.issued_at + policy.resend_interval:
            wait = math.ceil((last.issued_at + policy.resend_interval - at).total_seconds())
            raise CodeThrottled(f"a code was just sent: wait {wait} s before asking for another one",
                                reason=CODE_RESEND_TOO_SOON, info={"retry_after_seconds": wait})
        channel, recipient = self.code_recipient()
        salt = KEYED_SALT + salt
        issued = OneTimeCode(seq=len(self.codes) + 1, channel=channel, recipient=recipient, salt=salt,
                             code_sha256=code_digest(code, salt, policy.key), issued_at=at,
                             expires_at=at + policy.ttl)
        self.codes.append(issued)
        entry = evidence.append(self.evidence, step=CODE_SENT, at=at, ip=ip, user_agent=user_agent, data={
            "code_seq": issued.seq, "channel": channel, "recipient": recipient,
            "expires_at": evidence.timestamp(issued.expires_at)})
        return issued, [entry]

    def try_code(self, code: str, *, at: datetime, policy: CodePolicy) -> CodeAttempt | None:
        """Uses one attempt of the current code (None when no code is needed).

        A malformed or missing code uses no attempt; an expired or dead code is refused. Each refusal names
        its reason, and how many codes may still be asked for when a new one is the way out.
        """
        if not self.otp_channel:
            return None
        code = (code or "").strip()
        current = self.current_code
        left = {"codes_left": self.codes_left(policy)}
        if current is None:
            raise FailedPrecondition("a one-time code is required: ask for a code first", reason=CODE_NOT_SENT,
                                     info=left)
        if not code:
            raise InvalidArgument({"otp_code": "is required: type the code you received"})
        if not (len(code) == CODE_DIGITS and code.isascii() and code.isdigit()):
            raise InvalidArgument({"otp_code": f"the code has {CODE_DIGITS} digits"}, reason=CODE_MALFORMED,
                                  info={"digits": CODE_DIGITS})
        if at >= current.expires_at:
            raise FailedPrecondition("the one-time code expired: ask for a new code", reason=CODE_EXPIRED, info=left)
        if current.attempts >= policy.max_attempts:
            raise FailedPrecondition("too many wrong codes: ask for a new code", reason=CODE_LOCKED, info=left)
        before = current.attempts
        current.attempts += 1
        return CodeAttempt(code=current, attempts_before=before, ok=current.matches(code, policy.key),
                           attempts_left=policy.max_attempts - current.attempts)

    def sign(self, *, at: datetime, signer_name: str, signer_email: str, ip: str, user_agent: str,
             shown_consent_text: str, signed_pdf_sha256: str, signature_png_sha256: str = "",
             verified_code: OneTimeCode | None = None, recorded_at: datetime | None = None) -> list[Entry]:
        """Records the verified code (if any), consent and signature; returns the new evidence entries.

        ``at`` is the signature's time: the signer's act, the time the seal shows and the proof's
        signer.signed_at. The entries are dated ``recorded_at`` (default ``at``): when they are written, after
        the seal was made; what the signer's page recorded meanwhile (an "opened") comes before them in the chain,
        so it must come before them in time too. The "signed" entry keeps ``at`` as data.signed_at.
        """
        self.check_open(at)
        stamp = at if recorded_at is None else max(at, recorded_at)
        if self.otp_channel and verified_code is None:
            raise FailedPrecondition("a one-time code is required to sign this quote")
        name = clean_signer_name(signer_name)
        email = (signer_email or self.signer.email).strip()
        contact_id = self.contact_id(email)
        text = (shown_consent_text or "").strip() or self.consent_text
        identity = {"signer_name": name, "signer_email": email, "signer_contact_id": contact_id,
                    "document_sha256": self.document_sha256}
        entries = []
        if verified_code is not None:
            entries.append(evidence.append(self.evidence, step=CODE_VERIFIED, at=stamp, ip=ip,
                                           user_agent=user_agent, data={
                "code_seq": verified_code.seq, "channel": verified_code.channel,
                "recipient": verified_code.recipient, "attempts": verified_code.attempts}))
        entries.append(evidence.append(self.evidence, step=CONSENTED, at=stamp, ip=ip, user_agent=user_agent, data={
            **identity, "consent_text": text, "consent_sha256": evidence.sha256_text(text)}))
        signed = {**identity, "request_id": self.id, "quote_id": self.quote_id, "version": self.version,
                  "signed_pdf_sha256": signed_pdf_sha256, "signed_at": evidence.timestamp(at)}
        if signature_png_sha256:
            signed["signature_png_sha256"] = signature_png_sha256
        entries.append(evidence.append(self.evidence, step=SIGNED_STEP, at=stamp, ip=ip, user_agent=user_agent,
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
            raise FailedPrecondition("this quote is already signed: it can no longer be declined",
                                     reason=REQUEST_SIGNED)
        self.check_open(at)
        text = clean_reason(reason)
        name = clean_signer_name(signer_name) if (signer_name or "").strip() else self.signer.name
        email = (signer_email or self.signer.email).strip()
        contact_id = self.contact_id(email)
        entry = evidence.append(self.evidence, step=DECLINED_STEP, at=at, ip=ip, user_agent=user_agent, data={
            "request_id": self.id, "quote_id": self.quote_id, "version": self.version,
            "document_sha256": self.document_sha256, "signer_name": name, "signer_email": email,
            "signer_contact_id": contact_id, "reason": text, "reason_sha256": evidence.sha256_text(text)})
        self.status = DECLINED
        self.declined = Decline(signer_name=name, signer_email=email, reason=text, declined_at=at, ip=ip,
                                user_agent=user_agent)
        return [entry]

    # the proof -----------------------------------------------------------
    def proof(self, *, certificate_sha256: str = "", seal_level: str = "") -> dict:
        """The proof file's content: everything needed to check this signature without us."""
        s = self.signature
        if s is None:
            raise FailedPrecondition("this request is not signed")
        document = {"sha256": self.document_sha256, "signed_pdf_sha256": s.signed_pdf_sha256,
                    "seal_certificate_sha256": certificate_sha256}
        if seal_level:
            document["seal_level"] = seal_level
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
            "purchase": {"lines": self.lines, "lines_sha256": purchase.chained_sha256(self.evidence)},
            "verification": VERIFICATION_STEPS + [LINES_STEP] + ([ARCHIVE_STEP] if seal_level == "B-LTA" else []),
        }


VERIFICATION_STEPS = [
    "1. Le SHA-256 du PDF du devis envoyé doit être égal à document.sha256 ; ce PDF est aussi la première "
    "révision du PDF signé.",
    "2. Chaque entrée de evidence a pour sha256 le SHA-256 du JSON canonique (clés triées, sans espaces, "
    "UTF-8) de {seq, at, step, ip, user_agent, data, prev_sha256} ; la première a prev_sha256 = "
    f"{evidence.GENESIS}, chaque suivante celui de la précédente ; la dernière est evidence_sha256.",
    "3. Le SHA-256 de consent.text doit être égal à consent.sha256.",
    "4. Le PDF signé (SHA-256 = document.signed_pdf_sha256) porte un sceau PAdES : toute modification après "
    "scellement est signalée par tout lecteur PDF (panneau Signatures) ou par tout validateur PAdES "
    "(par exemple « pyhanko sign validate --trust seal-cert.pem FICHIER.pdf »).",
    "5. Le dossier de preuve PDF est scellé de la même façon et se vérifie avec les mêmes outils.",
    "6. Les dates (at) des entrées ne décroissent jamais d'une entrée à la suivante : chacune est datée au moment "
    "où elle est inscrite au journal. L'heure de la signature, celle que montre le sceau, est signer.signed_at "
    "(reprise en data.signed_at de l'entrée signed) : les entrées consented et signed sont inscrites une fois "
    "le sceau posé, donc un peu après elle.",
]
LINES_STEP = ("7. Le SHA-256 du JSON canonique de purchase.lines (clés triées, sans espaces, UTF-8, montants tels que "
              "le devis les écrit) doit être égal à data.lines_sha256 de la première entrée, et à "
              "purchase.lines_sha256 ; une demande ouverte avant l'inscription des lignes n'a ni l'un ni l'autre "
              "(purchase.lines vaut null).")
ARCHIVE_STEP = ("8. Un cachet PAdES B-LTA reçoit, au fil des ans, de nouveaux horodatages d'archive (mises à jour "
                "incrémentales) : le PDF signé tel que scellé, de SHA-256 document.signed_pdf_sha256, reste le début "
                "du fichier, octet pour octet.")
