"""QuoteService over gRPC: proto -> command -> handler -> proto. Errors map in quoteflow.grpcserver."""
from __future__ import annotations

from quoteflow import auth
from quoteflow.envelope import rfc3339
from quoteflow.v1 import common_pb2, quotes_pb2, quotes_pb2_grpc
from services.quotes import handlers
from services.quotes.adapters.repository import decode_page_token, encode_page_token
from services.quotes.domain import commands, model

_line_pb = handlers.line_pb


def _lines(items) -> tuple[commands.LineInput, ...]:
    return tuple(commands.LineInput(description=l.description, quantity=l.quantity, unit_price=l.unit_price,
                                    vat_rate=l.vat_rate, unit=l.unit, discount_percent=l.discount_percent,
                                    product_ref=l.product_ref) for l in items)


def _time(moment) -> str:
    return rfc3339(moment) if moment else ""


def quote_pb(quote: model.Quote, detail: handlers.QuoteDetail | None = None) -> quotes_pb2.Quote:
    message = quotes_pb2.Quote(
        id=quote.id, number=quote.number, status=quote.status, account_id=quote.account_id,
        contact_id=quote.contact_id, assignee_id=quote.assignee_id, title=quote.title, deal_id=quote.deal_id,
        totals=handlers.totals_pb(quote.totals), valid_until=quote.valid_until.isoformat(),
        created_at=rfc3339(quote.created_at), updated_at=_time(quote.updated_at), view_count=quote.view_count,
        download_count=quote.download_count, last_viewed_at=_time(quote.last_viewed_at),
        send_action=quote.send_action, terms=quote.terms, version=quote.last_version,
        unsent_changes=quote.unsent_changes,
        lines=[_line_pb(l) for l in quote.lines], optional_lines=[_line_pb(l) for l in quote.optional_lines],
        documents=[handlers.document_pb(d) for d in quote.documents],
        history=[quotes_pb2.HistoryEntry(at=rfc3339(h.at), kind=h.kind, actor=h.actor, detail=h.detail)
                 for h in quote.history],
        versions=[quotes_pb2.Version(number=v.number, pdf_sha256=v.pdf_sha256, sent_at=rfc3339(v.sent_at),
                                     recipient_email=v.recipient_email, last_sent_at=rfc3339(v.last_sent_at),
                                     last_recipient_email=v.last_recipient_email, send_count=v.send_count)
                  for v in quote.versions],
    )
    if quote.signature:
        s = quote.signature
        message.signature.CopyFrom(quotes_pb2.SignatureBanner(
            signer_name=s.signer_name, signer_email=s.signer_email, signed_at=s.signed_at, request_id=s.request_id,
            document_sha256=s.document_sha256, evidence_sha256=s.evidence_sha256,
            signed_pdf_sha256=s.signed_pdf_sha256, proof_sha256=s.proof_sha256, version=s.version))
    if quote.decline:
        d = quote.decline
        message.decline.CopyFrom(quotes_pb2.Decline(
            signer_name=d.signer_name, signer_email=d.signer_email, reason=d.reason, declined_at=d.declined_at,
            request_id=d.request_id, version=d.version))
    if detail is not None:
        message.invoices.extend(quotes_pb2.SalesDocumentRef(id=i, number=n, created_at=rfc3339(at))
                                for i, n, at in detail.invoices)
        message.orders.extend(quotes_pb2.SalesDocumentRef(id=i, number=n, created_at=rfc3339(at))
                              for i, n, at in detail.orders)
        message.tasks.extend(task_pb(t) for t in detail.tasks)
    return message


def summary_pb(row: model.QuoteSummary) -> quotes_pb2.Quote:
    return quotes_pb2.Quote(
        id=row.id, number=row.number, status=row.status, account_id=row.account_id, contact_id=row.contact_id,
        assignee_id=row.assignee_id, deal_id=row.deal_id, title=row.title,
        totals=common_pb2.Totals(total_ht=str(row.total_ht), total_vat=str(row.total_vat),
                                 total_ttc=str(row.total_ttc), currency="EUR"),
        valid_until=row.valid_until.isoformat(), created_at=rfc3339(row.created_at), updated_at=_time(row.updated_at),
        view_count=row.view_count, download_count=row.download_count, last_viewed_at=_time(row.last_viewed_at),
        send_action=row.send_action, version=row.version, unsent_changes=row.unsent_changes)


def task_pb(task: model.Task) -> quotes_pb2.Task:
    return quotes_pb2.Task(id=task.id, quote_id=task.quote_id, title=task.title,
                           due_date=task.due_date.isoformat() if task.due_date else "", assignee_id=task.assignee_id,
                           description=task.description, created_at=rfc3339(task.created_at))


