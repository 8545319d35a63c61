"""One function per command and per event; dependencies are injected by bootstrap()."""
from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import json
import logging
import secrets
import uuid
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Callable

from quoteflow import sealing, validity
from quoteflow.addresses import email_problem, phone_problem
from quoteflow.blobs import BlobNotFound
from quoteflow.envelope import Envelope, rfc3339
from quoteflow.errors import FailedPrecondition, InvalidArgument, NotFound
from quoteflow.ids import has_control_characters, has_line_break
from quoteflow.v1 import common_pb2, events_pb2
from services.quotes.adapters.messages import SOURCE
from services.quotes.domain import commands, events, model
from services.quotes.domain.files import MAX_LOGO_BYTES, Document, check_document_name, identify, identify_logo
from services.quotes.domain.validation import Check, Printable, lookup_id

IDEMPOTENCY_DAYS = 7
Clock = Callable[[], datetime]
log = logging.getLogger(__name__)


# ---------------------------------------------------------------- helpers


def _text(value: str, field: str, *, maximum: int, required: bool = True) -> str:
    check = Check()
    value = check.text(value, field, maximum=maximum, required=required)
    check.done()
    return value


def _found(value, what: str, key: str):
    if value is None:
        raise NotFound(f"{what} {key[:64]!r} not found")
    return value


def _quote(uow, tenant: str, quote_id: str, *, for_update: bool = True, with_history: bool = False) -> model.Quote:
    quote = uow.quotes.get(tenant, quote_id, for_update=for_update, with_history=with_history) \
        if lookup_id(quote_id) else None
    return _found(quote, "quote", quote_id or "")


def _directory(uow, kind: str, tenant: str, key: str):
    if not lookup_id(key):
        return None
    return getattr(uow.directory, kind)(tenant, key)


def _fingerprint(cmd) -> str:
    def default(value):
        if isinstance(value, bytes):
            return hashlib.sha256(value).hexdigest()
        return str(value)

    doc = {k: v for k, v in asdict(cmd).items() if k not in ("idempotency_key", "actor")}
    return hashlib.sha256(json.dumps(doc, sort_keys=True, default=default).encode()).hexdigest()


def _check_idempotency_key(key: str) -> None:
    if key and (len(key) > 128 or key != key.strip() or has_control_characters(key, allow_newlines=False)):
        raise InvalidArgument({"idempotency_key": "1 to 128 printable characters without surrounding spaces"})


def _replay(uow, cmd, operation: str, now: datetime) -> dict | None:
    """Claims ``cmd.idempotency_key`` in this transaction; returns the first call's result when it was used."""
    key = getattr(cmd, "idempotency_key", "")
    if not key:
        return None
    prior = uow.idempotency.claim(cmd.tenant, key, operation, _fingerprint(cmd), now)
    if prior is None:
        return None
    if prior["operation"] != operation or prior["request_sha256"] != _fingerprint(cmd):
        raise FailedPrecondition(f"idempotency_key {key!r} was already used for a different request "
                                 f"({prior['operation']}); use a new key for a new request")
    return prior["result"] or {}


def _remember(uow, cmd, result: dict) -> None:
    if getattr(cmd, "idempotency_key", ""):
        uow.idempotency.complete(cmd.tenant, cmd.idempotency_key, result)


def _parse_lines(inputs, prefix: str, tenant: str, settings: model.Settings, uow, check: Check,
                 maximum: int) -> list[model.Line]:
    """``check.printable`` is passed on: each line is printed in the PDF."""
    """Lines checked field by field; a line naming a catalogue product takes what it leaves empty from it."""
    if len(inputs) > maximum:
        check.add(prefix, f"at most {maximum} lines")
        return []
    lines = []
    products: dict[str, model.Product | None] = {}
    for i, raw in enumerate(inputs):
        values = dict(description=raw.description, quantity=raw.quantity, unit_price=raw.unit_price,
                      vat_rate=raw.vat_rate, unit=raw.unit, discount_percent=raw.discount_percent,
                      product_ref=raw.product_ref)
        ref = (raw.product_ref or "").strip()
        if ref:
            if ref not in products:
                products[ref] = uow.directory.product_by_reference(tenant, ref) \
                    if len(ref) <= 64 and not has_control_characters(ref) else None
            product = products[ref]
            if product is None:
                check.add(f"{prefix}[{i}].product_ref", f"no product with reference {ref[:64]!r} in the catalogue")
                continue
            values["description"] = raw.description or product.label
            values["unit_price"] = raw.unit_price or str(product.unit_price)
            values["vat_rate"] = raw.vat_rate or str(product.vat_rate)
            values["unit"] = raw.unit or product.unit
        try:
            lines.append(model.Line.parse(i, allowed_rates=settings.vat_rates, prefix=prefix,
                                          printable=check.printable, **values))
        except InvalidArgument as error:
            check.merge(error)
    return lines


def _valid_until(check: Check, text: str, today: date, settings: model.Settings) -> date | None:
    if not (text or "").strip():
        return model.default_valid_until(today, settings)
    value = check.iso_date(text, "valid_until")
    if value is not None and value < today:
        check.add("valid_until", "is in the past")
    elif value is not None and value > today + timedelta(days=3650):
        check.add("valid_until", "at most 10 years ahead")
    return value


# ---------------------------------------------------------------- directory


def upsert_account(cmd: commands.UpsertAccount, uow, printable: Printable) -> model.Account:
    check = Check(printable=printable)
    account = model.Account(tenant=cmd.tenant, id=check.ident(cmd.id, "id"),
                            name=check.text(cmd.name, "name", maximum=200, required=True, single_line=True,
                                            printed=True),
                            address=check.text(cmd.address, "address", maximum=1000, printed=True))
    check.done()
    with uow:
        uow.directory.save_account(account)
        uow.commit()
    return account


