"""One function per command and per event; dependencies are injected by bootstrap()."""
from __future__ import annotations

import hashlib
import secrets
import uuid
from datetime import date, datetime, time, timedelta, timezone
from typing import Callable

from quoteflow.envelope import Envelope, rfc3339
from quoteflow.errors import FailedPrecondition, InvalidArgument, NotFound
from quoteflow.v1 import common_pb2, events_pb2
from services.quotes.domain import commands, events, model

SOURCE = "quoteflow/quotes"
Clock = Callable[[], datetime]


def _text(value: str, field: str, *, maximum: int, required: bool = True) -> str:
    value = (value or "").strip()
    if required and not value:
        raise InvalidArgument({field: "is required"})
    if len(value) > maximum:
        raise InvalidArgument({field: f"at most {maximum} characters"})
    if any(ord(c) < 32 and c not in "\n\t" for c in value):
        raise InvalidArgument({field: "contains control characters"})
    return value


def _email(value: str, field: str) -> str:
    value = _text(value, field, maximum=320)
    local, at, domain = value.rpartition("@")
    if not at or not local or "." not in domain or any(c in value for c in " \n\r<>,;\""):
        raise InvalidArgument({field: f"{value!r} is not an email address"})
    return value


def upsert_account(cmd: commands.UpsertAccount, uow) -> model.Account:
    account = model.Account(tenant=cmd.tenant, id=_text(cmd.id, "id", maximum=64),
                            name=_text(cmd.name, "name", maximum=200),
                            address=_text(cmd.address, "address", maximum=1000, required=False))
    with uow:
        uow.directory.save_account(account)
        uow.commit()
    return account


def upsert_contact(cmd: commands.UpsertContact, uow) -> model.Contact:
    contact = model.Contact(tenant=cmd.tenant, id=_text(cmd.id, "id", maximum=64),
                            account_id=_text(cmd.account_id, "account_id", maximum=64),
                            name=_text(cmd.name, "name", maximum=200), email=_email(cmd.email, "email"),
                            phone=_text(cmd.phone, "phone", maximum=40, required=False))
    with uow:
        if uow.directory.account(cmd.tenant, contact.account_id) is None:
            raise NotFound(f"account {contact.account_id!r} not found")
        uow.directory.save_contact(contact)
        uow.commit()
    return contact


def upsert_user(cmd: commands.UpsertUser, uow) -> model.User:
    user = model.User(tenant=cmd.tenant, id=_text(cmd.id, "id", maximum=64),
                      name=_text(cmd.name, "name", maximum=200), email=_email(cmd.email, "email"),
                      mobile=_text(cmd.mobile, "mobile", maximum=40, required=False))
    with uow:
        uow.directory.save_user(user)
        uow.commit()
    return user


def update_settings(cmd: commands.UpdateSettings, uow) -> model.Settings:
    if not 1 <= cmd.default_validity_days <= 3650:
        raise InvalidArgument({"default_validity_days": "must be between 1 and 3650"})
    value = model.Settings(
        tenant=cmd.tenant, esignature_enabled=cmd.esignature_enabled,
        company=model.Company(name=_text(cmd.company_name, "company.name", maximum=200, required=False),
                              address=_text(cmd.company_address, "company.address", maximum=1000, required=False),
                              siret=_text(cmd.siret, "company.siret", maximum=20, required=False),
                              vat_number=_text(cmd.vat_number, "company.vat_number", maximum=20, required=False)),
        default_validity_days=cmd.default_validity_days,
        default_terms=_text(cmd.default_terms, "default_terms", maximum=10000, required=False))
    with uow:
        uow.directory.save_settings(value)
        uow.commit()
    return value


def get_settings(tenant: str, uow) -> model.Settings:
    with uow:
        return uow.directory.settings(tenant)


