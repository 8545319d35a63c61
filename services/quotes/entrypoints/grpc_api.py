"""QuoteService over gRPC: proto -> command -> handler -> proto. Errors map in quoteflow.grpcserver."""
from __future__ import annotations

from quoteflow import auth
from quoteflow.envelope import rfc3339
from quoteflow.errors import InvalidArgument
from quoteflow.v1 import common_pb2, quotes_pb2, quotes_pb2_grpc
from services.quotes import handlers
from services.quotes.adapters.repository import decode_page_token, encode_page_token
from services.quotes.domain import commands, model


def quote_pb(quote: model.Quote, *, full: bool = True) -> quotes_pb2.Quote:
    message = quotes_pb2.Quote(
        id=quote.id, number=quote.number, status=quote.status, account_id=quote.account_id,
        contact_id=quote.contact_id, assignee_id=quote.assignee_id, title=quote.title,
        totals=handlers.totals_pb(quote.totals), valid_until=quote.valid_until.isoformat(),
        created_at=rfc3339(quote.created_at), view_count=quote.view_count, download_count=quote.download_count,
        last_viewed_at=rfc3339(quote.last_viewed_at) if quote.last_viewed_at else "",
        send_action=quote.send_action, terms=quote.terms,
    )
    if quote.signature:
        s = quote.signature
        message.signature.CopyFrom(quotes_pb2.SignatureBanner(
            signer_name=s.signer_name, signer_email=s.signer_email, signed_at=s.signed_at, request_id=s.request_id,
            document_sha256=s.document_sha256, evidence_sha256=s.evidence_sha256,
            signed_pdf_sha256=s.signed_pdf_sha256, proof_sha256=s.proof_sha256))
    if full:
        message.lines.extend(common_pb2.QuoteLine(
            description=l.description, product_ref=l.product_ref, quantity=str(l.quantity), unit=l.unit,
            unit_price=str(l.unit_price), discount_percent=str(l.discount_percent), vat_rate=str(l.vat_rate),
            total_ht=str(l.total_ht)) for l in quote.lines)
        message.history.extend(quotes_pb2.HistoryEntry(at=rfc3339(h.at), kind=h.kind, actor=h.actor, detail=h.detail)
                               for h in quote.history)
        message.versions.extend(quotes_pb2.Version(number=v.number, pdf_sha256=v.pdf_sha256,
                                                   sent_at=rfc3339(v.sent_at), recipient_email=v.recipient_email)
                                for v in quote.versions)
    return message


def settings_pb(value: model.Settings) -> quotes_pb2.Settings:
    return quotes_pb2.Settings(
        esignature_enabled=value.esignature_enabled,
        company=common_pb2.Company(name=value.company.name, address=value.company.address,
                                   siret=value.company.siret, vat_number=value.company.vat_number),
        default_validity_days=value.default_validity_days, default_terms=value.default_terms)


class QuoteServicer(quotes_pb2_grpc.QuoteServiceServicer):
    def __init__(self, app):
        self.app = app

    def UpsertAccount(self, request, context):
        account = self.app.handle(commands.UpsertAccount(tenant=auth.tenant(), id=request.id, name=request.name,
                                                         address=request.address))
        return quotes_pb2.Account(id=account.id, name=account.name, address=account.address)

    def UpsertContact(self, request, context):
        contact = self.app.handle(commands.UpsertContact(
            tenant=auth.tenant(), id=request.id, account_id=request.account_id, name=request.name,
            email=request.email, phone=request.phone))
        return quotes_pb2.Contact(id=contact.id, account_id=contact.account_id, name=contact.name,
                                  email=contact.email, phone=contact.phone)

    def UpsertUser(self, request, context):
        user = self.app.handle(commands.UpsertUser(tenant=auth.tenant(), id=request.id, name=request.name,
                                                   email=request.email, mobile=request.mobile))
        return quotes_pb2.User(id=user.id, name=user.name, email=user.email, mobile=user.mobile)

    def GetSettings(self, request, context):
        return settings_pb(self.app.query(handlers.get_settings, auth.tenant()))

    def UpdateSettings(self, request, context):
        value = self.app.handle(commands.UpdateSettings(
            tenant=auth.tenant(), esignature_enabled=request.esignature_enabled,
            company_name=request.company.name, company_address=request.company.address,
            siret=request.company.siret, vat_number=request.company.vat_number,
            default_validity_days=request.default_validity_days or 30, default_terms=request.default_terms))
        return settings_pb(value)

    def CreateQuote(self, request, context):
        quote = self.app.handle(commands.CreateQuote(
            tenant=auth.tenant(), account_id=request.account_id, contact_id=request.contact_id,
            assignee_id=request.assignee_id, title=request.title, valid_until=request.valid_until,
            terms=request.terms,
            lines=tuple(commands.LineInput(description=l.description, quantity=l.quantity, unit_price=l.unit_price,
                                           vat_rate=l.vat_rate, unit=l.unit, discount_percent=l.discount_percent,
                                           product_ref=l.product_ref) for l in request.lines)))
        return quote_pb(quote)

    def GetQuote(self, request, context):
        return quote_pb(self.app.query(handlers.get_quote, auth.tenant(), request.quote_id))

    def ListQuotes(self, request, context):
        tenant = auth.tenant()
        size = request.page_size or 50
        if not 1 <= size <= 200:
            raise InvalidArgument({"page_size": "must be between 1 and 200"})
        after = None
        if request.page_token:
            try:
                after = decode_page_token(request.page_token)
            except Exception:
                raise InvalidArgument({"page_token": "is not a token this service returned"}) from None
        with self.app.uow() as uow:
            quotes = uow.quotes.list(tenant, page_size=size, after=after, status=request.status)
        response = quotes_pb2.ListQuotesResponse(quotes=[quote_pb(q, full=False) for q in quotes])
        if len(quotes) == size:
            response.next_page_token = encode_page_token(quotes[-1].created_at, quotes[-1].id)
        return response

    def SendQuote(self, request, context):
        quote, version, pdf_sha256, link = self.app.handle(commands.SendQuote(
            tenant=auth.tenant(), quote_id=request.quote_id, recipient_contact_id=request.recipient_contact_id,
            template=request.template, subject=request.subject, body=request.body, attach_pdf=request.attach_pdf,
            request_signature=request.request_signature))
        return quotes_pb2.SendQuoteResponse(quote=quote_pb(quote), version=version, pdf_sha256=pdf_sha256,
                                            link_url=link)
