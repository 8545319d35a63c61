"""SendQuote and its recipient: an address stored before the address rule is refused before anything is
written; the same version to someone who never got it is a first send (kind "send", first-send template)."""
import grpc
from sqlalchemy import select

from quoteflow.addresses import email_problem
from quoteflow.v1 import quotes_pb2
from services.quotes.adapters import orm
from services.quotes.domain import model
from tests.integration.quotes.support import count, create, directory, error_of, sent_events


def _stored_as_before_the_rule(app, contact_id: str, **fields):
    """A contact saved when UpsertContact took looser addresses: written as the repository writes it."""
    with app.uow() as uow:
        contact = uow.directory.contact("tenant-a", contact_id)
        for name, value in fields.items():
            setattr(contact, name, value)
        uow.directory.save_contact(contact)
        uow.commit()


def _blobs(app) -> list:
    folder = app.config.common.blob_dir
    return sorted(p for p in folder.rglob("*") if p.is_file()) if folder.exists() else []


def test_a_stored_email_that_cannot_receive_mail_is_refused_naming_the_contact_and_nothing_is_written(service):
    app, stub = service
    crm = stub("tenant-a")
    directory(crm)
    quote = create(crm)
    bad = "paul@exemple"  # no top-level domain: the notifier would fail it after the quote showed Envoyé
    _stored_as_before_the_rule(app, "ct2", email=bad)
    history = len(crm.GetQuote(quotes_pb2.GetQuoteRequest(quote_id=quote.id)).history)
    blobs = _blobs(app)

    error = error_of(crm.SendQuote, quotes_pb2.SendQuoteRequest(quote_id=quote.id, recipient_contact_id="ct2",
                                                                idempotency_key="send-to-paul"))
    assert error.code() == grpc.StatusCode.FAILED_PRECONDITION
    message = error.details()
    assert "'ct2'" in message and "Paul" in message and repr(bad) in message
    assert email_problem(bad) in message and "UpsertContact" in message

    detail = crm.GetQuote(quotes_pb2.GetQuoteRequest(quote_id=quote.id))
    assert detail.status == model.Status.DRAFT and not detail.versions and len(detail.history) == history
    assert count(app, orm.quote_versions) == count(app, orm.quote_links) == count(app, orm.outbox) == 0
    assert count(app, orm.idempotency_keys) == 0 and _blobs(app) == blobs  # not even the PDF

    crm.UpsertContact(quotes_pb2.Contact(id="ct2", account_id="acc", name="Paul", email="paul@exemple.fr"))
    sent = crm.SendQuote(quotes_pb2.SendQuoteRequest(quote_id=quote.id, recipient_contact_id="ct2",
                                                     idempotency_key="send-to-paul"))
    assert sent.version == 1 and sent_events(app)[-1].payload().recipient.email == "paul@exemple.fr"


def test_a_relance_to_a_stored_bad_email_is_refused_too(service):
    app, stub = service
    crm = stub("tenant-a")
    directory(crm)
    quote = create(crm)
    crm.SendQuote(quotes_pb2.SendQuoteRequest(quote_id=quote.id))
    _stored_as_before_the_rule(app, "ct", email="chloé@example.fr")
    error = error_of(crm.SendQuote, quotes_pb2.SendQuoteRequest(quote_id=quote.id))
    assert error.code() == grpc.StatusCode.FAILED_PRECONDITION and "'ct'" in error.details()
    assert email_problem("chloé@example.fr") in error.details()
    assert [e.payload().kind for e in sent_events(app)] == ["send"]
    [version] = crm.GetQuote(quotes_pb2.GetQuoteRequest(quote_id=quote.id)).versions
    assert version.send_count == 1


def test_a_code_by_sms_needs_a_phone_number_that_can_receive_it(service):
    app, stub = service
    crm = stub("tenant-a")
    directory(crm, signature_otp="sms")
    quote = create(crm)
    _stored_as_before_the_rule(app, "ct", phone="612345678")  # would go to Australia: refused now
    error = error_of(crm.SendQuote, quotes_pb2.SendQuoteRequest(quote_id=quote.id, request_signature=True))
    assert error.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert "'ct'" in error.details() and "'612345678'" in error.details() and "SMS" in error.details()
    assert count(app, orm.outbox) == 0


def test_the_same_version_to_a_new_contact_is_a_first_send_with_the_first_send_email(service):
    app, stub = service
    crm = stub("tenant-a")
    directory(crm)
    crm.UpsertContact(quotes_pb2.Contact(id="ct3", account_id="acc", name="Zoé", email="zoe@example.fr"))
    quote = create(crm)

    def send(contact: str, **kw):
        crm.SendQuote(quotes_pb2.SendQuoteRequest(quote_id=quote.id, recipient_contact_id=contact, **kw))
        event = sent_events(app)[-1].payload()
        return event.kind, event.template, event.recipient.email

    assert send("ct") == ("send", "quote_send", "chloe@example.fr")
    assert crm.GetQuote(quotes_pb2.GetQuoteRequest(quote_id=quote.id)).send_action == "Relancer par email"
    # Paul never got it: the first-send email, though the button says « Relancer » (even when the CRM names
    # the follow-up template because of it)
    assert send("ct2", template="quote_relance") == ("send", "quote_send", "paul@example.fr")
    assert send("ct") == ("relance", "quote_relance", "chloe@example.fr")
    # Paul is neither the version's first nor its latest recipient: his link says he had it
    assert send("ct2") == ("relance", "quote_relance", "paul@example.fr")
    assert send("ct3", template="promo") == ("send", "promo", "zoe@example.fr")  # a template of the tenant's: kept

    detail = crm.GetQuote(quotes_pb2.GetQuoteRequest(quote_id=quote.id))
    assert [h.kind for h in detail.history if h.kind in ("sent", "relance")] == [
        "sent", "sent", "relance", "relance", "sent"]
    [version] = detail.versions
    assert (version.number, version.send_count, version.recipient_email) == (1, 5, "chloe@example.fr")
    with app.engine.connect() as conn:
        assert conn.execute(select(orm.quote_links.c.version).distinct()).scalars().all() == [1]
