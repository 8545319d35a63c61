"""One function per command and per event; dependencies are injected by bootstrap()."""
from __future__ import annotations

import json
import logging
import re
import secrets
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Callable

from quoteflow import sealing
from quoteflow.blobs import BlobNotFound
from quoteflow.config import ConfigError
from quoteflow.envelope import Envelope, rfc3339
from quoteflow.errors import Conflict, FailedPrecondition, InvalidArgument, NotFound
from quoteflow.v1 import common_pb2, events_pb2
from services.signature.adapters.images import check_signature_png
from services.signature.domain import commands, events, model

log = logging.getLogger(__name__)

SOURCE = "quoteflow/signature"
Clock = Callable[[], datetime]
# How many times a write is retried when another writer extended the same evidence chain first.
CHAIN_RETRIES = 5


def new_code() -> str:
    return f"{secrets.randbelow(10 ** model.CODE_DIGITS):0{model.CODE_DIGITS}d}"


def _party_pb(party: model.Party) -> common_pb2.Party:
    return common_pb2.Party(id=party.id, name=party.name, email=party.email, phone=party.phone)


def _wrap(payload, request: model.SignatureRequest, correlation_id: str = "") -> Envelope:
    return Envelope.wrap(payload, source=SOURCE, subject=f"quote/{request.quote_id}", tenant=request.tenant,
                         correlation_id=correlation_id)


def _for_version(uow, tenant: str, quote_id: str, version: int) -> model.SignatureRequest:
    request = uow.requests.for_version(tenant, quote_id, version)
    if request is None:
        raise NotFound(f"no signature request for quote {quote_id!r} version {version}")
    return request


def _check_evidence(request: model.SignatureRequest, doing: str) -> model.SignatureRequest:
    """``request``, once its evidence log holds (every link, and the head its row records).

    Otherwise the database was changed behind the service: logged as tampering, and refused
    (model.EvidenceTampered) rather than sealed, proved or served as if intact.
    """
    try:
        request.check_evidence()
    except model.EvidenceTampered as tampered:
        log.critical("EVIDENCE TAMPERING: %s (tenant %s, quote %s v%d, status %s); refused to %s",
                     tampered, request.tenant, request.quote_id, request.version, request.status, doing)
        raise
    return request


# Events ----------------------------------------------------------------------

def on_quote_sent(event: events.QuoteSent, uow, clock: Clock) -> model.SignatureRequest | None:
    """Supersedes what an older version opened; a relance of a version joins the request open for it; else
    opens a request when a signature was asked.

    A relance (the same version and document sent again) never opens a second request: the first send, the
    relances and what the signer did stay in one evidence chain, the one the proof file shows. Runs inside the
    consumer's unit of work (with its inbox record); does not commit.
    """
    existing = uow.requests.for_quote(event.tenant, event.quote_id)
    at = clock()  # after the read: an entry is never dated before the one it follows
    newer_exists = any(r.version > event.version for r in existing)
    same = [r for r in existing if r.version == event.version]
    current = next((r for r in same if r.status == model.OPEN), None)  # latest first
    otp = event.signature_otp if event.signature_otp in ("", *model.OTP_CHANNELS) else "email"
    if otp != event.signature_otp:
        log.warning("quote.sent %s asks for an unknown one-time code channel %r: using email",
                    event.event_id, event.signature_otp)
    relance = current is not None and current.document_sha256 == event.document_sha256
    for older in existing:
        # the same number with another document is not the same version: it replaces the open request too
        replaced = older.version < event.version or (older is current and not relance)
        if older.status == model.OPEN and replaced:
            if not uow.requests.mark_superseded(older, older.supersede(at, event.version)):
                raise Conflict(f"signature request {older.id} changed while being superseded; retry")
    if relance:
        return _send_again(current, event, otp, uow, clock)
    if not event.signature_requested:
        return None
    closed = next((r for r in same if r.status in (model.SIGNED, model.DECLINED)), None)
    if closed is not None or (same and newer_exists):
        log.info("quote.sent %s: version %d of quote %s already has its request (%s): nothing to open",
                 event.event_id, event.version, event.quote_id, (closed or same[0]).status)
        return None
    request = model.SignatureRequest.open(
        id=str(uuid.uuid4()), tenant=event.tenant, quote_id=event.quote_id, number=event.number,
        version=event.version, document_sha256=event.document_sha256, signer=event.recipient,
        assignee=event.assignee, amount_ttc=event.total_ttc, currency=event.currency, at=at,
        event_id=event.event_id, superseded=newer_exists, expires_at=event.expires_at, otp_channel=otp,
        sent_at=event.sent_at, lines=event.lines)
    uow.requests.add(request)
    if request.status == model.OPEN:
        uow.emit(_requested(request, event.event_id))
    return request


