"""What the portal does: one plain function per event it hears and per command a client sends."""
from __future__ import annotations

import logging
from contextlib import contextmanager
from datetime import datetime
from typing import Callable

from quoteflow.errors import DataLoss, DomainError, InvalidArgument, NotFound
from quoteflow.outbox import FactWriter
from quoteflow.uow import AlreadyHandled
from services.portal.adapters.messages import envelope_of, parse_time
from services.portal.adapters.signature import Signer
from services.portal.adapters.unit_of_work import PortalUnitOfWork
from services.portal.domain import commands, events, model, visitors
from services.portal.i18n import Texts

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]


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
                signature_requested=event.signature_requested, assignee=event.assignee,
                signature_otp=event.signature_otp)
        else:  # the same version sent again (a relance, another recipient)
            if event.signature_requested:  # a relance never withdraws a signature asked before
                version.signature_requested, version.signature_otp = True, event.signature_otp
            version.assignee = event.assignee or version.assignee
        newer = [v for v in rm.versions_of(event.tenant, event.quote_id) if v.version > event.version]
        if newer:
            version.supersede()
        rm.save_version(version)
        for older in rm.versions_of(event.tenant, event.quote_id):
            if older.version < event.version and older.status == model.OPEN:
                older.supersede()
                rm.save_version(older)
        _close_older_links(rm, event)
        recipient = (event.recipient.get("email") or "").strip().lower()
        newer_to_recipient = any(
            other.version > event.version and other.recipient_email == recipient
            for other in rm.links_of(event.tenant, event.quote_id))
        rm.add_link(model.Link(
            token_sha256=event.link_token_sha256, tenant=event.tenant, quote_id=event.quote_id,
            version=event.version, recipient=event.recipient, expires_at=event.expires_at,
            superseded=bool(newer) and newer_to_recipient, revoked=bool(newer) and not newer_to_recipient),
            clock())
        uow.commit()


def _close_older_links(rm, event: events.QuoteSent) -> None:
    """Links of older versions die: "superseded" for this recipient (they got the new one), else "revoked"."""
    recipient = (event.recipient.get("email") or "").strip().lower()
    for link in rm.links_of(event.tenant, event.quote_id):
        if link.version >= event.version or link.superseded:
            continue
        if recipient and link.recipient_email == recipient:
            link.superseded, link.revoked = True, False
        else:
            link.revoked = True
        rm.save_link_state(link)


def assignee_changed(event: events.QuoteAssigneeChanged, uow: PortalUnitOfWork, clock: Clock) -> None:
    """Every version of the quote names the new assignee: the pages' contact and « Envoyer un retour », and
    the view and download events the notifier alerts from. The snapshot's assignee goes too: the page fills
    what the assignee leaves empty from it, and must not give the new salesperson the previous one's phone."""
    with uow:
        try:
            uow.record_inbox(event)
        except AlreadyHandled:
            return
        versions = uow.read_model.versions_of(event.tenant, event.quote_id)
        if not versions:  # quote.sent not here yet: retried by the consumer
            raise NotFound(f"quote {event.quote_id} has no version in the read model")
        for version in versions:
            version.assignee = dict(event.assignee)
            version.snapshot = {**version.snapshot, "assignee": dict(event.assignee)}
            uow.read_model.save_version(version)
        uow.commit()


def quote_withdrawn(event: events.QuoteWithdrawn, uow: PortalUnitOfWork, clock: Clock) -> None:
    """Every link of the withdrawn versions shows « Devis retiré »; a version sent afterwards (the quote edited,
    then sent) is not touched."""
    with uow:
        try:
            uow.record_inbox(event)
        except AlreadyHandled:
            return
        rm = uow.read_model
        if rm.version(event.tenant, event.quote_id, event.version) is None:  # quote.sent not here yet: retried
            raise NotFound(f"version {event.version} of quote {event.quote_id} is not in the read model")
        for version in rm.versions_of(event.tenant, event.quote_id):
            if version.version <= event.version:
                version.withdraw()
                rm.save_version(version)
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


