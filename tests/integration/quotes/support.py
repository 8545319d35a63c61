"""Helpers shared by the quotes integration tests (a CRM's directory, a quote, reading errors and the outbox)."""
from __future__ import annotations

import datetime
import io

import grpc
import pytest
from google.rpc import error_details_pb2
from grpc_status import rpc_status
from sqlalchemy import func, select

from quoteflow.envelope import Envelope
from quoteflow.v1 import common_pb2, quotes_pb2
from services.quotes.adapters import orm


def moment(minutes: float = 0) -> str:
    """RFC 3339 UTC time ``minutes`` from now: events dated after the send the real clock dated."""
    at = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(minutes=minutes)
    return at.strftime("%Y-%m-%dT%H:%M:%SZ")


def directory(stub, esignature=True, **settings):
    stub.UpdateSettings(quotes_pb2.Settings(esignature_enabled=esignature, default_validity_days=30, **settings))
    stub.UpsertAccount(quotes_pb2.Account(id="acc", name="Boulangerie Lefèvre"))
    stub.UpsertAccount(quotes_pb2.Account(id="other", name="Autre compte"))
    stub.UpsertContact(quotes_pb2.Contact(id="ct", account_id="acc", name="Chloé", email="chloe@example.fr",
                                          phone="+33 6 00 00 00 01"))
    stub.UpsertContact(quotes_pb2.Contact(id="ct2", account_id="acc", name="Paul", email="paul@example.fr"))
    stub.UpsertContact(quotes_pb2.Contact(id="stranger", account_id="other", name="X", email="x@example.fr"))
    stub.UpsertUser(quotes_pb2.User(id="u", name="Antoine", email="antoine@example.com"))
    stub.UpsertUser(quotes_pb2.User(id="u2", name="Béatrice", email="beatrice@example.com"))


def line(description="Audit œuvre", quantity="2", unit_price="617.28", vat_rate="20", **kw):
    return common_pb2.QuoteLine(description=description, quantity=quantity, unit_price=unit_price,
                                vat_rate=vat_rate, **kw)


def create(stub, **kw):
    request = quotes_pb2.CreateQuoteRequest(account_id="acc", contact_id="ct", assignee_id="u", lines=[line()])
    for key, value in kw.items():
        if key in ("lines", "optional_lines"):
            del getattr(request, key)[:]
            getattr(request, key).extend(value)
        else:
            setattr(request, key, value)
    return stub.CreateQuote(request)


def send_and_relance(stub, tenant: str = "tenant-a"):
    """(crm, quote, first send, relance): a quote sent with a signature asked, then sent again unchanged."""
    crm = stub(tenant)
    directory(crm)
    quote = create(crm)
    first = crm.SendQuote(quotes_pb2.SendQuoteRequest(quote_id=quote.id, request_signature=True))
    relance = crm.SendQuote(quotes_pb2.SendQuoteRequest(quote_id=quote.id, request_signature=True))
    return crm, quote, first, relance


def error_of(call, *args, **kwargs) -> grpc.RpcError:
    with pytest.raises(grpc.RpcError) as caught:
        call(*args, **kwargs)
    return caught.value


def violations(error: grpc.RpcError) -> dict:
    status = rpc_status.from_call(error)
    found = {}
    for detail in status.details if status else ():
        bad = error_details_pb2.BadRequest()
        detail.Unpack(bad)
        found.update({v.field: v.description for v in bad.field_violations})
    return found


def outbox_events(app, *types: str):
    """The events in the outbox, oldest first: all of them, or those of ``types``."""
    with app.engine.connect() as conn:
        found = [Envelope.from_json(row.body) for row in conn.execute(select(orm.outbox).order_by(orm.outbox.c.id))]
    return [e for e in found if e.type in types] if types else found


def sent_events(app):
    """The quote.sent events in the outbox, oldest first (a send that changes the status also tells
    quote.status_changed)."""
    return outbox_events(app, "quote.sent")


def count(app, table) -> int:
    with app.engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(table)).scalar_one()


def png(width=300, height=100, color=(200, 30, 60, 255)) -> bytes:
    from PIL import Image, ImageDraw

    image = Image.new("RGBA", (width, height), (0, 0, 0, 0))
    ImageDraw.Draw(image).rectangle((5, 5, width - 5, height - 5), fill=color)
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()
