"""A quote.sent naming a template the tenant does not have still sends (the default: the CRM's SendQuote was
answered already) and says so in the quote's history (a notification.failed naming the template); the editor's
calls refuse an unknown name with NOT_FOUND naming it."""
import pytest
from sqlalchemy import select

from quoteflow.envelope import Envelope
from quoteflow.errors import NotFound
from services.notifier.adapters import orm
from services.notifier.adapters.mail import read_maildir
from services.notifier.domain.model import FAILED, QUEUED, SENT


def events(app) -> list[Envelope]:
    with app.engine.connect() as conn:
        return [Envelope.from_json(body) for body in
                conn.execute(select(orm.outbox.c.body).order_by(orm.outbox.c.id)).scalars()]


def test_a_misspelled_template_sends_the_default_and_the_history_says_which_name_was_wrong(app, tenant, quote_sent):
    envelope = quote_sent(template="modele_inexistant")
    app.handle_event(envelope)
    [delivery] = app.list_deliveries(tenant, envelope.payload().quote_id)
    assert (delivery.status, delivery.template) == (QUEUED, "quote_send")  # the client still gets the quote
    [refused] = events(app)
    payload = refused.payload()
    assert refused.type == "notification.failed" and refused.tenant == tenant
    assert (payload.quote_id, payload.template, payload.recipient, payload.channel, payload.cause_event_id) == (
        envelope.payload().quote_id, "modele_inexistant", "zoe@client.example", "email", envelope.id)
    assert payload.error == ("modèle « modele_inexistant » inconnu : l'email part avec le modèle par défaut "
                             "« quote_send » à la place")
    assert payload.attempts == 0 and payload.delivery_id and payload.delivery_id != delivery.id
    app.dispatch_due()
    assert [e.type for e in events(app)] == ["notification.failed", "notification.sent"]
    assert [d.status for d in app.list_deliveries(tenant, envelope.payload().quote_id)] == [SENT]
    [mail] = read_maildir(app.cfg.mail_sink_dir)
    assert mail["Subject"] == "Votre devis DV-2026-0042 – Acme & Fils"


def test_a_template_that_is_not_a_send_template_is_refused_the_same_way(app, tenant, quote_sent):
    envelope = quote_sent(template="signature_code", kind="relance")
    app.handle_event(envelope)
    [delivery] = app.list_deliveries(tenant, envelope.payload().quote_id)
    assert delivery.template == "quote_relance"
    [refused] = events(app)
    assert refused.payload().error.startswith("modèle « signature_code » qui ne sert pas à envoyer un devis : ")
    assert "« quote_relance »" in refused.payload().error


def test_the_default_or_a_known_template_is_no_problem(app, tenant, quote_sent):
    for envelope in (quote_sent(), quote_sent(template="quote_send", signature_requested=True),
                     quote_sent(template="quote_relance", kind="relance")):
        app.handle_event(envelope)
    assert events(app) == []
    assert not any(d.status == FAILED for d in app.list_deliveries(tenant, envelope.payload().quote_id))


@pytest.mark.parametrize("call", ["preview", "get", "versions"])
def test_the_editor_refuses_an_unknown_name_with_not_found_naming_it(app, tenant, call):
    with pytest.raises(NotFound, match="modele_inexistant"):
        if call == "preview":
            app.preview_email(tenant, "modele_inexistant", {"quote_number": "DV-1"})
        elif call == "get":
            app.get_template(tenant, "modele_inexistant")
        else:
            app.list_template_versions(tenant, "modele_inexistant")