def signature_declined(event: events.SignatureDeclined, uow: PortalUnitOfWork, clock: Clock) -> None:
    with uow:
        try:
            uow.record_inbox(event)
        except AlreadyHandled:
            return
        version = uow.read_model.version(event.tenant, event.quote_id, event.version)
        if version is None:
            raise NotFound(f"version {event.version} of quote {event.quote_id} is not in the read model")
        version.mark_declined(event.reason, event.declined_at, event.signer_name)
        uow.read_model.save_version(version)
        uow.commit()


# --- reading a link --------------------------------------------------------------------------

def open_link(token_sha256: str, uow, now: datetime):
    """(link, version, page state) of a known link; LinkNotFound otherwise. Inside ``uow``."""
    link, version = uow.read_model.link_and_version(token_sha256)
    if link is None or version is None:
        raise model.LinkNotFound(token_sha256)
    if link.superseded or link.revoked:
        version.supersede()
    return link, version, model.page_state(link, version, now)


def _readable(token_sha256: str, uow: PortalUnitOfWork, now: datetime):
    link, version, state = open_link(token_sha256, uow, now)
    if state not in model.READABLE:
        raise model.LinkClosed(state, link, version)
    return link, version, state


def show(token_sha256: str, uow, clock: Clock):
    """A page's read: ``uow`` is a unit of work or a ReadOnlyReadModel (anything with ``read_model``)."""
    with uow:
        return open_link(token_sha256, uow, clock())


# --- views that are real (see services/portal/domain/visitors.py) ---------------------------

def signed_copy(cmd: commands.GetSignedCopy, reader, signer: Signer, clock: Clock, blobs) -> model.Version:
    """The signed version whose copy may go out: in the blob store, and the very file the signature service
    vouches for now, once it checked its evidence. A copy whose evidence was found altered never goes out
    (DataLoss), though this portal holds it: the service's word is asked for each signed copy served (a
    rare download; the frozen PDF's fast path asks nothing)."""
    link, version, state = show(cmd.token_sha256, reader, clock)
    if state != model.STATE_SIGNED:
        raise model.DocumentMissing("not signed")
    if not blobs.exists(version.signed_pdf_sha256):
        raise model.DocumentMissing(version.signed_pdf_sha256)
    try:
        vouched = signer.vouched_signed_pdf(link.tenant, link.quote_id, version.version)
    except DataLoss as broken:
        log.critical("signed copy of quote %s v%d (tenant %s) refused: its evidence was found altered (%s)",
                     version.quote_id, version.version, link.tenant, broken)
        raise
    if vouched != version.signed_pdf_sha256:
        log.critical("signed copy %s of quote %s v%d (tenant %s) refused: the signature service vouches for %s",
                     version.signed_pdf_sha256, version.quote_id, version.version, link.tenant, vouched or "none")
        raise DataLoss(f"the signed copy of quote {version.quote_id} v{version.version} is not the one the "
                       "signature service vouches for")
    return version


def _confirm(uow: PortalUnitOfWork, link: model.Link, version: model.Version, view_id: str,
             trigger: str, visitor: commands.Visitor, now: datetime, secret: str) -> bool:
    """Records the view ``view_id`` once, in ``uow``'s transaction; False when it does not count."""
    if visitors.automated(visitor.user_agent, visitor.purpose):
        return False
    if not model.view_id_valid(secret, link.token_sha256, view_id):
        return False
    if not uow.read_model.confirm_view(view_id, link.token_sha256, trigger, now):
        return False
    uow.emit(envelope_of(events.QuoteViewed(
        tenant=link.tenant, quote_id=link.quote_id, number=version.number, version=version.version,
        recipient_email=link.recipient.get("email", ""), ip=visitor.ip, user_agent=visitor.user_agent, at=now,
        assignee=version.assignee)))
    return True


