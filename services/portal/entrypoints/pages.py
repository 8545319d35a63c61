"""What the templates receive: a version and a link turned into French texts and amounts.

Presentation only: no database, no HTTP. Every string comes from the catalogue or from
what a salesperson or client typed (escaped by Jinja when rendered).
"""
from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Callable
from urllib.parse import quote as urlquote

from quoteflow.decimals import decimal_or_none
from services.portal import handlers
from services.portal.adapters.formatting import FrenchFormat
from services.portal.adapters.lru import Lru
from services.portal.domain import branding, model
from services.portal.i18n import Texts

ZERO_DISCOUNTS = ("", "0", "0.0", "0.00")


@dataclass
class FormState:
    """What the client typed, kept when a form comes back with a problem."""

    signer_name: str = ""
    consent: bool = False
    signature_data_url: str = ""
    otp_code: str = ""
    reason: str = ""
    decliner_name: str = ""
    errors: dict[str, str] = field(default_factory=dict)   # field -> text
    message: str = ""                                       # banner above the form
    form: str = ""                                          # "sign" or "decline": where the banner goes


def _line_total(line: dict) -> Decimal | None:
    """An optional line's total HT when the server did not fill it (display only)."""
    quantity, price = decimal_or_none(line.get("quantity")), decimal_or_none(line.get("unit_price"))
    if quantity is None or price is None:
        return None
    discount = decimal_or_none(line.get("discount_percent")) or Decimal(0)
    return (quantity * price * (Decimal(100) - discount) / Decimal(100)).quantize(Decimal("0.01"))


def _lines(raw: list, fmt: FrenchFormat, currency: str) -> list[dict]:
    lines = []
    for line in raw or []:
        total = line.get("total_ht") or _line_total(line)
        lines.append({
            "description": line.get("description", ""),
            "reference": line.get("product_ref", ""),
            "quantity": fmt.number(line.get("quantity", "")),
            "unit": line.get("unit", ""),
            "unit_price": fmt.money(line.get("unit_price", ""), currency),
            "discount": "" if str(line.get("discount_percent", "0")) in ZERO_DISCOUNTS
            else fmt.rate(line.get("discount_percent")),
            "vat_rate": fmt.rate(line.get("vat_rate", "0")),
            "total_ht": fmt.money(total if total is not None else "", currency),
        })
    return lines


def salesperson(version: model.Version) -> dict:
    return {**(version.snapshot.get("assignee") or {}), **{k: v for k, v in version.assignee.items() if v}}


def mailto(email: str, subject: str) -> str:
    if not email or any(c in email for c in "\r\n<>\"") or "@" not in email:
        return ""
    return f"mailto:{urlquote(email, safe='@')}?subject={urlquote(subject, safe='')}"


def phone_display(phone: str) -> str:
    """French numbers written as the French read them: "+33 6 00 00 00 01", "06 00 00 00 01"."""
    digits = "".join(c for c in phone if c.isdigit() or c == "+")
    if digits.startswith("+33") and len(digits) == 12:
        rest = digits[3:]
        return "+33 " + rest[0] + " " + " ".join(rest[i:i + 2] for i in range(1, 9, 2))
    if digits.startswith("0") and len(digits) == 10:
        return " ".join(digits[i:i + 2] for i in range(0, 10, 2))
    return phone.strip()


def contact(version: model.Version, texts: Texts) -> dict:
    """How to reach the salesperson: what every state page offers as the next step."""
    person = salesperson(version)
    phone = "".join(c for c in person.get("phone", "") if c.isdigit() or c == "+")
    return {
        "name": person.get("name", "") or texts("contact.fallback"),
        "email": person.get("email", ""),
        "phone": phone_display(person.get("phone", "")),
        "tel_href": f"tel:{phone}" if phone else "",
        "mailto": mailto(person.get("email", ""), texts("feedback.subject", number=version.number)),
    }


def brand(version: model.Version) -> dict:
    logo_sha, logo_type = version.logo
    color = branding.valid_color((version.snapshot.get("branding") or {}).get("color", ""))
    return {
        "color": color,
        "logo": bool(model.is_sha256(logo_sha) and logo_type in model.LOGO_TYPES),
        "company": (version.snapshot.get("company") or {}).get("name", ""),
    }


def version_key(version: model.Version, texts: Texts) -> tuple:
    """What names a sent version's frozen content: it never changes once sent."""
    return version.tenant, version.quote_id, version.version, version.pdf_sha256, texts.language


class FrozenContent:
    """The formatted, unchanging part of a version's page, kept per version.

    A sent version is frozen: formatting its amounts and dates (Babel) and rendering its lines,
    totals and terms (``_details.html``, through ``render``) again on every request would only
    cost time. Bounded (least recently used out); one per app.
    """

    def __init__(self, render: Callable[..., str], max_entries: int = 512):
        self.render = render
        self._entries = Lru(max_entries)

    def __call__(self, version: model.Version, fmt: FrenchFormat, texts: Texts) -> dict:
        key = version_key(version, texts)
        content = self._entries.get(key)
        if content is None:
            content = _format_version(version, fmt, texts)
            content["details"] = self.render("_details.html", **content)
            self._entries.put(key, content)
        return content


# Rendered in place of the view id, then replaced by each request's own: letters and digits only,
# so escaping and URL quoting leave it as it is; random per process, so no page text can contain it.
VIEW_ID_PLACEHOLDER = "qfview" + secrets.token_hex(16)


