"""Expiry is persisted by a sweep in the quotes process: Envoyé past its validity becomes Expiré."""
import threading
import time
from datetime import date, datetime, timedelta, timezone

import grpc
from google.protobuf import field_mask_pb2

from quoteflow.v1 import quotes_pb2
from services.quotes import handlers
from services.quotes.domain import commands
from services.quotes.entrypoints.sweeper import ExpirySweeper
from tests.integration.quotes.support import create, directory, error_of


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
