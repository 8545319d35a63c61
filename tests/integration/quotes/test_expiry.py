"""Expiry is persisted by a sweep in the quotes process: Envoyé past its validity becomes Expiré, and says so
(quote.status_changed)."""
import threading
import time
from datetime import date, datetime, timedelta, timezone

import grpc
import pytest
from google.protobuf import field_mask_pb2

from quoteflow.envelope import rfc3339
from quoteflow.v1 import quotes_pb2
from services.portal.adapters import messages as portal_messages
from services.portal.domain import model as portal_model
from services.quotes import handlers
from services.quotes.domain import commands
from services.quotes.entrypoints.sweeper import ExpirySweeper
from tests.integration.quotes.support import create, directory, error_of, outbox_events, sent_events


def test_the_sweep_expires_sent_quotes_past_their_validity_and_a_new_validity_revives_them(service):
    app, stub = service
    crm = stub("tenant-a")
    directory(crm)
    today = date.today()
    due = create(crm, valid_until=today.isoformat())
    later = create(crm, valid_until=(today + timedelta(days=5)).isoformat())
    draft = create(crm, valid_until=today.isoformat())
    for quote in (due, later):
        crm.SendQuote(quotes_pb2.SendQuoteRequest(quote_id=quote.id))
    other = stub("tenant-b")
    directory(other)
    foreign = create(other, valid_until=today.isoformat())
    other.SendQuote(quotes_pb2.SendQuoteRequest(quote_id=foreign.id))

    tomorrow = datetime.combine(today + timedelta(days=1), datetime.min.time(), tzinfo=timezone.utc)
    sweep = commands.ExpireQuotes(batch_size=1)  # several batches
    assert handlers.expire_quotes(sweep, app.uow, clock=lambda: tomorrow) == 2
    assert handlers.expire_quotes(sweep, app.uow, clock=lambda: tomorrow) == 0  # nothing twice
    told = [e for e in outbox_events(app, "quote.status_changed") if e.payload().cause == "expired"]
    assert sorted((e.tenant, e.payload().quote_id) for e in told) == [("tenant-a", due.id), ("tenant-b", foreign.id)]
    change = next(e.payload() for e in told if e.tenant == "tenant-a")
    assert (change.number, change.previous_status, change.status, change.version, change.actor,
            change.changed_at) == (due.number, "Envoyé", "Expiré", 1, "quotes", rfc3339(tomorrow))
    statuses = {q.id: q.status for q in crm.ListQuotes(quotes_pb2.ListQuotesRequest()).quotes}
    assert statuses == {due.id: "Expiré", later.id: "Envoyé", draft.id: "Brouillon"}
    assert other.GetQuote(quotes_pb2.GetQuoteRequest(quote_id=foreign.id)).status == "Expiré"
    assert [q.id for q in crm.ListQuotes(quotes_pb2.ListQuotesRequest(status="Expiré")).quotes] == [due.id]
    entry = crm.GetQuote(quotes_pb2.GetQuoteRequest(quote_id=due.id)).history[-1]
    assert (entry.kind, entry.actor) == ("status", "quotes") and "Expiré" in entry.detail

    error = error_of(crm.SendQuote, quotes_pb2.SendQuoteRequest(quote_id=due.id))
    assert error.code() == grpc.StatusCode.FAILED_PRECONDITION and "expired" in error.details()
    revived = crm.UpdateQuote(quotes_pb2.UpdateQuoteRequest(
        quote_id=due.id, valid_until=(today + timedelta(days=30)).isoformat(),
        update_mask=field_mask_pb2.FieldMask(paths=["valid_until"])))
    assert revived.status == "Brouillon"
    assert crm.SendQuote(quotes_pb2.SendQuoteRequest(quote_id=due.id)).version == 2


def test_the_sweeper_loop_runs_at_start_and_stops_at_once(service):
    app, stub = service
    crm = stub("tenant-a")
    directory(crm)
    sweeper = ExpirySweeper(app, interval=3600)
    thread = threading.Thread(target=sweeper.run)
    thread.start()
    time.sleep(0.3)
    started = time.monotonic()
    sweeper.stop()
    thread.join(5)
    assert not thread.is_alive() and time.monotonic() - started < 2
    assert sweeper.sweep() == 0


@pytest.mark.parametrize("month, paris_midnight_utc", [(1, 23), (7, 22)])  # winter UTC+1, summer UTC+2
def test_the_status_and_the_link_expire_at_the_same_moment(service, month, paris_midnight_utc):
    """Around midnight in Paris on the last valid day, the sweep (controlled clock) and the portal's link, read
    from the quote.sent event the portal receives, agree at every moment: 23:30 UTC on the last day is 00:30
    (winter) or 01:30 (summer) in Paris the next day, so both are over, though it is still that day in UTC."""
    app, stub = service
    crm = stub("tenant-a")
    directory(crm)
    valid_until = date(date.today().year + 1, month, 15)
    quote = create(crm, valid_until=valid_until.isoformat())
    crm.SendQuote(quotes_pb2.SendQuoteRequest(quote_id=quote.id))
    link = portal_model.Link(token_sha256="t", tenant="tenant-a", quote_id=quote.id, version=1, recipient={},
                             expires_at=portal_messages.quote_sent(sent_events(app)[-1]).expires_at)
    last_day = datetime.combine(valid_until, datetime.min.time(), tzinfo=timezone.utc)
    first_expired = None
    for hour, minute in ((21, 30), (21, 59), (22, 0), (22, 30), (22, 59), (23, 0), (23, 30), (24, 30)):
        now = last_day + timedelta(hours=hour, minutes=minute)
        handlers.expire_quotes(commands.ExpireQuotes(), app.uow, clock=lambda: now, zone="Europe/Paris")
        status = crm.GetQuote(quotes_pb2.GetQuoteRequest(quote_id=quote.id)).status
        assert (status == "Expiré") == link.expired(now), f"{now:%H:%M} UTC: status {status}, link {link.expired(now)}"
        if status == "Expiré" and first_expired is None:
            first_expired = (hour, minute)
    assert first_expired == (paris_midnight_utc, 0)  # and so at 23:30 UTC both are over