def upsert_contact(cmd: commands.UpsertContact, uow, printable: Printable) -> model.Contact:
    check = Check(printable=printable)
    contact = model.Contact(tenant=cmd.tenant, id=check.ident(cmd.id, "id"),
                            account_id=check.ident(cmd.account_id, "account_id"),
                            name=check.text(cmd.name, "name", maximum=200, required=True, single_line=True,
                                            printed=True),
                            email=check.email(cmd.email, "email"), phone=check.phone(cmd.phone, "phone"))
    check.done()
    with uow:
        _found(uow.directory.account(cmd.tenant, contact.account_id), "account", contact.account_id)
        uow.directory.save_contact(contact)
        uow.commit()
    return contact


def _assignee_changed(tenant: str, quote_id: str, number: str, assignee: model.User, previous_id: str,
                      at: datetime) -> Envelope:
    """quote.assignee_changed: the portal and the notifier forget the assignee quote.sent told them."""
    return Envelope.wrap(events_pb2.QuoteAssigneeChanged(
        quote_id=quote_id, number=number, assignee=_party(assignee), previous_assignee_id=previous_id,
        changed_at=rfc3339(at)), source=SOURCE, subject=f"quote/{quote_id}", tenant=tenant)


def upsert_user(cmd: commands.UpsertUser, uow, clock: Clock, printable: Printable) -> model.User:
    """A salesperson's new name, email or mobile reaches every quote of theirs already sent: one
    quote.assignee_changed per quote (portal and notifier keep the assignee per quote). An upsert that
    changes none of them (a CRM syncing its users) publishes nothing."""
    check = Check(printable=printable)
    user = model.User(tenant=cmd.tenant, id=check.ident(cmd.id, "id"),
                      name=check.text(cmd.name, "name", maximum=200, required=True, single_line=True,
                                      printed=True),
                      email=check.email(cmd.email, "email"), mobile=check.phone(cmd.mobile, "mobile"))
    check.done()
    with uow:
        before = uow.directory.user(cmd.tenant, user.id)
        uow.directory.save_user(user)
        if before is not None and _party(before) != _party(user):
            now = clock()
            for quote_id, number in uow.quotes.sent_assigned_to(cmd.tenant, user.id):
                uow.emit(_assignee_changed(cmd.tenant, quote_id, number, user, user.id, now))
        uow.commit()
    return user


def upsert_deal(cmd: commands.UpsertDeal, uow, printable: Printable) -> model.Deal:
    check = Check(printable=printable)  # the title becomes the title of the quotes made from the deal
    deal = model.Deal(tenant=cmd.tenant, id=check.ident(cmd.id, "id"),
                      account_id=check.ident(cmd.account_id, "account_id"),
                      title=check.text(cmd.title, "title", maximum=300, required=True, single_line=True,
                                       printed=True),
                      contact_id=check.ident(cmd.contact_id, "contact_id", required=False),
                      assignee_id=check.ident(cmd.assignee_id, "assignee_id", required=False))
    check.done()
    with uow:
        _found(uow.directory.account(cmd.tenant, deal.account_id), "account", deal.account_id)
        if deal.contact_id:
            contact = _found(uow.directory.contact(cmd.tenant, deal.contact_id), "contact", deal.contact_id)
            if contact.account_id != deal.account_id:
                raise InvalidArgument({"contact_id": f"contact {contact.id!r} is not a contact of account "
                                                     f"{deal.account_id!r}"})
        if deal.assignee_id:
            _found(uow.directory.user(cmd.tenant, deal.assignee_id), "user", deal.assignee_id)
        uow.directory.save_deal(deal)
        uow.commit()
    return deal


def upsert_product(cmd: commands.UpsertProduct, uow, printable: Printable) -> model.Product:
    check = Check(printable=printable)  # what a quote line takes from the product is printed
    key = check.ident(cmd.id, "id")
    reference = check.text(cmd.reference, "reference", maximum=64, required=True, single_line=True, printed=True)
    label = check.text(cmd.label, "label", maximum=2000, required=True, printed=True)
    unit = check.text(cmd.unit, "unit", maximum=20, single_line=True, printed=True)
    price = check.decimal(cmd.unit_price, "unit_price", model.UNIT_PRICE)
    check.done()
    with uow:
        settings = uow.directory.settings(cmd.tenant)
        rate = model.parse_vat_rate(cmd.vat_rate, "vat_rate", settings.vat_rates, check)
        holder = uow.directory.product_by_reference(cmd.tenant, reference)
        if holder is not None and holder.id != key:
            check.add("reference", f"already the reference of product {holder.id!r}")
        check.done()
        product = model.Product(tenant=cmd.tenant, id=key, reference=reference, label=label, unit_price=price,
                                vat_rate=rate, unit=unit)
        uow.directory.save_product(product)
        uow.commit()
    return product


def upsert_equipment(cmd: commands.UpsertEquipment, uow) -> tuple[model.Equipment, model.Product]:
    check = Check()
    item = model.Equipment(tenant=cmd.tenant, id=check.ident(cmd.id, "id"),
                           account_id=check.ident(cmd.account_id, "account_id"),
                           product_id=check.ident(cmd.product_id, "product_id"),
                           serial_number=check.text(cmd.serial_number, "serial_number", maximum=100,
                                                    single_line=True),
                           install_date=check.iso_date(cmd.install_date, "install_date"),
                           warranty_end=check.iso_date(cmd.warranty_end, "warranty_end"))
    if item.install_date and item.warranty_end and item.warranty_end < item.install_date:
        check.add("warranty_end", "is before install_date")
    check.done()
    with uow:
        _found(uow.directory.account(cmd.tenant, item.account_id), "account", item.account_id)
        product = _found(uow.directory.product(cmd.tenant, item.product_id), "product", item.product_id)
        uow.directory.save_equipment(item)
        uow.commit()
    return item, product


def list_equipment(tenant: str, account_id: str, quote_id: str, uow):
    """The account's installed equipment ("parc matériel"), or that of the quote's account."""
    with uow:
        if quote_id:
            account_id = _quote(uow, tenant, quote_id, for_update=False).account_id
        elif not account_id:
            raise InvalidArgument({"account_id": "is required (or quote_id)"})
        _found(_directory(uow, "account", tenant, account_id), "account", account_id)
        return uow.directory.equipment_of(tenant, account_id)