def _tell_opened(signer: Signer, link: model.Link, version: model.Version, visitor: commands.Visitor) -> None:
    """Evidence "opened" for a quote awaiting signature; best effort, never breaks the page."""
    if not version.signable:
        return
    try:
        signer.record_opened(commands.OpenedNotice(tenant_id=link.tenant, quote_id=link.quote_id,
                                                   version=version.version, ip=visitor.ip,
                                                   user_agent=visitor.user_agent))
    except Exception as error:  # noqa: BLE001 -- the view is recorded; the evidence step is extra
        log.warning("RecordOpened failed for quote %s v%d: %s", link.quote_id, version.version, error)


def confirm_view(cmd: commands.ConfirmView, uow: PortalUnitOfWork, reader, signer: Signer, clock: Clock,
                 secret: str) -> bool:
    """The page's beacon: the link is read as the page was (``reader``), and a transaction is opened only
    for a view that may still count."""
    now = clock()
    link, version, state = show(cmd.token_sha256, reader, lambda: now)
    if state not in model.READABLE or reader.view_counted(cmd.view_id):
        return False
    with uow:
        counted = _confirm(uow, link, version, cmd.view_id, cmd.trigger, cmd.visitor, now, secret)
        if counted:
            uow.commit()
    if counted:
        _tell_opened(signer, link, version, cmd.visitor)
    return counted


def record_download(cmd: commands.RecordDownload, uow: PortalUnitOfWork, reader, signer: Signer, clock: Clock,
                    blobs, secret: str, facts: FactWriter):
    """A download of the frozen PDF that sends bytes: counted unless a machine asked; confirms the page view.

    The link is read as a page is (``reader``: no transaction). A download that confirms its page's
    view writes both in one transaction; otherwise the ``portal.quote_downloaded`` event is all there
    is to write, and ``facts`` makes it durable together with the other requests' that arrived
    meanwhile (confirmed by the broker, or committed in the outbox). Either way before the bytes go out."""
    now = clock()
    link, version, state = show(cmd.token_sha256, reader, lambda: now)
    if state not in model.READABLE:
        raise model.LinkClosed(state, link, version)
    if not blobs.exists(version.pdf_sha256):
        log.error("frozen PDF %s of quote %s v%d is not in the blob store", version.pdf_sha256,
                  version.quote_id, version.version)
        raise model.DocumentMissing(version.pdf_sha256)
    if visitors.automated(cmd.visitor.user_agent, cmd.visitor.purpose):
        return link, version  # served, recorded nowhere
    downloaded = envelope_of(events.QuoteDownloaded(
        tenant=link.tenant, quote_id=link.quote_id, number=version.number, version=version.version,
        recipient_email=link.recipient.get("email", ""), ip=cmd.visitor.ip,
        user_agent=cmd.visitor.user_agent, at=now, assignee=version.assignee,
        pdf_sha256=version.pdf_sha256))
    viewed = False
    if cmd.view_id and not reader.view_counted(cmd.view_id):  # else no transaction to open
        with uow:
            viewed = _confirm(uow, link, version, cmd.view_id, "download", cmd.visitor, now, secret)
            if viewed:
                uow.emit(downloaded)
                uow.commit()
    if viewed:
        _tell_opened(signer, link, version, cmd.visitor)
    else:
        facts.write([downloaded])
    return link, version


# --- signing, the one-time code, declining ------------------------------------------------

# The signature service's reasons (google.rpc.ErrorInfo, listed in proto/quoteflow/v1/signature.proto) as the
# client sees them: a closed request is the quote's 409 page; a code problem is a message on the code field of
# the page sent back with its form (catalogue key "field.<key>"), saying what to do next.
CLOSED = {"REQUEST_SIGNED": model.SIGNED, "REQUEST_DECLINED": model.DECLINED,
          "REQUEST_SUPERSEDED": model.SUPERSEDED, "REQUEST_EXPIRED": model.STATE_EXPIRED,
          "REQUEST_WITHDRAWN": model.WITHDRAWN}
