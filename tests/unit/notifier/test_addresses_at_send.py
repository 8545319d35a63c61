"""The notifier applies quotes' address rule when it queues and when it sends; a message it cannot build is
given up at once (building it again gives the same error)."""
import uuid

import pytest

from services.notifier.adapters.mail import EmailDraft, MailError, read_maildir
from services.notifier.domain.model import DRAFT, EMAIL, FAILED, SENT, Delivery, msisdn


@pytest.mark.parametrize("stored, sent", [
    ("+33 (0)6 12 34 56 78", "33612345678"),   # was 330612345678, refused by Vonage
    ("0696 12 34 56", "596696123456"),         # Martinique, was 33696123456
    ("0692 12 34 56", "262692123456"),         # La Réunion
    ("06 12 34 56 78", "33612345678"),
    ("6 12 34 56 78", ""),                     # was 612345678: Australia
    ("1234", ""),
])
def test_a_stored_number_is_normalised_when_the_sms_goes(stored, sent):
    assert msisdn(stored) == sent


def test_an_address_with_accents_before_the_at_is_refused_when_queued(app, tenant, quote_sent, party):
    sent = quote_sent(recipient=party("Zoé", "zoé@exemple.fr"))
    app.handle_event(sent)
    [delivery] = app.list_deliveries(tenant, sent.payload().quote_id)
    assert (delivery.status, delivery.attempts) == (FAILED, 0)
    assert "adresse email invalide" in delivery.error
    assert read_maildir(app.cfg.mail_sink_dir) == []


def test_an_international_domain_goes_out_as_its_ascii_name(app, tenant, quote_sent, party):
    sent = quote_sent(recipient=party("Zoé", "zoe@exémple.fr"))
    app.handle_event(sent)
    app.dispatch_due()
    [delivery] = app.list_deliveries(tenant, sent.payload().quote_id)
    assert delivery.status == SENT
    [message] = read_maildir(app.cfg.mail_sink_dir)
    assert message["To"].addresses[0].addr_spec == "zoe@xn--exmple-cva.fr"


def test_a_message_that_cannot_be_built_is_not_retried(app, tenant):
    draft = EmailDraft(mail_from=app.cfg.mail_from, to_name="Zoé", subject="Devis", text="t", html="<p>t</p>")
    with pytest.raises(MailError) as caught:
        draft.message("zoé@exemple.fr", app.blobs)
    assert caught.value.transient is False and "message impossible à construire" in str(caught.value)

    # a delivery queued before the address rule: its message fails to build on the first try, and that is final
    now = app.clock.now()
    delivery = Delivery(id=str(uuid.uuid4()), tenant=tenant, event_id=str(uuid.uuid4()), channel=EMAIL,
                        recipient="zoé@exemple.fr", template="quote_send", quote_id="q-old", subject="Devis",
                        payload=draft.to_bytes(), created_at=now, next_attempt_at=now, payload_format=DRAFT)
    with app.uow() as uow:
        uow.deliveries.add(delivery)
        uow.commit()
    app.dispatch_due()
    [done] = app.list_deliveries(tenant, "q-old")
    assert (done.status, done.attempts, done.next_attempt_at) == (FAILED, 1, None)
    assert done.error.startswith("message impossible à construire")