def _send_again(request: model.SignatureRequest, event: events.QuoteSent, otp: str, uow,
                clock: Clock) -> model.SignatureRequest:
    """Appends the relance to the open request's chain; re-addressed to another signer, says so again."""
    for _ in range(CHAIN_RETRIES):
        addressed_to = request.signer.email
        at = clock()  # after the (re-)read: an entry is never dated before the one it follows
        entries = request.send_again(at=at, recipient=event.recipient, signature_requested=event.signature_requested,
                                     event_id=event.event_id, otp_channel=otp, expires_at=event.expires_at,
                                     sent_at=event.sent_at)
        if not entries:
            return request  # signed, declined or superseded meanwhile: its chain is closed
        if uow.requests.record_sent_again(request, entries):
            if not model.same_email(addressed_to, request.signer.email):
                uow.emit(_requested(request, event.event_id))
            return request
        request = uow.requests.get(event.tenant, request.id)
    raise Conflict(f"signature request {request.id} kept changing while recording a relance; retry")


def on_quote_withdrawn(event: events.QuoteWithdrawn, uow, clock: Clock) -> None:
    """Closes the quote's open requests of the withdrawn versions: nothing there can be signed or declined any
    more. A version sent after the withdrawal (the quote edited, then sent) keeps its own request. Runs inside
    the consumer's unit of work; does not commit."""
    for request in uow.requests.for_quote(event.tenant, event.quote_id):
        if request.version > event.version or request.status != model.OPEN:
            continue
        if not uow.requests.mark_withdrawn(request, request.withdraw(clock(), event.event_id)):
            raise Conflict(f"signature request {request.id} changed while being withdrawn; retry")
        log.info("quote %s v%d withdrawn: request %s closed", request.quote_id, request.version, request.id)


def _requested(request: model.SignatureRequest, correlation_id: str) -> Envelope:
    return _wrap(events_pb2.SignatureRequested(
        request_id=request.id, quote_id=request.quote_id, version=request.version,
        signer_email=request.signer.email, document_sha256=request.document_sha256),
        request, correlation_id=correlation_id)


# Commands --------------------------------------------------------------------

def _check_printed(printable, **texts: str) -> None:
    """The certificate page and the proof file print these: what their fonts cannot print is refused here,
    by the rule the quote's fields follow (quoteflow.typeset)."""
    problems = {field: problem for field, text in texts.items() if (problem := printable.unprintable(text or ""))}
    if problems:
        raise InvalidArgument(problems)