CODE_PROBLEMS = {"CODE_WRONG": "otp_wrong", "CODE_LOCKED": "otp_locked", "CODE_EXPIRED": "otp_expired",
                 "CODE_NOT_SENT": "otp_not_sent", "CODES_USED_UP": "otp_used_up",
                 "CODE_RESEND_TOO_SOON": "otp_wait", "CODE_MALFORMED": "otp_format"}
_COUNTS = {"otp_wrong": "attempts_left", "otp_wait": "retry_after_seconds", "otp_format": "digits"}


def _count(info: dict[str, str], name: str) -> int | None:
    value = info.get(name, "")
    return int(value) if value.isascii() and value.isdigit() and len(value) < 7 else None


def code_problem(reason: str, info: dict[str, str]) -> tuple[str, dict[str, int]]:
    """(catalogue key under "field.", its values) for a code refusal ``reason`` with the service's ``info``."""
    key = CODE_PROBLEMS[reason]
    if key == "otp_wrong" and _count(info, "attempts_left") == 0:
        key = "otp_locked"    # that was the code's last attempt
    if key in ("otp_locked", "otp_expired", "otp_not_sent") and _count(info, "codes_left") == 0:
        key = "otp_used_up"   # a new code is the way out, and none can be had
    if key not in _COUNTS:
        return key, {}
    count = _count(info, _COUNTS[key])
    if count is None:         # a reason without its number: say it without the number
        return {"otp_wrong": "otp_code", "otp_wait": "otp_wait_soon", "otp_format": "otp_code"}[key], {}
    return (f"{key}_one" if count == 1 else key), {_COUNTS[key]: count}


@contextmanager
def _answering():
    """Turns a refusal of the signature service that names its reason into what the client is shown."""
    try:
        yield
    except DomainError as error:
        if error.reason in CLOSED:
            raise model.NotSignable(CLOSED[error.reason]) from error
        if error.reason in CODE_PROBLEMS:
            key, values = code_problem(error.reason, error.info)
            raise InvalidArgument({"otp_code": key}, str(error), reason=error.reason, info=values) from error
        raise


def consent_text_for(version: model.Version, texts: Texts, money: Callable[..., str]) -> str:
    """What the client agrees to, word for word as shown and as kept in the evidence."""
    totals = version.snapshot.get("totals") or {}
    return texts("consent.text", number=version.number,
                 total=money(totals.get("total_ttc", "0"), totals.get("currency") or "EUR"))


def _answerable(token_sha256: str, view_id: str, trigger: str, visitor: commands.Visitor,
                uow: PortalUnitOfWork, signer: Signer, now: datetime, secret: str):
    """The link and version a client answers through (sign, code, decline); confirms the page view."""
    with uow:
        link, version, state = _readable(token_sha256, uow, now)
        if state != model.STATE_OPEN:
            raise model.NotSignable(state)
        version.check_signable()
        counted = _confirm(uow, link, version, view_id, trigger, visitor, now, secret) if view_id else False
        uow.commit()
    if counted:
        _tell_opened(signer, link, version, visitor)
    return link, version