# ---------------------------------------------------------------- settings


def _settings_fields(cmd: commands.UpdateSettings) -> frozenset[str]:
    """The fields an UpdateSettings changes: those its update_mask names, or all of them without a mask
    (the logo apart: without a mask it changes only when ``logo`` or ``remove_logo`` says so)."""
    if cmd.fields is None:
        return frozenset(name for leaves in commands.SETTINGS_PATHS.values() for name in leaves if name != "logo")
    check = Check()
    fields: set[str] = set()
    if not cmd.fields:
        check.add("update_mask", "name the fields to change: " + ", ".join(commands.SETTINGS_PATHS))
    for path in cmd.fields:
        if path not in commands.SETTINGS_PATHS:
            check.add("update_mask", f"{path[:40]!r} is not a setting; name some of: "
                                     + ", ".join(commands.SETTINGS_PATHS))
        else:
            fields.update(commands.SETTINGS_PATHS[path])
    if (cmd.logo or cmd.remove_logo) and "logo" not in fields:
        check.add("update_mask", "name 'logo' to change the logo (logo or remove_logo given)")
    check.done()
    return frozenset(fields)


def _check_rates_unused(uow, tenant: str, removed: set[Decimal]) -> None:
    """A rate a catalogue product or a Brouillon quote still has cannot go: every quote with that product,
    every edit of those lines would then be refused."""
    if not removed:
        return
    products = uow.directory.products_at_rates(tenant, removed)
    drafts = uow.quotes.drafts_at_rates(tenant, removed)
    if not products and not drafts:
        return
    users = [f"product {p.reference!r} ({p.vat_rate} %)" for p in products]
    users += [f"Brouillon quote {number} ({', '.join(str(r) for r in sorted(rates))} %)"
              for number, rates in drafts]
    listed = ", ".join(users[:10]) + (f" and {len(users) - 10} more" if len(users) > 10 else "")
    rates = ", ".join(str(r) for r in sorted(removed))
    raise FailedPrecondition(f"extra_vat_rates: {rates} cannot be removed, still used by {listed}; give them "
                             "another rate first (to change other settings only, send an update_mask naming them)")


def update_settings(cmd: commands.UpdateSettings, uow, blobs, images, printable: Printable) -> model.Settings:
    """Changes the fields the update_mask names (every one without a mask: see quotes.proto, Settings)."""
    fields = _settings_fields(cmd)
    check = Check(printable=printable)
    if "default_validity_days" in fields and not 1 <= cmd.default_validity_days <= 3650:
        check.add("default_validity_days", "must be between 1 and 3650")
    named = {
        "company.name": lambda: check.text(cmd.company_name, "company.name", maximum=200, single_line=True,
                                           printed=True),
        "company.address": lambda: check.text(cmd.company_address, "company.address", maximum=1000, printed=True),
        "company.siret": lambda: model.check_siret(cmd.siret, check),
        "company.vat_number": lambda: model.check_vat_number(cmd.vat_number, check),
        "default_terms": lambda: check.text(cmd.default_terms, "default_terms", maximum=10000, printed=True),
        "signature_otp": lambda: check.choice(cmd.signature_otp, "signature_otp", model.OTP_CHANNELS),
        "extra_vat_rates": lambda: model.parse_extra_vat_rates(cmd.extra_vat_rates, check),
        "branding.color": lambda: check.color(cmd.color, "branding.color"),
    }
    given = {name: read() for name, read in named.items() if name in fields}
    logo_type = ""
    if cmd.logo:
        if len(cmd.logo) > MAX_LOGO_BYTES:
            check.add("logo", f"{len(cmd.logo)} bytes; at most {MAX_LOGO_BYTES} bytes")
        else:
            try:
                _, logo_type = identify_logo(cmd.logo)
                images.check(cmd.logo)
            except InvalidArgument as error:
                check.merge(error)
            except ValueError as error:
                check.add("logo", f"is not a readable image: {error}"[:200])
    check.done()
    with uow:
        current = uow.directory.settings(cmd.tenant)
        rates = given.get("extra_vat_rates", current.extra_vat_rates)
        _check_rates_unused(uow, cmd.tenant, set(current.extra_vat_rates) - set(rates))
        company = model.Company(**{name: given.get(f"company.{name}", getattr(current.company, name))
                                   for name in ("name", "address", "siret", "vat_number")})
        branding = model.Branding(logo_sha256=current.branding.logo_sha256,
                                  logo_content_type=current.branding.logo_content_type,
                                  color=given.get("branding.color", current.branding.color))
        if cmd.logo:
            branding.logo_sha256, branding.logo_content_type = blobs.put(cmd.logo), logo_type
        elif cmd.remove_logo or "logo" in fields:
            branding.logo_sha256 = branding.logo_content_type = ""
        value = model.Settings(
            tenant=cmd.tenant, company=company, extra_vat_rates=rates, branding=branding,
            esignature_enabled=cmd.esignature_enabled if "esignature_enabled" in fields else current.esignature_enabled,
            default_validity_days=cmd.default_validity_days if "default_validity_days" in fields
            else current.default_validity_days,
            default_terms=given.get("default_terms", current.default_terms),
            signature_otp=given.get("signature_otp", current.signature_otp))
        uow.directory.save_settings(value)
        uow.commit()
    return value


def get_settings(tenant: str, uow) -> model.Settings:
    with uow:
        return uow.directory.settings(tenant)


# ---------------------------------------------------------------- quotes