def sign(cmd: commands.Sign, uow, blobs, sealer, clock: Clock, printable,
         code_policy: model.CodePolicy = model.CodePolicy()) -> model.SignatureRequest:
    name = model.clean_signer_name(cmd.signer_name)
    _check_printed(printable, signer_name=name)
    model.check_document_sha256(cmd.document_sha256)
    if not cmd.consent:
        raise InvalidArgument({"consent": "the signer must accept the terms to sign"})
    drawing = bytes(cmd.signature_png or b"")
    if drawing:
        check_signature_png(drawing)
    at = clock()  # the signature's time: what the seal shows
    with uow:
        request = _for_version(uow, cmd.tenant, cmd.quote_id, cmd.version)
    _check_evidence(request, "sign")  # never seal, nor prove, a log that was changed
    if request.status == model.SIGNED:
        return request  # idempotent: the first signature stands
    request.check_can_sign(cmd.document_sha256, at)
    verified = _use_code(request, cmd.otp_code, at, uow, code_policy)

    # The seal and the proof are written outside the transaction: blobs are
    # content-addressed, so a losing attempt only leaves unreferenced files.
    try:
        document = blobs.get(request.document_sha256)
    except BlobNotFound:
        raise FailedPrecondition("the quote document is not available for sealing yet") from None
    drawing_sha256 = blobs.put(drawing) if drawing else ""
    sealed = sealer.seal(document, model.SealDetails(
        signer_name=name, signer_email=cmd.signer_email or request.signer.email, signed_at=at,
        reference=request.id, number=request.number, version=request.version,
        document_sha256=request.document_sha256,
        consent_text=(cmd.consent_text or "").strip() or request.consent_text, signature_png=drawing or None,
        level=sealer.level))
    signed_pdf_sha256 = blobs.put(sealed)

    for _ in range(CHAIN_RETRIES):
        # Dated now, after the seal and after reading the chain they extend: what was recorded while sealing
        # (an "opened") precedes them in the chain and in time. The seal's time stays ``at`` (data.signed_at).
        new_entries = request.sign(at=at, signer_name=name, signer_email=cmd.signer_email, ip=cmd.ip,
                                   user_agent=cmd.user_agent, shown_consent_text=cmd.consent_text,
                                   signed_pdf_sha256=signed_pdf_sha256, signature_png_sha256=drawing_sha256,
                                   verified_code=verified, recorded_at=clock())
        _write_proofs(request, blobs, sealer, drawing)
        with uow:
            if uow.requests.mark_signed(request, new_entries):
                uow.emit(_wrap(completed_event(request), request))
                uow.commit()
                log.info("quote %s v%d signed (request %s)", request.quote_id, request.version, request.id)
                return request
            uow.rollback()
            current = uow.requests.get(cmd.tenant, request.id)
        if current is None:
            raise NotFound(f"signature request {request.id} disappeared")
        _check_evidence(current, "sign")
        if current.status == model.SIGNED:
            return current  # a simultaneous signature won; its result stands
        current.check_open(at)  # declined or superseded meanwhile
        request = current      # only new evidence (an "opened") came in between: write after it
    raise Conflict("this signature request changed while signing; please try again")


def _use_code(request: model.SignatureRequest, code: str, at: datetime, uow,
              policy: model.CodePolicy) -> model.OneTimeCode | None:
    """Spends one attempt of the current one-time code (committed even when wrong)."""
    attempt = request.try_code(code, at=at, policy=policy)
    if attempt is None:
        return None
    with uow:
        if not uow.requests.record_attempt(request, attempt):
            raise Conflict("another code was tried at the same moment: please try again")
        uow.commit()
    if not attempt.ok:
        left = attempt.attempts_left
        raise InvalidArgument({"otp_code": f"wrong code: {left} attempt{'s' if left > 1 else ''} left" if left
                               else "wrong code: no attempt left, ask for a new code"}, reason=model.CODE_WRONG,
                              info={"attempts_left": left, "codes_left": request.codes_left(policy)})
    return attempt.code


def _write_proofs(request: model.SignatureRequest, blobs, sealer, drawing: bytes) -> None:
    """The proof as JSON, then as a sealed PDF that names the JSON's SHA-256."""
    proof = request.proof(certificate_sha256=sealer.certificate_sha256, seal_level=sealer.level)
    proof_json = json.dumps(proof, ensure_ascii=False, indent=2, sort_keys=True).encode("utf-8")
    request.signature.proof_json_sha256 = blobs.put(proof_json)
    request.signature.proof_sha256 = blobs.put(sealer.seal_proof(
        proof, proof_json_sha256=request.signature.proof_json_sha256, signature_png=drawing or None))


def decline(cmd: commands.Decline, uow, clock: Clock, printable) -> model.SignatureRequest:
    for _ in range(CHAIN_RETRIES):
        with uow:
            request = _check_evidence(_for_version(uow, cmd.tenant, cmd.quote_id, cmd.version), "decline")
            at = clock()  # after the read: an entry is never dated before the one it follows
            entries = request.decline(at=at, reason=cmd.reason, signer_name=cmd.signer_name,
                                      signer_email=cmd.signer_email, ip=cmd.ip, user_agent=cmd.user_agent)
            if not entries:
                return request  # declined already: the first refusal stands
            _check_printed(printable, reason=cmd.reason, signer_name=cmd.signer_name)  # after the rules above
            if uow.requests.mark_declined(request, entries):
                uow.emit(_wrap(declined_event(request), request))
                uow.commit()
                log.info("quote %s v%d declined (request %s)", request.quote_id, request.version, request.id)
                return request
    raise Conflict("this signature request changed while declining; please try again")


