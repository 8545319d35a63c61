"""One function per command and per event; dependencies are injected by bootstrap()."""
from __future__ import annotations

import json
import logging
import uuid
from datetime import datetime
from typing import Callable

from quoteflow.blobs import BlobNotFound
from quoteflow.envelope import Envelope, rfc3339
from quoteflow.errors import Conflict, FailedPrecondition, InvalidArgument, NotFound
from quoteflow.v1 import common_pb2, events_pb2
from services.signature.domain import commands, events, model

log = logging.getLogger(__name__)

SOURCE = "quoteflow/signature"
Clock = Callable[[], datetime]


def _party_pb(party: model.Party) -> common_pb2.Party:
    return common_pb2.Party(id=party.id, name=party.name, email=party.email, phone=party.phone)


def on_quote_sent(event: events.QuoteSent, uow, clock: Clock) -> model.SignatureRequest | None:
    """Supersedes what an older version opened; opens a request when a signature was asked.

    Runs inside the consumer's unit of work (with its inbox record); does not commit.
    """
    at = clock()
    existing = uow.requests.for_quote(event.tenant, event.quote_id)
    newer_exists = any(r.version > event.version for r in existing)
    for older in existing:
        replaced = older.version < event.version or (older.version == event.version and event.signature_requested)
        if older.status == model.OPEN and replaced:
            uow.requests.mark_superseded(older, older.supersede(at, event.version))
    if not event.signature_requested:
        return None
    request = model.SignatureRequest.open(
        id=str(uuid.uuid4()), tenant=event.tenant, quote_id=event.quote_id, number=event.number,
        version=event.version, document_sha256=event.document_sha256, signer=event.recipient,
        assignee=event.assignee, amount_ttc=event.total_ttc, currency=event.currency, at=at,
        event_id=event.event_id, superseded=newer_exists)
    uow.requests.add(request)
    if request.status == model.OPEN:
        uow.emit(Envelope.wrap(
            events_pb2.SignatureRequested(request_id=request.id, quote_id=request.quote_id,
                                          version=request.version, signer_email=request.signer.email,
                                          document_sha256=request.document_sha256),
            source=SOURCE, subject=f"quote/{request.quote_id}", tenant=request.tenant,
            correlation_id=event.event_id))
    return request


def sign(cmd: commands.Sign, uow, blobs, sealer, clock: Clock) -> model.SignatureRequest:
    name = model.clean_signer_name(cmd.signer_name)
    if not cmd.consent:
        raise InvalidArgument({"consent": "the signer must accept the terms to sign"})
    with uow:
        request = uow.requests.for_version(cmd.tenant, cmd.quote_id, cmd.version)
    if request is None:
        raise NotFound(f"no signature request for quote {cmd.quote_id!r} version {cmd.version}")
    if request.status == model.SIGNED:
        return request  # idempotent: the first signature stands
    request.check_can_sign(cmd.document_sha256)

    # The seal and the proof are written before the transaction: blobs are
    # content-addressed, so a losing attempt only leaves unreferenced files.
    at = clock()
    try:
        document = blobs.get(request.document_sha256)
    except BlobNotFound:
        raise FailedPrecondition("the quote document is not available for sealing yet") from None
    sealed = sealer.seal(document, model.SealDetails(
        signer_name=name, signer_email=cmd.signer_email or request.signer.email, signed_at=at,
        reference=request.id, number=request.number, version=request.version,
        document_sha256=request.document_sha256,
        consent_text=(cmd.consent_text or "").strip() or request.consent_text))
    signed_pdf_sha256 = blobs.put(sealed)
    new_entries = request.sign(at=at, signer_name=name, signer_email=cmd.signer_email, ip=cmd.ip,
                               user_agent=cmd.user_agent, shown_consent_text=cmd.consent_text,
                               signed_pdf_sha256=signed_pdf_sha256)
    proof = request.proof(certificate_sha256=sealer.certificate_sha256)
    request.signature.proof_sha256 = blobs.put(
        json.dumps(proof, ensure_ascii=False, indent=2, sort_keys=True).encode("utf-8"))

    with uow:
        if not uow.requests.mark_signed(request, new_entries):
            uow.rollback()
            current = uow.requests.get(cmd.tenant, request.id)
            if current is not None and current.status == model.SIGNED:
                return current  # a simultaneous signature won; its result stands
            raise Conflict("this signature request changed while signing; please try again")
        uow.emit(Envelope.wrap(completed_event(request), source=SOURCE, subject=f"quote/{request.quote_id}",
                               tenant=request.tenant))
        uow.commit()
    log.info("quote %s v%d signed (request %s)", request.quote_id, request.version, request.id)
    return request


def completed_event(request: model.SignatureRequest) -> events_pb2.SignatureCompleted:
    s = request.signature
    return events_pb2.SignatureCompleted(
        request_id=request.id, quote_id=request.quote_id, number=request.number, version=request.version,
        signer_name=s.signer_name, signer_email=s.signer_email, signed_at=rfc3339(s.signed_at),
        document_sha256=request.document_sha256, evidence_sha256=request.evidence_sha256,
        assignee=_party_pb(request.assignee), ip=s.ip, signed_pdf_sha256=s.signed_pdf_sha256,
        proof_sha256=s.proof_sha256, signer_contact_id=s.signer_contact_id)


def latest_request(tenant: str, quote_id: str, uow) -> model.SignatureRequest:
    with uow:
        request = uow.requests.latest(tenant, quote_id)
    if request is None:
        raise NotFound(f"no signature request for quote {quote_id!r}")
    return request


COMMAND_HANDLERS = {commands.Sign: sign}
EVENT_HANDLERS = {events.QuoteSent: on_quote_sent}