def create_quote(cmd: commands.CreateQuote, uow, clock: Clock, printable: Printable,
                 zone: str = validity.DEFAULT_ZONE) -> model.Quote:
    """From the list, an account, a contact or a deal: what is not given is taken from what is."""
    check = Check(printable=printable)
    title = check.text(cmd.title, "title", maximum=300, single_line=True, printed=True)
    terms = check.text(cmd.terms, "terms", maximum=10000, printed=True)
    for name in ("account_id", "contact_id", "assignee_id", "deal_id"):
        check.ident(getattr(cmd, name), name, required=False)
    _check_idempotency_key(cmd.idempotency_key)
    check.done()
    now = clock()
    with uow:
        replay = _replay(uow, cmd, "CreateQuote", now)
        if replay is not None:
            return _quote(uow, cmd.tenant, replay["quote_id"], for_update=False)
        account_id, contact_id, assignee_id = cmd.account_id, cmd.contact_id, cmd.assignee_id
        if cmd.deal_id:
            deal = _found(uow.directory.deal(cmd.tenant, cmd.deal_id), "deal", cmd.deal_id)
            if account_id and account_id != deal.account_id:
                raise InvalidArgument({"deal_id": f"deal {deal.id!r} belongs to account {deal.account_id!r}, "
                                                  f"not {account_id!r}"})
            account_id = deal.account_id
            contact_id = contact_id or deal.contact_id
            assignee_id = assignee_id or deal.assignee_id
            title = title or deal.title
        contact = None
        if contact_id:
            contact = _found(uow.directory.contact(cmd.tenant, contact_id), "contact", contact_id)
            account_id = account_id or contact.account_id
            if contact.account_id != account_id:
                raise InvalidArgument({"contact_id": f"contact {contact.id!r} is not a contact of account "
                                                     f"{account_id!r}"})
        if not account_id:
            raise InvalidArgument({"account_id": "is required (or a contact_id or deal_id to take it from)"})
        account = _found(uow.directory.account(cmd.tenant, account_id), "account", account_id)
        if not assignee_id:
            raise InvalidArgument({"assignee_id": "is required (the salesperson the quote is assigned to)"})
        _found(uow.directory.user(cmd.tenant, assignee_id), "user (assignee)", assignee_id)
        settings = uow.directory.settings(cmd.tenant)
        lines = _parse_lines(cmd.lines, "lines", cmd.tenant, settings, uow, check, model.MAX_LINES)
        optional = _parse_lines(cmd.optional_lines, "optional_lines", cmd.tenant, settings, uow, check,
                                model.MAX_OPTIONAL_LINES)
        valid_until = _valid_until(check, cmd.valid_until, validity.local_day(now, zone), settings)
        check.done()
        number = uow.directory.next_number(cmd.tenant, "DV", now.year)
        quote = model.Quote(
            id=str(uuid.uuid4()), tenant=cmd.tenant, number=f"DV-{now.year}-{number:05d}",
            account_id=account.id, contact_id=contact.id if contact else "", assignee_id=assignee_id,
            title=title or f"Devis pour {account.name}", lines=lines, valid_until=valid_until, created_at=now,
            terms=terms or settings.default_terms, deal_id=cmd.deal_id, optional_lines=optional, updated_at=now)
        origin = f"depuis l'affaire {cmd.deal_id}" if cmd.deal_id else (
            f"depuis le contact {contact.name}" if cmd.contact_id and not cmd.account_id else "")
        quote.record_action(now, "created", cmd.actor, f"{quote.number} {origin}".strip())
        uow.quotes.add(quote)
        _remember(uow, cmd, {"quote_id": quote.id})
        uow.commit()
    return quote


def update_quote(cmd: commands.UpdateQuote, uow, clock: Clock, printable: Printable,
                 zone: str = validity.DEFAULT_ZONE) -> model.Quote:
    check = Check(printable=printable)
    unknown = [f for f in cmd.fields if f not in commands.EDITABLE]
    if not cmd.fields:
        check.add("update_mask", "name the fields to change: " + ", ".join(commands.EDITABLE))
    elif unknown:
        check.add("update_mask", f"{unknown[0][:40]!r} cannot be changed; editable: " + ", ".join(commands.EDITABLE))
    check.done()
    now = clock()
    changes: dict = {}
    with uow:
        quote = _quote(uow, cmd.tenant, cmd.quote_id)
        quote.check_editable()
        settings = uow.directory.settings(cmd.tenant)
        fields = set(cmd.fields)
        if "title" in fields:
            changes["title"] = check.text(cmd.title, "title", maximum=300, required=True, single_line=True,
                                          printed=True)
        if "terms" in fields:
            changes["terms"] = check.text(cmd.terms, "terms", maximum=10000, printed=True)
        if "valid_until" in fields:
            if not cmd.valid_until:
                check.add("valid_until", "is required")
            else:
                changes["valid_until"] = _valid_until(check, cmd.valid_until, validity.local_day(now, zone), settings)
        if "lines" in fields:
            changes["lines"] = _parse_lines(cmd.lines, "lines", cmd.tenant, settings, uow, check, model.MAX_LINES)
        if "optional_lines" in fields:
            changes["optional_lines"] = _parse_lines(cmd.optional_lines, "optional_lines", cmd.tenant, settings, uow,
                                                     check, model.MAX_OPTIONAL_LINES)
        for name in ("contact_id", "assignee_id", "deal_id"):
            if name in fields:
                changes[name] = check.ident(getattr(cmd, name), name, required=name == "assignee_id")
        check.done()
        if changes.get("contact_id"):
            contact = _found(uow.directory.contact(cmd.tenant, changes["contact_id"]), "contact", changes["contact_id"])
            if contact.account_id != quote.account_id:
                raise InvalidArgument({"contact_id": f"contact {contact.id!r} is not a contact of the quote's account"})
        assignee = None
        if changes.get("assignee_id"):
            assignee = _found(uow.directory.user(cmd.tenant, changes["assignee_id"]), "user (assignee)",
                              changes["assignee_id"])
        if changes.get("deal_id"):
            deal = _found(uow.directory.deal(cmd.tenant, changes["deal_id"]), "deal", changes["deal_id"])
            if deal.account_id != quote.account_id:
                raise InvalidArgument({"deal_id": f"deal {deal.id!r} belongs to another account"})
        previous_assignee = quote.assignee_id
        if quote.revise(now, cmd.actor, **changes):
            if assignee is not None and assignee.id != previous_assignee and quote.versions:
                # Its links are out there: the client's next view, a signature, « Envoyer un retour » go to them.
                uow.emit(_assignee_changed(cmd.tenant, quote.id, quote.number, assignee, previous_assignee, now))
            uow.quotes.save(quote)
            uow.commit()
    return quote


