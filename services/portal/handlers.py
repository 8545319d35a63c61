"""What the portal does: one plain function per event it hears and per command a client sends."""
from __future__ import annotations

import logging
import re
from datetime import datetime
from typing import Callable

from quoteflow.errors import InvalidArgument, NotFound
from quoteflow.uow import AlreadyHandled
from services.portal.adapters.messages import envelope_of, parse_time
from services.portal.adapters.signature import Signer
from services.portal.adapters.unit_of_work import PortalUnitOfWork
from services.portal.domain import commands, events, model

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


# --- events heard from the bus -------------------------------------------------------------

def quote_sent(event: events.QuoteSent, uow: PortalUnitOfWork, clock: Clock) -> None:
    with uow:
        try:
            uow.record_inbox(event)
        except AlreadyHandled:
            return
        rm = uow.read_model
        version = rm.version(event.tenant, event.quote_id, event.version)
        if version is None:
            version = model.Version(
                tenant=event.tenant, quote_id=event.quote_id, version=event.version, number=event.number,
                snapshot=event.snapshot, pdf_sha256=event.pdf_sha256,
                signature_requested=event.signature_requested, assignee=event.assignee)
        else:  # the same version sent again (a relance, another recipient)
            version.signature_requested = event.signature_requested
            version.assignee = event.assignee or version.assignee
        newer = [v for v in rm.versions_of(event.tenant, event.quote_id) if v.version > event.version]
        if newer:
            version.supersede()
        rm.save_version(version)
        for older in rm.versions_of(event.tenant, event.quote_id):
            if older.version < event.version and older.status == model.OPEN:
                older.supersede()
                rm.save_version(older)
        rm.supersede_links_before(event.tenant, event.quote_id, event.version)
        rm.add_link(model.Link(
            token_sha256=event.link_token_sha256, tenant=event.tenant, quote_id=event.quote_id,
            version=event.version, recipient=event.recipient, expires_at=event.expires_at,
            superseded=bool(newer)), clock())
        uow.commit()


def signature_completed(event: events.SignatureCompleted, uow: PortalUnitOfWork, clock: Clock) -> None:
    with uow:
        try:
            uow.record_inbox(event)
        except AlreadyHandled:
            return
        version = uow.read_model.version(event.tenant, event.quote_id, event.version)
        if version is None:  # quote.sent not here yet: retried by the consumer
            raise NotFound(f"version {event.version} of quote {event.quote_id} is not in the read model")
        version.mark_signed(event.signer_name, event.signed_at, event.signed_pdf_sha256)
        uow.read_model.save_version(version)
        uow.commit()


# --- what a client does through a link -----------------------------------------------------

def open_link(token_sha256: str, uow: PortalUnitOfWork, now: datetime) -> tuple[model.Link, model.Version]:
    """The link and the version it shows; LinkNotFound when unknown or expired. Inside ``uow``."""
    link = uow.read_model.link(token_sha256)
    if link is None or link.expired(now):
        raise model.LinkNotFound(token_sha256)
    version = uow.read_model.version(link.tenant, link.quote_id, link.version)
    if version is None:
        raise model.LinkNotFound(token_sha256)
    if link.superseded:
        version.supersede()
    return link, version


def show(token_sha256: str, uow: PortalUnitOfWork, clock: Clock) -> tuple[model.Link, model.Version]:
    with uow:
        return open_link(token_sha256, uow, clock())


def record_view(cmd: commands.RecordView, uow: PortalUnitOfWork, clock: Clock):
    now = clock()
    with uow:
        link, version = open_link(cmd.token_sha256, uow, now)
        uow.emit(envelope_of(events.QuoteViewed(
            tenant=link.tenant, quote_id=link.quote_id, number=version.number, version=version.version,
            recipient_email=link.recipient.get("email", ""), ip=cmd.ip, user_agent=cmd.user_agent, at=now,
            assignee=version.assignee)))
        uow.commit()
    return link, version


def record_download(cmd: commands.RecordDownload, uow: PortalUnitOfWork, clock: Clock, blobs):
    now = clock()
    with uow:
        link, version = open_link(cmd.token_sha256, uow, now)
        if not blobs.exists(version.pdf_sha256):
            log.error("frozen PDF %s of quote %s v%d is not in the blob store", version.pdf_sha256,
                      version.quote_id, version.version)
            raise model.DocumentMissing(version.pdf_sha256)
        uow.emit(envelope_of(events.QuoteDownloaded(
            tenant=link.tenant, quote_id=link.quote_id, number=version.number, version=version.version,
            recipient_email=link.recipient.get("email", ""), ip=cmd.ip, user_agent=cmd.user_agent, at=now,
            assignee=version.assignee, pdf_sha256=version.pdf_sha256)))
        uow.commit()
    return link, version


def consent_text_for(version: model.Version, money: Callable[..., str]) -> str:
    totals = version.snapshot.get("totals") or {}
    return model.consent_text(version.number, money(totals.get("total_ttc", "0"), totals.get("currency") or "EUR"))


def clean_signer_name(raw: str) -> str:
    return " ".join(_CONTROL.sub(" ", raw or "").split())


def sign(cmd: commands.Sign, uow: PortalUnitOfWork, signer: Signer, clock: Clock,
         money: Callable[..., str]) -> commands.SignatureResult:
    """Checks the link and the version, asks the signature service, then shows the version signed."""
    with uow:  # read, then release the database before the remote call
        link, version = open_link(cmd.token_sha256, uow, clock())
    version.check_signable()
    name = clean_signer_name(cmd.signer_name)
    problems = {}
    if len(name) < 2:
        problems["signer_name"] = "Veuillez saisir vos nom et prénom."
    elif len(name) > 200:
        problems["signer_name"] = "Le nom saisi est trop long (200 caractères au plus)."
    if not cmd.consent:
        problems["consent"] = "Veuillez cocher la case pour accepter le devis."
    if problems:
        raise InvalidArgument(problems)
    result = signer.sign(commands.SignatureRequest(
        tenant_id=link.tenant, quote_id=link.quote_id, version=version.version,
        document_sha256=version.pdf_sha256, signer_name=name, consent=True,
        consent_text=consent_text_for(version, money), ip=cmd.ip, user_agent=cmd.user_agent,
        signer_email=link.recipient.get("email", "")))
    with uow:  # the page shows "signé" now; signature.completed confirms it later
        current = uow.read_model.version(link.tenant, link.quote_id, version.version)
        if current is not None and current.status != model.SIGNED:
            current.mark_signed(result.signer_name or name, parse_time(result.signed_at) or clock(),
                                result.signed_pdf_sha256)
            uow.read_model.save_version(current)
            uow.commit()
    return result


EVENT_HANDLERS = {
    events.QuoteSent: quote_sent,
    events.SignatureCompleted: signature_completed,
}

COMMAND_HANDLERS = {
    commands.RecordView: record_view,
    commands.RecordDownload: record_download,
    commands.Sign: sign,
}