def create_quote(cmd: commands.CreateQuote, uow, clock: Clock) -> model.Quote:
    title = _text(cmd.title, "title", maximum=300, required=False)
    if len(cmd.lines) > model.MAX_LINES:
        raise InvalidArgument({"lines": f"at most {model.MAX_LINES} lines"})
    lines = [model.Line.parse(i, **vars(line)) for i, line in enumerate(cmd.lines)]
    now = clock()
    with uow:
        account = uow.directory.account(cmd.tenant, cmd.account_id)
        if account is None:
            raise NotFound(f"account {cmd.account_id!r} not found")
        contact = uow.directory.contact(cmd.tenant, cmd.contact_id)
        if contact is None:
            raise NotFound(f"contact {cmd.contact_id!r} not found")
        if contact.account_id != account.id:
            raise InvalidArgument({"contact_id": f"contact {contact.id!r} is not a contact of account {account.id!r}"})
        if uow.directory.user(cmd.tenant, cmd.assignee_id) is None:
            raise NotFound(f"user {cmd.assignee_id!r} (assignee) not found")
        settings = uow.directory.settings(cmd.tenant)
        if cmd.valid_until:
            try:
                valid_until = date.fromisoformat(cmd.valid_until)
            except ValueError:
                raise InvalidArgument({"valid_until": f"{cmd.valid_until!r} is not an ISO date (YYYY-MM-DD)"}) from None
            if valid_until < now.date():
                raise InvalidArgument({"valid_until": "is in the past"})
        else:
            valid_until = now.date() + timedelta(days=settings.default_validity_days)
        number = uow.directory.next_number(cmd.tenant, "DV", now.year)
        quote = model.Quote(
            id=str(uuid.uuid4()), tenant=cmd.tenant, number=f"DV-{now.year}-{number:05d}",
            account_id=account.id, contact_id=contact.id, assignee_id=cmd.assignee_id,
            title=title or f"Devis pour {account.name}", lines=lines, valid_until=valid_until,
            created_at=now, terms=_text(cmd.terms, "terms", maximum=10000, required=False) or settings.default_terms)
        quote.history.append(model.HistoryEntry(at=now, kind="created", actor="crm", detail=quote.number))
        uow.quotes.add(quote)
        uow.commit()
    return quote


def get_quote(tenant: str, quote_id: str, uow) -> model.Quote:
    with uow:
        quote = uow.quotes.get(tenant, quote_id)
    if quote is None:
        raise NotFound(f"quote {quote_id!r} not found")
    return quote


def _party(entity, *, address: str = "") -> common_pb2.Party:
    return common_pb2.Party(id=entity.id, name=entity.name, email=getattr(entity, "email", ""),
                            phone=getattr(entity, "phone", "") or getattr(entity, "mobile", ""), address=address)


def snapshot(quote: model.Quote, version: int, issued_on: date, settings: model.Settings, account: model.Account,
             contact: model.Contact, assignee: model.User) -> common_pb2.QuoteSnapshot:
    totals = quote.totals
    return common_pb2.QuoteSnapshot(
        quote_id=quote.id, number=quote.number, title=quote.title, version=version,
        issued_on=issued_on.isoformat(), valid_until=quote.valid_until.isoformat(),
        company=common_pb2.Company(name=settings.company.name, address=settings.company.address,
                                   siret=settings.company.siret, vat_number=settings.company.vat_number),
        account=common_pb2.Party(id=account.id, name=account.name, address=account.address),
        contact=_party(contact), assignee=_party(assignee),
        lines=[common_pb2.QuoteLine(description=l.description, product_ref=l.product_ref, quantity=str(l.quantity),
                                    unit=l.unit, unit_price=str(l.unit_price),
                                    discount_percent=str(l.discount_percent), vat_rate=str(l.vat_rate),
                                    total_ht=str(l.total_ht)) for l in quote.lines],
        totals=totals_pb(totals), terms=quote.terms)


def totals_pb(totals: model.Totals) -> common_pb2.Totals:
    return common_pb2.Totals(
        total_ht=str(totals.total_ht), total_vat=str(totals.total_vat), total_ttc=str(totals.total_ttc),
        currency="EUR", vat=[common_pb2.VatAmount(rate=str(v.rate), base_ht=str(v.base_ht), vat=str(v.vat))
                             for v in totals.vat])


