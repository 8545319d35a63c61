"""quotes publishes quote.assignee_changed when the salesperson of a quote already sent changes: a
reassignment (UpdateQuote assignee_id) or new details of the assigned user (UpsertUser)."""
from google.protobuf import field_mask_pb2

from quoteflow.v1 import common_pb2, quotes_pb2
from tests.integration.quotes.support import create, directory, outbox_events, sent_events


def reassign(crm, quote_id: str, user: str):
    return crm.UpdateQuote(quotes_pb2.UpdateQuoteRequest(
        quote_id=quote_id, assignee_id=user, update_mask=field_mask_pb2.FieldMask(paths=["assignee_id"])))


def changes(app) -> list:
    return [e for e in outbox_events(app) if e.type == "quote.assignee_changed"]


def test_reassigning_a_sent_quote_tells_who_is_in_charge_now(service):
    app, stub = service
    crm = stub("tenant-a")
    directory(crm)
    crm.UpsertUser(quotes_pb2.User(id="u2", name="Béatrice", email="beatrice@example.com", mobile="06 98 76 54 32"))
    quote = create(crm)
    crm.SendQuote(quotes_pb2.SendQuoteRequest(quote_id=quote.id))

    after = reassign(crm, quote.id, "u2")
    assert after.status == "Envoyé" and after.version == 1 and not after.unsent_changes  # no new version
    [event] = changes(app)
    payload = event.payload()
    assert (event.tenant, event.subject, event.source) == ("tenant-a", f"quote/{quote.id}", "quoteflow/quotes")
    assert (payload.quote_id, payload.number, payload.previous_assignee_id) == (quote.id, quote.number, "u")
    assert payload.assignee == common_pb2.Party(id="u2", name="Béatrice", email="beatrice@example.com",
                                                phone="06 98 76 54 32")
    assert payload.changed_at.endswith("Z")

    reassign(crm, quote.id, "u2")  # the same assignee again: nothing changed, nothing told
    assert len(changes(app)) == 1


def test_a_quote_never_sent_is_reassigned_silently(service):
    app, stub = service
    crm = stub("tenant-a")
    directory(crm)
    quote = create(crm)
    reassign(crm, quote.id, "u2")
    assert changes(app) == []
    crm.SendQuote(quotes_pb2.SendQuoteRequest(quote_id=quote.id))
    assert sent_events(app)[-1].payload().assignee.id == "u2"  # quote.sent says it


def test_new_details_of_a_user_reach_each_of_their_quotes_already_sent(service):
    app, stub = service
    crm = stub("tenant-a")
    directory(crm)
    sent = [create(crm), create(crm)]
    for quote in sent:
        crm.SendQuote(quotes_pb2.SendQuoteRequest(quote_id=quote.id))
    create(crm)  # a draft of theirs: nobody downstream knows it
    others = create(crm, assignee_id="u2")
    crm.SendQuote(quotes_pb2.SendQuoteRequest(quote_id=others.id))

    crm.UpsertUser(quotes_pb2.User(id="u", name="Antoine", email="antoine@example.com"))  # a sync: same details
    assert changes(app) == []
    crm.UpsertUser(quotes_pb2.User(id="u", name="Antoine", email="antoine.martin@example.com",
                                   mobile="+33 6 12 34 56 78"))
    told = changes(app)
    assert sorted(e.payload().quote_id for e in told) == sorted(q.id for q in sent)
    for event in told:
        payload = event.payload()
        assert payload.previous_assignee_id == "u" and payload.assignee == common_pb2.Party(
            id="u", name="Antoine", email="antoine.martin@example.com", phone="+33 6 12 34 56 78")
    crm.UpsertUser(quotes_pb2.User(id="u3", name="Nouveau", email="nouveau@example.com"))  # no quote: nothing
    crm.UpsertUser(quotes_pb2.User(id="u3", name="Nouveau", email="nouveau2@example.com"))
    assert len(changes(app)) == 2