def get_quote(tenant: str, quote_id: str, uow) -> model.Quote:
    with uow:
        return _quote(uow, tenant, quote_id, for_update=False, with_history=True)


@dataclass
class QuoteDetail:
    quote: model.Quote
    invoices: list = field(default_factory=list)
    orders: list = field(default_factory=list)
    tasks: list = field(default_factory=list)


def quote_detail(tenant: str, quote_id: str, uow) -> QuoteDetail:
    """The quote with its full history, versions, banner, and the invoices, orders and tasks made from it."""
    with uow:
        found = uow.quotes.detail(tenant, quote_id) if lookup_id(quote_id) else None
    quote, made, tasks = _found(found, "quote", quote_id or "")
    return QuoteDetail(quote=quote, invoices=[m[1:] for m in made if m[0] == "invoice"],
                       orders=[m[1:] for m in made if m[0] == "order"], tasks=tasks)


def list_quotes(query: model.ListQuery, uow) -> list[model.QuoteSummary]:
    check = Check()
    if not 1 <= query.page_size <= 200:
        check.add("page_size", "must be between 1 and 200")
    if query.status and query.status not in model.Status.ALL:
        check.add("status", f"{query.status[:20]!r} is not one of {', '.join(model.Status.ALL)}")
    for name in ("account_id", "assignee_id", "deal_id"):
        check.ident(getattr(query, name), name, required=False)
    check.text(query.text, "text", maximum=200, single_line=True)
    if query.order_by.lstrip("-") not in model.SORTABLE or query.order_by.count("-") > 1:
        check.add("order_by", f"{query.order_by[:30]!r}: sort by one of {', '.join(model.SORTABLE)} "
                              "(a leading '-' for descending)")
    check.done()
    with uow:
        return uow.quotes.list(query)


def _party(entity, *, address: str = "") -> common_pb2.Party:
    return common_pb2.Party(id=entity.id, name=entity.name, email=getattr(entity, "email", ""),
                            phone=getattr(entity, "phone", "") or getattr(entity, "mobile", ""), address=address)


def line_pb(line: model.Line) -> common_pb2.QuoteLine:
    return common_pb2.QuoteLine(description=line.description, product_ref=line.product_ref,
                                quantity=str(line.quantity), unit=line.unit, unit_price=str(line.unit_price),
                                discount_percent=str(line.discount_percent), vat_rate=str(line.vat_rate),
                                total_ht=str(line.total_ht))


def document_pb(document: Document) -> common_pb2.Attachment:
    return common_pb2.Attachment(name=document.name, content_type=document.content_type, sha256=document.sha256,
                                 size=document.size)


def snapshot(quote: model.Quote, version: int, issued_on: date, settings: model.Settings, account: model.Account,
             contact: model.Contact, assignee: model.User) -> common_pb2.QuoteSnapshot:
    return common_pb2.QuoteSnapshot(
        quote_id=quote.id, number=quote.number, title=quote.title, version=version,
        issued_on=issued_on.isoformat(), valid_until=quote.valid_until.isoformat(),
        company=common_pb2.Company(name=settings.company.name, address=settings.company.address,
                                   siret=settings.company.siret, vat_number=settings.company.vat_number),
        account=common_pb2.Party(id=account.id, name=account.name, address=account.address),
        contact=_party(contact), assignee=_party(assignee),
        lines=[line_pb(l) for l in quote.lines], totals=totals_pb(quote.totals), terms=quote.terms,
        optional_lines=[line_pb(l) for l in quote.optional_lines],
        documents=[document_pb(d) for d in quote.documents],
        branding=common_pb2.Branding(logo_sha256=settings.branding.logo_sha256,
                                     logo_content_type=settings.branding.logo_content_type,
                                     color=settings.branding.color))


def totals_pb(totals: model.Totals) -> common_pb2.Totals:
    return common_pb2.Totals(
        total_ht=str(totals.total_ht), total_vat=str(totals.total_vat), total_ttc=str(totals.total_ttc),
        currency="EUR", vat=[common_pb2.VatAmount(rate=str(v.rate), base_ht=str(v.base_ht), vat=str(v.vat))
                             for v in totals.vat])