def request_code(cmd: commands.RequestCode, uow, clock: Clock, seal_key: str,
                 code_policy: model.CodePolicy = model.CodePolicy(),
                 make_code: Callable[[], str] = new_code) -> tuple[model.SignatureRequest, model.OneTimeCode]:
    """Issues a code; the event carries it sealed for the notifier, never in clear (quoteflow/sealing.py)."""
    for _ in range(CHAIN_RETRIES):
        with uow:
            request = _for_version(uow, cmd.tenant, cmd.quote_id, cmd.version)
            at = clock()  # after the read: an entry is never dated before the one it follows
            code = make_code()
            issued, entries = request.issue_code(code=code, salt=secrets.token_hex(16), at=at, policy=code_policy,
                                                 ip=cmd.ip, user_agent=cmd.user_agent)
            if uow.requests.add_code(request, issued, entries):
                expires_at = rfc3339(issued.expires_at)
                sealed = sealing.seal_code(seal_key, code, tenant=request.tenant, request_id=request.id,
                                           expires_at=expires_at)
                uow.emit(_wrap(events_pb2.SignatureCodeRequested(
                    request_id=request.id, quote_id=request.quote_id, number=request.number,
                    channel=issued.channel, recipient=_party_pb(request.signer), sealed_code=sealed,
                    expires_at=expires_at, assignee=_party_pb(request.assignee)), request))
                uow.commit()
                return request, issued
    raise Conflict("this signature request changed while sending a code; please try again")


def record_opened(cmd: commands.RecordOpened, uow, clock: Clock, opened_window: timedelta = timedelta(seconds=60)
                  ) -> tuple[model.SignatureRequest, bool]:
    """(request, whether an "opened" entry was written)."""
    for _ in range(CHAIN_RETRIES):
        with uow:
            request = _for_version(uow, cmd.tenant, cmd.quote_id, cmd.version)
            at = clock()  # after the read: an entry is never dated before the one it follows
            entries = request.record_opened(at=at, ip=cmd.ip, user_agent=cmd.user_agent, window=opened_window)
            if not entries:
                return request, False
            if uow.requests.append(request, entries):
                uow.commit()
                return request, True
    log.warning("could not record that quote %s v%d was opened: the chain kept moving", cmd.quote_id, cmd.version)
    return request, False


# Outgoing events -------------------------------------------------------------

def completed_event(request: model.SignatureRequest) -> events_pb2.SignatureCompleted:
    s = request.signature
    return events_pb2.SignatureCompleted(
        request_id=request.id, quote_id=request.quote_id, number=request.number, version=request.version,
        signer_name=s.signer_name, signer_email=s.signer_email, signed_at=rfc3339(s.signed_at),
        document_sha256=request.document_sha256, evidence_sha256=request.evidence_sha256,
        assignee=_party_pb(request.assignee), ip=s.ip, signed_pdf_sha256=s.signed_pdf_sha256,
        proof_sha256=s.proof_sha256, signer_contact_id=s.signer_contact_id,
        proof_json_sha256=s.proof_json_sha256)


def declined_event(request: model.SignatureRequest) -> events_pb2.SignatureDeclined:
    d = request.declined
    return events_pb2.SignatureDeclined(
        request_id=request.id, quote_id=request.quote_id, number=request.number, version=request.version,
        signer_name=d.signer_name, signer_email=d.signer_email, reason=d.reason,
        declined_at=rfc3339(d.declined_at), evidence_sha256=request.evidence_sha256,
        assignee=_party_pb(request.assignee), ip=d.ip)


# Queries ---------------------------------------------------------------------

def latest_request(tenant: str, quote_id: str, uow) -> model.SignatureRequest:
    with uow:
        request = uow.requests.latest(tenant, quote_id)
    if request is None:
        raise NotFound(f"no signature request for quote {quote_id!r}")
    return _check_evidence(request, "serve it")


DOCUMENT_KINDS = ("signed_pdf", "proof_pdf", "proof_json")


def _file_stem(number: str, fallback: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "-", number or "").strip("-.") or fallback