def sign(cmd: commands.Sign, uow: PortalUnitOfWork, signer: Signer, clock: Clock, texts: Texts,
         money: Callable[..., str], secret: str) -> commands.SignatureResult:
    """Checks the link, the version and the form, asks the signature service, then shows the version signed."""
    link, version = _answerable(cmd.token_sha256, cmd.view_id, "sign", cmd.visitor, uow, signer, clock(), secret)
    name = model.clean_line(cmd.signer_name)
    problems = {}
    if problem := model.signer_name_problem(name):
        problems["signer_name"] = problem
    if not cmd.consent:
        problems["consent"] = "consent"
    code = "".join(cmd.otp_code.split())[:20]
    if version.otp_channel and not code:
        problems["otp_code"] = "otp_missing"
    try:
        png = model.drawn_signature(cmd.signature_data_url)
    except ValueError:
        problems["signature_png"] = "signature_png"
        png = b""
    if problems:
        raise InvalidArgument(problems)
    with _answering():
        result = signer.sign(commands.SignatureRequest(
            tenant_id=link.tenant, quote_id=link.quote_id, version=version.version,
            document_sha256=version.pdf_sha256, signer_name=name, consent=True,
            consent_text=consent_text_for(version, texts, money), ip=cmd.visitor.ip,
            user_agent=cmd.visitor.user_agent, signer_email=link.recipient.get("email", ""),
            otp_code=code if version.otp_channel else "", signature_png=png))
    with uow:  # the page shows "signé" now; signature.completed confirms it later
        current = uow.read_model.version(link.tenant, link.quote_id, version.version)
        if current is not None and current.status != model.SIGNED:
            current.mark_signed(result.signer_name or name, parse_time(result.signed_at) or clock(),
                                result.signed_pdf_sha256)
            uow.read_model.save_version(current)
            uow.commit()
    return result


def request_code(cmd: commands.RequestCode, uow: PortalUnitOfWork, signer: Signer, clock: Clock,
                 secret: str) -> model.CodeSent:
    link, version = _answerable(cmd.token_sha256, cmd.view_id, "code", cmd.visitor, uow, signer, clock(), secret)
    if not version.otp_channel:
        raise model.NotSignable("no_code")
    with _answering():
        result = signer.request_code(commands.CodeRequest(
            tenant_id=link.tenant, quote_id=link.quote_id, version=version.version, ip=cmd.visitor.ip,
            user_agent=cmd.visitor.user_agent))
    sent = model.CodeSent(channel=result.channel or version.otp_channel, to=result.masked_recipient,
                          expires_at=parse_time(result.expires_at))
    with uow:
        current = uow.read_model.link(link.token_sha256)
        current.code = sent
        uow.read_model.save_link_state(current)
        uow.commit()
    return sent


def decline(cmd: commands.Decline, uow: PortalUnitOfWork, signer: Signer, clock: Clock,
            secret: str) -> commands.DeclineResult:
    link, version = _answerable(cmd.token_sha256, cmd.view_id, "decline", cmd.visitor, uow, signer, clock(),
                                secret)
    reason = model.clean_text(cmd.reason)
    name = model.clean_line(cmd.name)[:model.MAX_NAME]
    if problem := model.reason_problem(reason):
        raise InvalidArgument({"reason": problem})
    with _answering():
        result = signer.decline(commands.DeclineRequest(
            tenant_id=link.tenant, quote_id=link.quote_id, version=version.version, reason=reason,
            signer_name=name, signer_email=link.recipient.get("email", ""), ip=cmd.visitor.ip,
            user_agent=cmd.visitor.user_agent))
    with uow:  # shown at once; signature.declined confirms it later
        current = uow.read_model.version(link.tenant, link.quote_id, version.version)
        if current is not None and current.status == model.OPEN:
            current.mark_declined(reason, parse_time(result.declined_at) or clock(), name)
            uow.read_model.save_version(current)
            uow.commit()
    return result


EVENT_HANDLERS = {
    events.QuoteSent: quote_sent,
    events.QuoteAssigneeChanged: assignee_changed,
    events.QuoteWithdrawn: quote_withdrawn,
    events.SignatureCompleted: signature_completed,
    events.SignatureDeclined: signature_declined,
}

COMMAND_HANDLERS = {
    commands.ConfirmView: confirm_view,
    commands.RecordDownload: record_download,
    commands.GetSignedCopy: signed_copy,
    commands.Sign: sign,
    commands.RequestCode: request_code,
    commands.Decline: decline,
}