def _derived_token(secret: str, nonce: str) -> str:
    """The link token of a send made with an idempotency key: HMAC(secret, random nonce). The nonce is kept
    with the key so a replay gives the same link; the token itself is never stored."""
    digest = hmac.new(secret.encode(), f"quote link\0{nonce}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def _logo(blobs, settings: model.Settings) -> bytes | None:
    if not settings.branding.logo_sha256:
        return None
    try:
        return blobs.get(settings.branding.logo_sha256)
    except BlobNotFound:
        log.warning("logo %s of tenant %s is missing from the blob store", settings.branding.logo_sha256,
                    settings.tenant)
        return None


def send_quote(cmd: commands.SendQuote, uow, pdf, blobs, clock: Clock, portal_base_url: str, link_secret: str = "",
               new_token: Callable[[], str] = lambda: secrets.token_urlsafe(32), zone: str = validity.DEFAULT_ZONE,
               seal_key: str = ""):
    """Freezes a version (snapshot, PDF rendered once, its SHA-256, a link) and commits quote.sent with it;
    the event carries the link sealed for the notifier (``seal_key``), never in clear."""
    check = Check()
    subject = check.text(cmd.subject, "subject", maximum=300, single_line=True)
    body = check.text(cmd.body, "body", maximum=20000)
    template = check.text(cmd.template, "template", maximum=64, single_line=True)
    check.ident(cmd.recipient_contact_id, "recipient_contact_id", required=False)
    _check_idempotency_key(cmd.idempotency_key)
    check.done()
    if has_line_break(cmd.subject):  # even at its ends, which check.text strips
        raise InvalidArgument({"subject": "must be a single line"})
    now = clock()
    with uow:
        replay = _replay(uow, cmd, "SendQuote", now)
        if replay is not None:
            quote = _quote(uow, cmd.tenant, replay["quote_id"], for_update=False)
            return quote, replay["version"], replay["pdf_sha256"], \
                f"{portal_base_url}/d/{_derived_token(link_secret, replay['link_nonce'])}"
        quote = _quote(uow, cmd.tenant, cmd.quote_id)
        settings = uow.directory.settings(cmd.tenant)
        # The manual: « Demander une signature électronique » is on by default once e-signature is on.
        requested = settings.esignature_enabled if cmd.request_signature is None else cmd.request_signature
        if requested and not settings.esignature_enabled:
            raise FailedPrecondition("e-signature is not enabled for this tenant (Configuration > Signature électronique)")
        quote.check_sendable(validity.local_day(now, zone))
        recipient_id = cmd.recipient_contact_id or quote.contact_id
        if not recipient_id:
            raise InvalidArgument({"recipient_contact_id": "is required: the quote has no contact"})
        recipient = _found(uow.directory.contact(cmd.tenant, recipient_id), "contact", recipient_id)
        if recipient.account_id != quote.account_id:
            raise InvalidArgument({"recipient_contact_id": "the recipient must be a contact of the quote's account"})
        # Stored before quoteflow.addresses was the rule (UpsertContact checks it now): refused here, rather
        # than the quote showing Envoyé and only the history saying later that nothing could be delivered.
        if problem := email_problem(recipient.email):
            raise FailedPrecondition(f"contact {recipient.id!r} ({recipient.name}) cannot be sent the quote: "
                                     f"their email address {recipient.email[:80]!r} is not valid ({problem}); "
                                     "correct it (UpsertContact), then send again")
        otp = settings.signature_otp if requested else ""
        if otp == "sms" and not recipient.phone:
            raise FailedPrecondition(f"the one-time code is sent by SMS and contact {recipient.id!r} has no phone "
                                     "number (Configuration > Signature électronique, or add the phone)")
        if otp == "sms" and (problem := phone_problem(recipient.phone)):
            raise FailedPrecondition(f"the one-time code is sent by SMS and the phone number of contact "
                                     f"{recipient.id!r} ({recipient.name}), {recipient.phone[:40]!r}, cannot receive "
                                     f"it ({problem}); correct it (UpsertContact), then send again")
        account = uow.directory.account(cmd.tenant, quote.account_id)
        # Shared: a change of this user (UpsertUser) waits for this send, then tells quote.assignee_changed
        # for it too.
        assignee = uow.directory.user(cmd.tenant, quote.assignee_id, for_share=True)
        if account is None or assignee is None:
            raise FailedPrecondition("the quote's account or assignee no longer exists")
        number, fresh = quote.next_version_number()
        if fresh:
            frozen = snapshot(quote, number, validity.local_day(now, zone), settings, account, recipient, assignee)
            pdf_sha256 = blobs.put(pdf(frozen, logo=_logo(blobs, settings)))
        else:
            frozen = snapshot(quote, number, quote.versions[-1].sent_at.date(), settings, account, recipient,
                              assignee)
            pdf_sha256 = quote.versions[-1].pdf_sha256
            frozen.issued_on = (quote.versions[-1].content or {}).get("issued_on", frozen.issued_on)
        content = {**quote.content.to_doc(), "issued_on": frozen.issued_on}
        version = model.Version(number=number, content_sha256=quote.content_sha256(), pdf_sha256=pdf_sha256,
                                sent_at=now, recipient_email=recipient.email, content=content)
        kind = quote.record_send(version=version, actor=cmd.actor, signature_requested=requested,
                                 received=() if fresh else uow.quotes.recipients(quote.id, number))
        if kind == "send" and template == "quote_relance":
            template = ""  # they never got this version: a follow-up email would tell them they had
        nonce = secrets.token_urlsafe(24)
        token = _derived_token(link_secret, nonce) if cmd.idempotency_key else new_token()
        token_sha256 = hashlib.sha256(token.encode()).hexdigest()
        link_url = f"{portal_base_url}/d/{token}"
        uow.quotes.add_link(quote.id, number, token_sha256, recipient.email, now)
        uow.quotes.save(quote)
        expires = validity.ends_at(quote.valid_until, zone)  # when the portal and signature close it
        uow.emit(Envelope.wrap(events_pb2.QuoteSent(
            quote_id=quote.id, number=quote.number, version=number, kind=kind,
            recipient=_party(recipient), assignee=_party(assignee),
            sealed_link_url=sealing.seal_link(seal_key, link_url, tenant=cmd.tenant, quote_id=quote.id,
                                              version=number, token_sha256=token_sha256),
            link_token_sha256=token_sha256, expires_at=rfc3339(expires), pdf_sha256=pdf_sha256,
            signature_requested=requested, snapshot=frozen, subject=subject, body=body,
            attach_pdf=cmd.attach_pdf, template=template or ("quote_relance" if kind == "relance" else "quote_send"),
            signature_otp=otp,
        ), source=SOURCE, subject=f"quote/{quote.id}", tenant=cmd.tenant))
        _remember(uow, cmd, {"quote_id": quote.id, "version": number, "pdf_sha256": pdf_sha256, "link_nonce": nonce})
        uow.commit()
    return quote, number, pdf_sha256, link_url


def add_document(cmd: commands.AddDocument, uow, blobs, clock: Clock, printable: Printable) -> model.Quote:
    name = check_document_name(cmd.name)
    problem = printable.unprintable(name)  # the PDF lists the documents by name
    if problem:
        raise InvalidArgument({"name": problem})
    content_type = identify(name, cmd.content)
    _check_idempotency_key(cmd.idempotency_key)
    now = clock()
    with uow:
        replay = _replay(uow, cmd, "AddDocument", now)
        if replay is not None:
            return _quote(uow, cmd.tenant, replay["quote_id"], for_update=False)
        quote = _quote(uow, cmd.tenant, cmd.quote_id)
        document = Document(name=name, content_type=content_type, sha256=hashlib.sha256(cmd.content).hexdigest(),
                            size=len(cmd.content))
        quote.add_document(document, now, cmd.actor)
        blobs.put(cmd.content)  # content-addressed: a rolled-back call leaves a harmless, unreferenced file
        uow.quotes.save(quote)
        _remember(uow, cmd, {"quote_id": quote.id})
        uow.commit()
    return quote


def remove_document(cmd: commands.RemoveDocument, uow, clock: Clock) -> model.Quote:
    now = clock()
    with uow:
        quote = _quote(uow, cmd.tenant, cmd.quote_id)
        quote.remove_document(cmd.sha256 or "", now, cmd.actor)
        uow.quotes.save(quote)
        uow.commit()
    return quote


@dataclass(frozen=True)
class File:
    name: str
    content_type: str
    sha256: str
    content: bytes


def get_quote_file(tenant: str, quote_id: str, sha256: str, uow, blobs) -> File:
    """An attached document or a version's PDF of the quote (nothing else from the blob store)."""
    with uow:
        quote = _quote(uow, tenant, quote_id, for_update=False)
    known: dict[str, tuple[str, str]] = {}
    for version in quote.versions:
        known[version.pdf_sha256] = (f"{quote.number}-v{version.number}.pdf", "application/pdf")
        for d in (version.content or {}).get("documents", []):
            known.setdefault(d[2], (d[0], d[1]))
    for document in quote.documents:
        known[document.sha256] = (document.name, document.content_type)
    if sha256 not in known:
        raise NotFound(f"no file {sha256[:64]!r} on quote {quote.number}")
    try:
        content = blobs.get(sha256)
    except BlobNotFound:
        raise NotFound(f"file {sha256!r} is missing from the blob store") from None
    name, content_type = known[sha256]
    return File(name=name, content_type=content_type, sha256=sha256, content=content)


def duplicate_quote(cmd: commands.DuplicateQuote, uow, clock: Clock, zone: str = validity.DEFAULT_ZONE) -> model.Quote:
    _check_idempotency_key(cmd.idempotency_key)
    now = clock()
    with uow:
        replay = _replay(uow, cmd, "DuplicateQuote", now)
        if replay is not None:
            return _quote(uow, cmd.tenant, replay["quote_id"], for_update=False)
        original = _quote(uow, cmd.tenant, cmd.quote_id)
        settings = uow.directory.settings(cmd.tenant)
        number = uow.directory.next_number(cmd.tenant, "DV", now.year)
        copy = original.duplicate(new_id=str(uuid.uuid4()), number=f"DV-{now.year}-{number:05d}", now=now,
                                  valid_until=model.default_valid_until(validity.local_day(now, zone), settings), actor=cmd.actor)
        uow.quotes.add(copy)
        original.record_action(now, "duplicated", cmd.actor, f"dupliqué en {copy.number}")
        uow.quotes.save(original)
        _remember(uow, cmd, {"quote_id": copy.id})
        uow.commit()
    return copy


def create_sales_document(cmd: commands.CreateSalesDocument, uow, clock: Clock) -> model.SalesDocument:
    """Créer une facture / une commande client depuis un devis: its own number, the quote's lines copied."""
    if cmd.kind not in model.SalesDocument.SERIES:
        raise InvalidArgument({"kind": "must be 'invoice' or 'order'"})
    _check_idempotency_key(cmd.idempotency_key)
    now = clock()
    operation = "CreateInvoice" if cmd.kind == "invoice" else "CreateOrder"
    with uow:
        replay = _replay(uow, cmd, operation, now)
        if replay is not None:
            return _found(uow.quotes.sales_document(cmd.tenant, replay["id"]), cmd.kind, replay["id"])
        quote = _quote(uow, cmd.tenant, cmd.quote_id)
        series = model.SalesDocument.SERIES[cmd.kind]
        sequence = uow.directory.next_number(cmd.tenant, series, now.year)
        doc = model.SalesDocument.from_quote(quote, kind=cmd.kind, new_id=str(uuid.uuid4()),
                                             number=f"{series}-{now.year}-{sequence:05d}", now=now)
        uow.quotes.add_sales_document(doc)
        quote.record_action(now, cmd.kind, cmd.actor,
                            f"{model.SalesDocument.LABELS[cmd.kind]} {doc.number} créée ({doc.totals.total_ttc} € TTC)")
        uow.quotes.save(quote)
        _remember(uow, cmd, {"id": doc.id})
        uow.commit()
    return doc


def create_task(cmd: commands.CreateTask, uow, clock: Clock) -> model.Task:
    check = Check()
    title = check.text(cmd.title, "title", maximum=300, required=True, single_line=True)
    due = check.iso_date(cmd.due_date, "due_date", required=True)
    description = check.text(cmd.description, "description", maximum=5000)
    check.ident(cmd.assignee_id, "assignee_id", required=False)
    _check_idempotency_key(cmd.idempotency_key)
    check.done()
    now = clock()
    with uow:
        replay = _replay(uow, cmd, "CreateTask", now)
        if replay is not None:
            return _found(uow.quotes.task(cmd.tenant, replay["id"]), "task", replay["id"])
        quote = _quote(uow, cmd.tenant, cmd.quote_id)
        assignee = cmd.assignee_id or quote.assignee_id
        _found(uow.directory.user(cmd.tenant, assignee), "user (assignee)", assignee)
        task = model.Task(id=str(uuid.uuid4()), tenant=cmd.tenant, quote_id=quote.id, title=title, due_date=due,
                          assignee_id=assignee, description=description, created_at=now)
        uow.quotes.add_task(task)
        quote.record_action(now, "task", cmd.actor, f"tâche « {title} » pour {assignee}, échéance {due.isoformat()}")
        uow.quotes.save(quote)
        _remember(uow, cmd, {"id": task.id})
        uow.commit()
    return task


def withdraw_quote(cmd: commands.WithdrawQuote, uow, clock: Clock) -> model.Quote:
    """A sent quote withdrawn: Retiré, and quote.withdrawn with quote.status_changed in the same commit. A
    repeated call finds it Retiré and writes nothing."""
    reason = _text(cmd.reason, "reason", maximum=2000, required=False)
    now = clock()
    with uow:
        quote = _quote(uow, cmd.tenant, cmd.quote_id)
        if quote.withdraw(now, cmd.actor, reason):
            uow.quotes.save(quote)
            uow.commit()
    return quote


def expire_quotes(cmd: commands.ExpireQuotes, uow_factory, clock: Clock, zone: str = validity.DEFAULT_ZONE) -> int:
    """The periodic sweep: Envoyé quotes past their validity become Expiré, persisted with a history entry;
    idempotency keys older than IDEMPOTENCY_DAYS go. One transaction per batch. Past their validity by the
    day it is where the business is (quoteflow.validity), the rule their links close by."""
    now = clock()
    today = validity.local_day(now, zone)
    expired = 0
    while True:
        with uow_factory() as uow:
            due = uow.quotes.expiring(today, cmd.batch_size)
            for tenant, quote_id in due:
                quote = uow.quotes.get(tenant, quote_id, for_update=True)
                if quote is not None and quote.expire(today, now):
                    uow.quotes.save(quote)
                    expired += 1
            uow.commit()
        if len(due) < cmd.batch_size:
            break
    with uow_factory() as uow:
        uow.idempotency.purge(now - timedelta(days=IDEMPOTENCY_DAYS))
        uow.commit()
    return expired


# ---------------------------------------------------------------- events


def _quote_for_event(uow, tenant: str, quote_id: str) -> model.Quote:
    quote = uow.quotes.get(tenant, quote_id, for_update=True) if lookup_id(quote_id) else None
    if quote is None:
        raise NotFound(f"quote {quote_id!r} of tenant {tenant!r} not found")
    return quote


# Views and downloads name the same quotes over and over: whether a quote id could be one at all is
# checked once per id (``lookup_id`` reads the id character by character).
_lookup_quote_id = functools.lru_cache(maxsize=4096)(lookup_id)


def record_accesses(batch: list[events.QuoteViewed | events.QuoteDownloaded], uow) -> None:
    """Views and downloads of a consumer batch, set-based: the history rows and the counters of every
    quote written without loading any aggregate (one statement on PostgreSQL); an event naming no
    quote of its tenant raises NotFound for the whole batch (the consumer then handles the events one
    by one, each through :func:`quote_accessed`)."""
    accesses = [(event.tenant, event.quote_id,
                 model.access_entry("viewed" if isinstance(event, events.QuoteViewed) else "downloaded", event.at,
                                    event.who, event.ip, event.user_agent)) for event in batch]
    keys = {(event.tenant, event.quote_id) for event in batch}
    missing = {key for key in keys if not _lookup_quote_id(key[1])} or uow.quotes.record_accesses(accesses)
    if missing:
        tenant, quote_id = min(missing)
        raise NotFound(f"quote {quote_id!r} of tenant {tenant!r} not found")


def quote_accessed(event: events.QuoteViewed | events.QuoteDownloaded, uow) -> None:
    """One view or download: a batch of one, so the counters follow one rule however events arrive."""
    record_accesses([event], uow)


def signature_requested(event: events.SignatureRequested, uow) -> None:
    quote = _quote_for_event(uow, event.tenant, event.quote_id)
    quote.record_signature_requested(event.at, event.signer_email)
    uow.quotes.save(quote)


def signature_completed(event: events.SignatureCompleted, uow) -> None:
    quote = _quote_for_event(uow, event.tenant, event.quote_id)
    try:
        quote.accept(model.SignatureBanner(
            signer_name=event.signer_name, signer_email=event.signer_email, signed_at=event.signed_at,
            request_id=event.request_id, document_sha256=event.document_sha256,
            evidence_sha256=event.evidence_sha256, signed_pdf_sha256=event.signed_pdf_sha256,
            proof_sha256=event.proof_sha256, version=event.version), event.at)
    except FailedPrecondition as error:  # a fact arriving too late is recorded, not retried forever
        quote.record_ignored(event.at, f"signature de {event.signer_email} (version {event.version})", str(error))
    uow.quotes.save(quote)


def signature_declined(event: events.SignatureDeclined, uow) -> None:
    quote = _quote_for_event(uow, event.tenant, event.quote_id)
    try:
        quote.record_decline(model.DeclineInfo(
            signer_name=event.signer_name, signer_email=event.signer_email, reason=event.reason,
            declined_at=event.declined_at, request_id=event.request_id, version=event.version), event.at)
    except FailedPrecondition as error:
        quote.record_ignored(event.at, f"refus de {event.signer_email} (version {event.version})", str(error))
    uow.quotes.save(quote)


def notification_delivered(event: events.NotificationDelivered, uow) -> None:
    if not event.quote_id:
        return
    quote = _quote_for_event(uow, event.tenant, event.quote_id)
    quote.record_notification(event.at, channel=event.channel, recipient=event.recipient, template=event.template,
                              subject=event.subject, error=event.error)
    uow.quotes.save(quote)


# Event handlers run inside the consumer's unit of work (inbox + effect + commit).
EVENT_HANDLERS = {
    events.QuoteViewed: quote_accessed,
    events.QuoteDownloaded: quote_accessed,
    events.SignatureRequested: signature_requested,
    events.SignatureCompleted: signature_completed,
    events.SignatureDeclined: signature_declined,
    events.NotificationDelivered: notification_delivered,
}

COMMAND_HANDLERS = {
    commands.UpsertAccount: upsert_account,
    commands.UpsertContact: upsert_contact,
    commands.UpsertUser: upsert_user,
    commands.UpsertDeal: upsert_deal,
    commands.UpsertProduct: upsert_product,
    commands.UpsertEquipment: upsert_equipment,
    commands.UpdateSettings: update_settings,
    commands.CreateQuote: create_quote,
    commands.UpdateQuote: update_quote,
    commands.SendQuote: send_quote,
    commands.AddDocument: add_document,
    commands.RemoveDocument: remove_document,
    commands.DuplicateQuote: duplicate_quote,
    commands.CreateSalesDocument: create_sales_document,
    commands.CreateTask: create_task,
    commands.WithdrawQuote: withdraw_quote,
    commands.ExpireQuotes: expire_quotes,
}