def get_document(tenant: str, request_id: str, kind: str, uow, blobs) -> tuple[str, str, bytes, str]:
    """(filename, content type, bytes, sha256) of a signed request's document."""
    if kind not in DOCUMENT_KINDS:
        raise InvalidArgument({"kind": f"one of {', '.join(DOCUMENT_KINDS)}"})
    with uow:
        request = uow.requests.get(tenant, request_id)
        extended = uow.requests.newest_files(request_id) if request is not None else {}
    if request is None:
        raise NotFound(f"no signature request {request_id!r}")
    _check_evidence(request, f"serve its {kind}")
    s = request.signature
    if s is None:
        raise NotFound(f"signature request {request_id!r} is {request.status}: it has no signed documents")
    stem = _file_stem(request.number, request.id)
    filename, content_type, sha256 = {
        "signed_pdf": (f"Devis-{stem}-signe.pdf", "application/pdf", s.signed_pdf_sha256),
        "proof_pdf": (f"Preuves-{stem}.pdf", "application/pdf", s.proof_sha256),
        "proof_json": (f"Preuves-{stem}.json", "application/json", s.proof_json_sha256),
    }[kind]
    if not sha256:
        raise NotFound(f"signature request {request_id!r} has no {kind} (signed before proofs were kept)")
    sha256 = extended.get(kind, sha256)  # with the document timestamps added since (extend-archive), if any
    try:
        content = blobs.get(sha256)
    except BlobNotFound:
        raise NotFound(f"the {kind} of signature request {request_id!r} is missing from the blob store") from None
    return filename, content_type, content, sha256


def verify(pdf: bytes, tenant: str | None, uow, sealer):
    """(verification, the request this file belongs to or None, sha256 of the file, the kind it is or "").

    The file belongs to a request when one of its revisions is the signed PDF or proof PDF as sealed: a file
    extended since with document timestamps (B-LTA) holds it unchanged as a revision, and the verification says
    whether what follows is only validation data and timestamps."""
    if not pdf:
        raise InvalidArgument({"pdf": "is required: the PDF file to check"})
    from services.signature.adapters.archive import revision_sha256s

    result = sealer.verify_pdf(pdf)
    revisions = revision_sha256s(pdf)
    request, kind = None, ""
    if tenant:
        with uow:
            request = uow.requests.by_document(tenant, revisions)
    if request is not None and request.signature is not None:
        kind = "signed_pdf" if request.signature.signed_pdf_sha256 in revisions else "proof_pdf"
    return result, request, revisions[-1], kind


# The archive ---------------------------------------------------------------

@dataclass
class ArchiveRun:
    """What one extend-archive run did, document by document (request id, kind)."""

    extended: list[tuple[str, str]] = field(default_factory=list)
    fresh: int = 0                  # their last timestamp is recent enough
    untimestamped: int = 0          # sealed without any timestamp (B-B): no timestamp chain to keep alive
    failed: list[tuple[str, str, str]] = field(default_factory=list)   # (request id, kind, why)


def extend_archive(uow, blobs, sealer, clock: Clock, *, older_than: timedelta, tsa_margin: timedelta,
                   page: int = 200) -> ArchiveRun:
    """Adds a document timestamp, with the previous timestamp's validation data, to every stored signed PDF and
    proof PDF whose last timestamp is ``older_than`` or whose authority's certificate expires within
    ``tsa_margin``. Each new file is a new blob, recorded as its document's newest once stored: a run stopped
    anywhere resumes where it stopped, and a second run finds nothing due."""
    run = ArchiveRun()
    after = ""
    while True:
        with uow:
            documents = uow.requests.stored_documents(after, page)
        if not documents:
            return run
        after = documents[-1][0]
        for request_id, kind, sha256, extensions in documents:
            try:
                pdf = blobs.get(sha256)
                due = sealer.archive_due(pdf, clock(), older_than=older_than, tsa_margin=tsa_margin)
                if due is None:
                    run.untimestamped += 1
                    continue
                if not due:
                    run.fresh += 1
                    continue
                extended = sealer.add_archive_timestamp(pdf)
            except ConfigError:
                raise
            except Exception as exc:  # one unreadable file or unreachable authority does not stop the others
                log.warning("extend-archive: %s of request %s not extended: %s", kind, request_id, exc)
                run.failed.append((request_id, kind, f"{type(exc).__name__}: {exc}"))
                continue
            new_sha256 = blobs.put(extended)
            with uow:
                if uow.requests.record_extension(request_id, kind, seq=extensions + 1, previous_sha256=sha256,
                                                 sha256=new_sha256, at=clock()):
                    uow.commit()
                    run.extended.append((request_id, kind))
                    log.info("extend-archive: %s of request %s extended (%s)", kind, request_id, new_sha256)


COMMAND_HANDLERS = {commands.Sign: sign, commands.Decline: decline, commands.RequestCode: request_code,
                    commands.RecordOpened: record_opened}
EVENT_HANDLERS = {events.QuoteSent: on_quote_sent, events.QuoteWithdrawn: on_quote_withdrawn}