def sales_document_pb(doc: model.SalesDocument) -> quotes_pb2.SalesDocument:
    return quotes_pb2.SalesDocument(
        id=doc.id, kind=doc.kind, number=doc.number, quote_id=doc.quote_id, quote_number=doc.quote_number,
        account_id=doc.account_id, contact_id=doc.contact_id, assignee_id=doc.assignee_id, title=doc.title,
        lines=[_line_pb(l) for l in doc.lines], totals=handlers.totals_pb(doc.totals),
        created_at=rfc3339(doc.created_at))


def equipment_pb(item: model.Equipment, product: model.Product | None) -> quotes_pb2.Equipment:
    return quotes_pb2.Equipment(
        id=item.id, account_id=item.account_id, product_id=item.product_id, serial_number=item.serial_number,
        install_date=item.install_date.isoformat() if item.install_date else "",
        warranty_end=item.warranty_end.isoformat() if item.warranty_end else "",
        product_reference=product.reference if product else "", product_label=product.label if product else "")


def settings_pb(value: model.Settings) -> quotes_pb2.Settings:
    return quotes_pb2.Settings(
        esignature_enabled=value.esignature_enabled,
        company=common_pb2.Company(name=value.company.name, address=value.company.address,
                                   siret=value.company.siret, vat_number=value.company.vat_number),
        default_validity_days=value.default_validity_days, default_terms=value.default_terms,
        signature_otp=value.signature_otp, extra_vat_rates=[str(r) for r in value.extra_vat_rates],
        branding=common_pb2.Branding(logo_sha256=value.branding.logo_sha256,
                                     logo_content_type=value.branding.logo_content_type, color=value.branding.color),
        vat_rates=[str(r) for r in value.vat_rates])