def _hashable(value):
    if isinstance(value, dict):
        return tuple(sorted((k, _hashable(v)) for k, v in value.items()))
    if isinstance(value, (list, tuple)):
        return tuple(_hashable(v) for v in value)
    return value


class RenderedPages:
    """A page's HTML per distinct context, rendered once; only the view id changes from request to request.

    The key holds every value the template receives (``own``: state, signature, code, tokens… and the
    frozen content's key), so a page is rendered again as soon as anything it shows changes; the view
    id, fresh for every request, is rendered as :data:`VIEW_ID_PLACEHOLDER` and filled in afterwards.
    Bounded (least recently used out); one per app.
    """

    def __init__(self, render: Callable[..., str], max_entries: int = 256):  # about 20 KiB each
        self.render = render
        self._pages = Lru(max_entries)

    def __call__(self, name: str, frozen: dict, own: dict, key: tuple, view_id: str) -> str:
        full_key = (name, key, _hashable(own))
        html = self._pages.get(full_key)
        if html is None:
            html = self.render(name, **{**frozen, **own, "view_id": VIEW_ID_PLACEHOLDER})
            self._pages.put(full_key, html)
        return html.replace(VIEW_ID_PLACEHOLDER, view_id)


def _format_version(version: model.Version, fmt: FrenchFormat, texts: Texts) -> dict:
    snap = version.snapshot
    totals = snap.get("totals") or {}
    currency = totals.get("currency") or "EUR"
    documents = []
    for doc in snap.get("documents") or []:
        if not model.is_sha256(doc.get("sha256", "")):
            continue
        size, unit = fmt.size(doc.get("size"))
        name = model.document_filename(doc.get("name", ""))
        extension = name.rsplit(".", 1)[-1] if "." in name else ""
        documents.append({"name": name, "sha256": doc["sha256"],
                          "size": texts("documents.size_kb" if unit == "kb" else "documents.size_mb", size=size),
                          "kind": extension.upper() if 1 <= len(extension) <= 5 and extension.isalnum() else ""})
    lines = _lines(snap.get("lines"), fmt, currency)
    optional = _lines(snap.get("optional_lines"), fmt, currency)
    return {
        "number": version.number,
        "version": version.version,
        "title": snap.get("title", ""),
        "brand": brand(version),
        "company": snap.get("company") or {},
        "account": snap.get("account") or {},
        "client_contact": snap.get("contact") or {},
        "issued_on": fmt.day(snap.get("issued_on", "")),
        "valid_until": fmt.day(snap.get("valid_until", "")),
        "lines": lines,
        "has_discount": any(line["discount"] for line in lines),
        "optional_lines": optional,
        "optional_discount": any(line["discount"] for line in optional),
        "vat": [{"rate": fmt.rate(v.get("rate", "0")), "base_ht": fmt.money(v.get("base_ht", ""), currency),
                 "vat": fmt.money(v.get("vat", ""), currency)} for v in totals.get("vat") or []],
        "total_ht": fmt.money(totals.get("total_ht", ""), currency),
        "total_vat": fmt.money(totals.get("total_vat", ""), currency),
        "total_ttc": fmt.money(totals.get("total_ttc", ""), currency),
        "documents": documents,
        "terms": snap.get("terms", ""),
        "consent_text": handlers.consent_text_for(version, texts, fmt.money),
    }


def quote_context(*, token: str, link: model.Link, version: model.Version, state: str, fmt: FrenchFormat,
                  texts: Texts, csrf: str, now, signed_copy: bool, frozen: dict, just: str = "",
                  dwell_seconds: int = 4) -> dict:
    """What quote.html shows besides ``frozen`` (from FrozenContent) and the view id: this link's state and
    tokens, all plain values (a key for :class:`RenderedPages`)."""
    signable = state == model.STATE_OPEN and version.signable
    code_pending = link.code_pending(now)
    return {
        "token": token,
        "state": state,
        "contact": contact(version, texts),
        "signable": signable,
        "consent_text": frozen["consent_text"] if signable else "",
        "otp": version.otp_channel if signable else "",
        "code_pending": code_pending,
        "code": {"to": link.code.to, "until": fmt.time(link.code.expires_at),
                 "channel": link.code.channel} if code_pending and link.code else None,
        "signer_name": version.signer_name,
        "signed_on": fmt.moment(version.signed_at),
        "signed_copy": signed_copy,
        "declined_on": fmt.moment(version.declined_at),
        "decline_reason": version.decline_reason,
        "csrf_token": csrf,
        "dwell_ms": max(0, dwell_seconds) * 1000,
        "just": just,
    }


def state_context(*, token: str, link: model.Link, version: model.Version, state: str, fmt: FrenchFormat,
                  texts: Texts) -> dict:
    """A page for a link that no longer shows the quote: what happened, and what to do next."""
    valid_until = version.snapshot.get("valid_until", "")
    if state == model.STATE_EXPIRED:
        body = (texts("state.expired.body", date=fmt.day(valid_until)) if valid_until
                else texts("state.expired.body_undated"))
    elif state == model.STATE_REVOKED:
        body = texts("state.revoked.body", number=version.number)
    else:
        body = texts(f"state.{state}.body")
    return {
        "token": token,
        "state": state,
        "number": version.number,
        "heading": texts(f"state.{state}.title"),
        "body": body,
        "next": texts(f"state.{state}.next"),
        "brand": brand(version),
        "company": version.snapshot.get("company") or {},
        "contact": contact(version, texts),
    }
