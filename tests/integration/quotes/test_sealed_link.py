"""The portal link of a send is a capability: quotes' outbox (whose published rows are kept), and so the broker
and every queue, carry it only sealed for the notifier, which emails it; the CRM's SendQuote still gets it."""
from dataclasses import replace

from sqlalchemy import MetaData, select

from quoteflow.envelope import Envelope
from quoteflow.v1 import quotes_pb2
from services.notifier.adapters.mail import read_maildir
from services.notifier.bootstrap import bootstrap as notifier
from services.notifier.domain.model import FAILED
from tests.integration.quotes.support import create, directory, sent_events
from tests.support.notifier import make_config


def everything_stored(engine) -> str:
    """Every row of every table of a database (quotes' outbox included), as text."""
    seen = []
    metadata = MetaData()
    metadata.reflect(engine)
    with engine.connect() as conn:
        for table in metadata.sorted_tables:
            for row in conn.execute(select(table)).all():
                seen += [bytes(v).decode("utf-8", "replace") if isinstance(v, (bytes, memoryview)) else str(v)
                         for v in row]
    return "\n".join(seen)


def test_no_link_token_in_quotes_outbox_and_the_notifier_emails_the_working_link(service, tmp_path):
    app, stub = service
    crm = stub("tenant-a")
    directory(crm)
    quote = create(crm)
    sent = [crm.SendQuote(quotes_pb2.SendQuoteRequest(quote_id=quote.id, request_signature=True)),
            crm.SendQuote(quotes_pb2.SendQuoteRequest(quote_id=quote.id, recipient_contact_id="ct2")),
            crm.SendQuote(quotes_pb2.SendQuoteRequest(quote_id=quote.id, idempotency_key="k-1"))]
    tokens = [reply.link_url.rsplit("/", 1)[1] for reply in sent]
    assert all(len(token) >= 43 for token in tokens) and len(set(tokens)) == 3
    stored = everything_stored(app.engine)
    assert [token for token in tokens if token in stored] == []
    events = sent_events(app)
    assert [e.type for e in events] == ["quote.sent"] * 3
    for event in events:
        assert not event.payload().link_url and event.payload().sealed_link_url

    # The notifier, holding the same CODE_SEAL_KEY, writes each link into its email.
    mailer = notifier(replace(make_config(tmp_path / "notifier"), code_seal_key=app.config.seal_key))
    try:
        for event in events:
            mailer.handle_event(event)
        assert mailer.dispatch_due() == 3
        bodies = sorted(m.get_body(("plain",)).get_content() for m in read_maildir(mailer.cfg.mail_sink_dir))
        assert [sum(f"Accéder au document : {reply.link_url}" in body for body in bodies) for reply in sent] == [1] * 3
    finally:
        mailer.engine.dispose()


def test_the_link_of_one_send_moved_onto_another_is_not_emailed(service, tmp_path):
    app, stub = service
    crm = stub("tenant-a")
    directory(crm)
    first = create(crm)
    other = create(crm)
    crm.SendQuote(quotes_pb2.SendQuoteRequest(quote_id=first.id))
    crm.SendQuote(quotes_pb2.SendQuoteRequest(quote_id=other.id))
    ours, theirs = sent_events(app)
    moved = ours.payload()
    moved.sealed_link_url = theirs.payload().sealed_link_url  # the other quote's link, in our quote's event
    envelope = Envelope.wrap(moved, source=ours.source, subject=ours.subject, tenant=ours.tenant)
    mailer = notifier(replace(make_config(tmp_path / "notifier"), code_seal_key=app.config.seal_key))
    try:
        mailer.handle_event(envelope)
        [delivery] = mailer.list_deliveries("tenant-a", first.id)
        assert delivery.status == FAILED and "ne peut pas être ouvert" in delivery.error
        assert mailer.dispatch_due() == 0 and read_maildir(mailer.cfg.mail_sink_dir) == []
    finally:
        mailer.engine.dispose()