class QuoteServicer(quotes_pb2_grpc.QuoteServiceServicer):
    def __init__(self, app):
        self.app = app

    def _detail(self, tenant: str, quote_id: str) -> quotes_pb2.Quote:
        detail = self.app.query(handlers.quote_detail, tenant, quote_id)
        return quote_pb(detail.quote, detail)

    # ------------------------------------------------------------ directory

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

    def UpsertDeal(self, request, context):
        deal = self.app.handle(commands.UpsertDeal(
            tenant=auth.tenant(), id=request.id, account_id=request.account_id, title=request.title,
            contact_id=request.contact_id, assignee_id=request.assignee_id))
        return quotes_pb2.Deal(id=deal.id, account_id=deal.account_id, contact_id=deal.contact_id,
                               assignee_id=deal.assignee_id, title=deal.title)

    def UpsertProduct(self, request, context):
        product = self.app.handle(commands.UpsertProduct(
            tenant=auth.tenant(), id=request.id, reference=request.reference, label=request.label,
            unit_price=request.unit_price, vat_rate=request.vat_rate, unit=request.unit))
        return quotes_pb2.Product(id=product.id, reference=product.reference, label=product.label,
                                  unit_price=str(product.unit_price), vat_rate=str(product.vat_rate),
                                  unit=product.unit)

    def UpsertEquipment(self, request, context):
        item, product = self.app.handle(commands.UpsertEquipment(
            tenant=auth.tenant(), id=request.id, account_id=request.account_id, product_id=request.product_id,
            serial_number=request.serial_number, install_date=request.install_date,
            warranty_end=request.warranty_end))
        return equipment_pb(item, product)

    def ListEquipment(self, request, context):
        found = self.app.query(handlers.list_equipment, auth.tenant(), request.account_id, request.quote_id)
        return quotes_pb2.ListEquipmentResponse(equipment=[equipment_pb(i, p) for i, p in found])

    # ------------------------------------------------------------ settings

    def GetSettings(self, request, context):
        return settings_pb(self.app.query(handlers.get_settings, auth.tenant()))

    def UpdateSettings(self, request, context):
        value = self.app.handle(commands.UpdateSettings(
            tenant=auth.tenant(), esignature_enabled=request.esignature_enabled,
            company_name=request.company.name, company_address=request.company.address,
            siret=request.company.siret, vat_number=request.company.vat_number,
            default_validity_days=request.default_validity_days or 30, default_terms=request.default_terms,
            signature_otp=request.signature_otp, extra_vat_rates=tuple(request.extra_vat_rates),
            color=request.branding.color, logo=request.logo, remove_logo=request.remove_logo,
            fields=tuple(request.update_mask.paths) if request.HasField("update_mask") else None))
        return settings_pb(value)

    # ------------------------------------------------------------ quotes

    def CreateQuote(self, request, context):
        tenant = auth.tenant()
        quote = self.app.handle(commands.CreateQuote(
            tenant=tenant, account_id=request.account_id, contact_id=request.contact_id,
            assignee_id=request.assignee_id, title=request.title, valid_until=request.valid_until,
            terms=request.terms, deal_id=request.deal_id, lines=_lines(request.lines),
            optional_lines=_lines(request.optional_lines), idempotency_key=request.idempotency_key))
        return self._detail(tenant, quote.id)

    def GetQuote(self, request, context):
        return self._detail(auth.tenant(), request.quote_id)

    def ListQuotes(self, request, context):
        order_by = request.order_by or "-created_at"
        after = decode_page_token(request.page_token, order_by) if request.page_token else None
        query = model.ListQuery(tenant=auth.tenant(), page_size=request.page_size or 50, status=request.status,
                                account_id=request.account_id, assignee_id=request.assignee_id,
                                deal_id=request.deal_id, text=request.text, order_by=order_by, after=after)
        rows = self.app.query(handlers.list_quotes, query)
        response = quotes_pb2.ListQuotesResponse(quotes=[summary_pb(r) for r in rows])
        if len(rows) == query.page_size:
            response.next_page_token = encode_page_token(order_by, rows[-1])
        return response

    def UpdateQuote(self, request, context):
        tenant = auth.tenant()
        quote = self.app.handle(commands.UpdateQuote(
            tenant=tenant, quote_id=request.quote_id, fields=tuple(request.update_mask.paths), title=request.title,
            lines=_lines(request.lines), optional_lines=_lines(request.optional_lines),
            valid_until=request.valid_until, terms=request.terms, contact_id=request.contact_id,
            assignee_id=request.assignee_id, deal_id=request.deal_id))
        return self._detail(tenant, quote.id)

    def SendQuote(self, request, context):
        tenant = auth.tenant()
        quote, version, pdf_sha256, link = self.app.handle(commands.SendQuote(
            tenant=tenant, quote_id=request.quote_id, recipient_contact_id=request.recipient_contact_id,
            template=request.template, subject=request.subject, body=request.body, attach_pdf=request.attach_pdf,
            request_signature=request.request_signature if request.HasField("request_signature") else None,
            idempotency_key=request.idempotency_key))
        return quotes_pb2.SendQuoteResponse(quote=self._detail(tenant, quote.id), version=version,
                                            pdf_sha256=pdf_sha256, link_url=link)

    def AddDocument(self, request, context):
        tenant = auth.tenant()
        quote = self.app.handle(commands.AddDocument(tenant=tenant, quote_id=request.quote_id, name=request.name,
                                                     content=request.content,
                                                     idempotency_key=request.idempotency_key))
        return self._detail(tenant, quote.id)

    def RemoveDocument(self, request, context):
        tenant = auth.tenant()
        quote = self.app.handle(commands.RemoveDocument(tenant=tenant, quote_id=request.quote_id,
                                                        sha256=request.sha256))
        return self._detail(tenant, quote.id)

    def GetQuoteFile(self, request, context):
        found = self.app.query(handlers.get_quote_file, auth.tenant(), request.quote_id, request.sha256)
        return quotes_pb2.File(name=found.name, content_type=found.content_type, sha256=found.sha256,
                               content=found.content)

    # ------------------------------------------------------------ actions

    def DuplicateQuote(self, request, context):
        tenant = auth.tenant()
        copy = self.app.handle(commands.DuplicateQuote(tenant=tenant, quote_id=request.quote_id,
                                                       idempotency_key=request.idempotency_key))
        return self._detail(tenant, copy.id)

    def CreateInvoice(self, request, context):
        return sales_document_pb(self.app.handle(commands.CreateSalesDocument(
            tenant=auth.tenant(), quote_id=request.quote_id, kind="invoice",
            idempotency_key=request.idempotency_key)))

    def CreateOrder(self, request, context):
        return sales_document_pb(self.app.handle(commands.CreateSalesDocument(
            tenant=auth.tenant(), quote_id=request.quote_id, kind="order", idempotency_key=request.idempotency_key)))

    def WithdrawQuote(self, request, context):
        tenant = auth.tenant()
        quote = self.app.handle(commands.WithdrawQuote(tenant=tenant, quote_id=request.quote_id,
                                                       reason=request.reason))
        return self._detail(tenant, quote.id)

    def CreateTask(self, request, context):
        return task_pb(self.app.handle(commands.CreateTask(
            tenant=auth.tenant(), quote_id=request.quote_id, title=request.title, due_date=request.due_date,
            assignee_id=request.assignee_id, description=request.description,
            idempotency_key=request.idempotency_key)))
