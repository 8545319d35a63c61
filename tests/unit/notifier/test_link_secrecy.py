"""A quote's link is a capability (open, sign, decline): the notifier keeps it only while the email carrying it
waits to be sent. Its read model, the delivery log, the drafts of emails that are over and its events show the
link's reference (/d/h:<first 12 hex of the token's SHA-256>) or nothing; previews show where the link will go."""
import hashlib
import json
import uuid

import pytest
from sqlalchemy import select

from quoteflow import links
from quoteflow.envelope import Envelope
from services.notifier.adapters import orm
from services.notifier.adapters.mail import EmailDraft, MailError, read_maildir
from services.notifier.bootstrap import bootstrap
from services.notifier.domain.model import DRAFT, FAILED, MESSAGE, QUEUED, SENT, SMS, Delivery, TemplateContent
from services.notifier.handlers import LINK_PLACEHOLDER, _kept


def token() -> str:
    return uuid.uuid4().hex + "Ab_-" + uuid.uuid4().hex[:8]  # a token as quotes makes them: URL-safe, 44 chars


def everything_stored(app) -> str:
    """Every row of every table of the notifier's database, as text."""
    seen = []
    with app.engine.connect() as conn:
        for table in orm.metadata.sorted_tables:
            for row in conn.execute(select(table)).all():
                seen += [bytes(v).decode("utf-8", "replace") if isinstance(v, (bytes, memoryview)) else str(v)
                         for v in row]
    return "\n".join(seen)


def ref(secret: str) -> str:
    return "h:" + hashlib.sha256(secret.encode()).hexdigest()[:12]


def test_once_the_email_is_sent_its_link_is_nowhere_in_the_notifiers_database(app, tenant, quote_sent):
    app.save_template(tenant, "quote_send", TemplateContent(  # even a subject that shows the link
        subject="Devis {{ quote_number }} : {{ link_url }}", text="Bonjour,\nAccéder au document : {{ link_url }}\n",
        html='<p>Bonjour</p><a href="{{ link_url }}">Accéder au document</a>'))
    secret = token()
    envelope = quote_sent(link_url=f"https://devis.example/d/{secret}")
    app.handle_event(envelope)
    assert secret in everything_stored(app)  # queued: the draft must still carry it
    app.dispatch_due()
    [mail] = read_maildir(app.cfg.mail_sink_dir)
    assert secret in mail.get_body(("plain",)).get_content() and secret in mail["Subject"]  # the client has it
    stored = everything_stored(app)
    assert secret not in stored
    [delivery] = app.list_deliveries(tenant, envelope.payload().quote_id)
    assert delivery.status == SENT and delivery.subject == f"Devis DV-2026-0042 : https://devis.example/d/{ref(secret)}"
    draft = EmailDraft.from_bytes(delivery.payload)  # what was sent stays readable, with the link's reference
    assert f"Accéder au document : https://devis.example/d/{ref(secret)}" in draft.text
    assert f'href="https://devis.example/d/{ref(secret)}"' in draft.html
    with app.engine.connect() as conn:
        [event] = [Envelope.from_json(b) for b in conn.execute(select(orm.outbox.c.body)).scalars()]
        variables = json.loads(conn.execute(select(orm.sent_quotes.c.variables)).scalar_one())
    assert event.type == "notification.sent" and ref(secret) in event.payload().subject
    assert "link_url" not in variables and variables["quote_number"] == "DV-2026-0042"


def test_a_relance_preview_shows_where_the_new_link_goes_not_the_previous_one(app, tenant, quote_sent):
    secret = token()
    envelope = quote_sent(link_url=f"https://devis.example/d/{secret}")
    app.handle_event(envelope)
    preview = app.preview_email(tenant, "quote_relance", {}, quote_id=envelope.payload().quote_id)
    assert preview.quote_known and "link_url" not in preview.missing
    assert secret not in preview.rendered.text + preview.rendered.html
    assert f"Accéder au document : {LINK_PLACEHOLDER}" in preview.rendered.text


class Refusing:
    def send(self, sender, recipient, message):
        raise MailError("550 5.1.1 no such user", transient=False)


def test_an_email_given_up_on_keeps_no_link_either(cfg, tenant, quote_sent):
    app = bootstrap(cfg, mail=Refusing())
    try:
        secret = token()
        envelope = quote_sent(link_url=f"https://devis.example/d/{secret}")
        app.handle_event(envelope)
        app.dispatch_due()
        [delivery] = app.list_deliveries(tenant, envelope.payload().quote_id)
        assert delivery.status == FAILED and "550" in delivery.error
        assert secret not in everything_stored(app)
        assert ref(secret) in EmailDraft.from_bytes(delivery.payload).text
    finally:
        app.engine.dispose()


def test_a_queued_email_keeps_its_link_for_the_next_try_and_loses_it_once_over():
    secret = token()
    draft = EmailDraft(mail_from="devis@x.example", to_name="Zoé", subject="Devis",
                       text=f"https://d.example/d/{secret}",
                       html=f'<a href="https://d.example/d/{secret}">Accéder au document</a>')
    queued = Delivery(id="d", tenant="t", event_id="e", channel="email", recipient="zoe@client.example",
                      template="quote_send", quote_id="q", subject="Devis", payload=draft.to_bytes(), created_at=None,
                      status=QUEUED, payload_format=DRAFT)
    assert _kept(queued).payload == draft.to_bytes()
    over = _kept(Delivery(**{**queued.__dict__, "status": SENT}))
    assert secret not in over.payload.decode() and ref(secret) in EmailDraft.from_bytes(over.payload).html
    sms = _kept(Delivery(**{**queued.__dict__, "status": SENT, "channel": SMS, "payload_format": MESSAGE,
                            "payload": f"Votre devis : https://d.example/d/{secret}".encode()}))
    assert sms.payload.decode() == f"Votre devis : https://d.example/d/{ref(secret)}"
    # A whole message from before drafts may be encoded (base64): wiped; an unreadable draft too.
    for payload, payload_format in ((b"From: a\r\n\r\nx", MESSAGE), (b"\xff{not json", DRAFT)):
        gone = _kept(Delivery(**{**queued.__dict__, "status": SENT, "payload": payload,
                                 "payload_format": payload_format}))
        assert gone.payload == b""


@pytest.mark.parametrize("text, kept", [
    ("https://devis.example/d/" + "A" * 31, "https://devis.example/d/" + "A" * 31),  # not a token the portal takes
    ("https://d.example/d/" + "a1B2" * 10 + "/pdf", "https://d.example/d/" + ref("a1B2" * 10) + "/pdf"),  # a page
    ("lien https%3A%2F%2Fd.example%2Fd%2F" + "x" * 40 + " fin", "lien https%3A%2F%2Fd.example%2Fd%2F" + ref("x" * 40)
     + " fin"),
    ("déjà : https://d.example/d/h:0123456789ab", "déjà : https://d.example/d/h:0123456789ab"),
])
def test_what_counts_as_a_link_token(text, kept):
    assert links.without_links(text) == kept