def send_quote(cmd: commands.SendQuote, uow, pdf, blobs, clock: Clock, portal_base_url: str,
               new_token: Callable[[], str] = lambda: secrets.token_urlsafe(32)):
    """Freezes a version (snapshot, PDF rendered once, its SHA-256, a link) and commits quote.sent with it."""
    subject = _text(cmd.subject, "subject", maximum=300, required=False)
    if "\r" in (cmd.subject or "") or "\n" in (cmd.subject or ""):
        raise InvalidArgument({"subject": "must be a single line"})
    body = _text(cmd.body, "body", maximum=20000, required=False)
    template = _text(cmd.template, "template", maximum=64, required=False)
    now = clock()
    with uow:
        quote = uow.quotes.get(cmd.tenant, cmd.quote_id, for_update=True)
        if quote is None:
            raise NotFound(f"quote {cmd.quote_id!r} not found")
        settings = uow.directory.settings(cmd.tenant)
        if cmd.request_signature and not settings.esignature_enabled:
            raise FailedPrecondition("e-signature is not enabled for this tenant (Configuration > Signature électronique)")
        quote.check_sendable(now.date())
        recipient = uow.directory.contact(cmd.tenant, cmd.recipient_contact_id or quote.contact_id)
        if recipient is None:
            raise NotFound(f"contact {cmd.recipient_contact_id or quote.contact_id!r} not found")
        if recipient.account_id != quote.account_id:
            raise InvalidArgument({"recipient_contact_id": "the recipient must be a contact of the quote's account"})
        account = uow.directory.account(cmd.tenant, quote.account_id)
        assignee = uow.directory.user(cmd.tenant, quote.assignee_id)
        if account is None or assignee is None:
            raise FailedPrecondition("the quote's account or assignee no longer exists")
        number, fresh = quote.next_version_number()
        if fresh:
            frozen = snapshot(quote, number, now.date(), settings, account, recipient, assignee)
            pdf_sha256 = blobs.put(pdf(frozen))
        else:
            frozen = snapshot(quote, number, quote.versions[-1].sent_at.date(), settings, account, recipient, assignee)
            pdf_sha256 = quote.versions[-1].pdf_sha256
        version = model.Version(number=number, content_sha256=quote.content_sha256(), pdf_sha256=pdf_sha256,
                                sent_at=now, recipient_email=recipient.email)
        kind = quote.record_send(version=version, actor=cmd.actor, signature_requested=cmd.request_signature)
        token = new_token()
        token_sha256 = hashlib.sha256(token.encode()).hexdigest()
        link_url = f"{portal_base_url}/d/{token}"
        uow.quotes.add_link(quote.id, number, token_sha256, recipient.email, now)
        uow.quotes.save(quote)
        expires = datetime.combine(quote.valid_until, time(23, 59, 59), tzinfo=timezone.utc)
        uow.emit(Envelope.wrap(events_pb2.QuoteSent(
            quote_id=quote.id, number=quote.number, version=number, kind=kind,
            recipient=_party(recipient), assignee=_party(assignee), link_url=link_url,
            link_token_sha256=token_sha256, expires_at=rfc3339(expires), pdf_sha256=pdf_sha256,
            signature_requested=cmd.request_signature, snapshot=frozen, subject=subject, body=body,
            attach_pdf=cmd.attach_pdf, template=template or ("quote_relance" if kind == "relance" else "quote_send"),
        ), source=SOURCE, subject=f"quote/{quote.id}", tenant=cmd.tenant))
        uow.commit()
    return quote, number, pdf_sha256, link_url


def _quote_for_event(uow, tenant: str, quote_id: str) -> model.Quote:
    quote = uow.quotes.get(tenant, quote_id, for_update=True)
    if quote is None:
        raise NotFound(f"quote {quote_id!r} of tenant {tenant!r} not found")
    return quote


def quote_viewed(event: events.QuoteViewed, uow) -> None:
    quote = _quote_for_event(uow, event.tenant, event.quote_id)
    quote.record_view(event.at, event.who, event.ip, event.user_agent)
    uow.quotes.save(quote)


def quote_downloaded(event: events.QuoteDownloaded, uow) -> None:
    quote = _quote_for_event(uow, event.tenant, event.quote_id)
    quote.record_download(event.at, event.who, event.ip, event.user_agent)
    uow.quotes.save(quote)


def signature_requested(event: events.SignatureRequested, uow) -> None:
    quote = _quote_for_event(uow, event.tenant, event.quote_id)
    quote.record_signature_requested(event.at, event.signer_email)
    uow.quotes.save(quote)


def signature_completed(event: events.SignatureCompleted, uow) -> None:
    quote = _quote_for_event(uow, event.tenant, event.quote_id)
    quote.accept(model.SignatureBanner(
        signer_name=event.signer_name, signer_email=event.signer_email, signed_at=event.signed_at,
        request_id=event.request_id, document_sha256=event.document_sha256, evidence_sha256=event.evidence_sha256,
        signed_pdf_sha256=event.signed_pdf_sha256, proof_sha256=event.proof_sha256), event.at)
    uow.quotes.save(quote)


# Event handlers run inside the consumer's unit of work (inbox + effect + commit).
EVENT_HANDLERS = {
    events.QuoteViewed: quote_viewed,
    events.QuoteDownloaded: quote_downloaded,
    events.SignatureRequested: signature_requested,
    events.SignatureCompleted: signature_completed,
}

COMMAND_HANDLERS = {
    commands.UpsertAccount: upsert_account,
    commands.UpsertContact: upsert_contact,
    commands.UpsertUser: upsert_user,
    commands.UpdateSettings: update_settings,
    commands.CreateQuote: create_quote,
    commands.SendQuote: send_quote,
}
