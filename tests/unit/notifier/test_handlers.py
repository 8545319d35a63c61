import json
import threading
import time
from dataclasses import replace

import pytest

from quoteflow.blobs import FolderBlobStore
from quoteflow.v1 import events_pb2
from quoteflow.envelope import Envelope
from services.notifier.adapters.mail import MailError, parse, read_maildir
from services.notifier.adapters.templates import money
from services.notifier.bootstrap import bootstrap
from services.notifier.domain.model import EMAIL, FAILED, QUEUED, SENT, SMS, Preferences
from services.notifier.handlers import email_message


def deliveries(app, tenant, quote_id):
    return app.list_deliveries(tenant, quote_id)


def parts(message):
    text = message.get_body(("plain",)).get_content()
    html = message.get_body(("html",)).get_content()
    return text, html


def test_quote_sent_queues_one_email_with_the_link(app, tenant, quote_sent):
    envelope = quote_sent()
    event = envelope.payload()
    app.handle_event(envelope)
    [delivery] = deliveries(app, tenant, event.quote_id)
    assert (delivery.status, delivery.channel, delivery.recipient) == (QUEUED, EMAIL, "zoe@client.example")
    assert delivery.template == "quote_send" and delivery.event_id == envelope.id
    with app.uow() as uow:
        message = parse(email_message(uow.deliveries.get(delivery.id), app.blobs))
    text, html = parts(message)
    assert f"Accéder au document : {event.link_url}" in text
    assert f'href="{event.link_url}"' in html and "Accéder au document" in html
    assert message["Subject"] == "Votre devis DV-2026-0042 – Acme & Fils" == delivery.subject
    assert message["Reply-To"].addresses[0].addr_spec == "jerome@vendeur.example"
    assert message["From"].addresses[0].addr_spec == "devis@quoteflow.localhost"
    assert message["Message-ID"] and message["Date"]
    assert f"{money('1234.56')} TTC" in text


def test_redelivery_sends_nothing_twice(app, tenant, quote_sent):
    envelope = quote_sent()
    app.handle_event(envelope)
    app.handle_event(Envelope.from_json(envelope.to_json()))
    assert len(deliveries(app, tenant, envelope.payload().quote_id)) == 1
    assert app.dispatch_due() == 1
    app.handle_event(envelope)
    assert app.dispatch_due() == 0
    assert len(read_maildir(app.cfg.mail_sink_dir)) == 1


def test_dispatch_writes_the_mail_to_the_maildir_sink(app, tenant, quote_sent):
    envelope = quote_sent(kind="relance", signature_requested=True)
    app.handle_event(envelope)
    assert app.dispatch_due() == 1
    [message] = read_maildir(app.cfg.mail_sink_dir)
    text, _ = parts(message)
    assert message["To"].addresses[0].addr_spec == "zoe@client.example"
    assert message["Subject"].startswith("Relance : signature électronique de votre devis DV-2026-0042")
    assert envelope.payload().link_url in text and "signer en ligne" in text
    [delivery] = deliveries(app, tenant, envelope.payload().quote_id)
    assert (delivery.status, delivery.attempts, delivery.template) == (SENT, 1, "quote_relance")
    assert delivery.sent_at is not None


def test_edited_subject_and_body_replace_the_template(app, tenant, quote_sent):
    envelope = quote_sent(subject="Notre proposition\r\nBcc: evil@x.example",
                          body="Bonjour Zoé,\n\n<b>Voici</b> le devis {{ 7*7 }}.")
    app.handle_event(envelope)
    app.dispatch_due()
    [message] = read_maildir(app.cfg.mail_sink_dir)
    text, html = parts(message)
    assert message["Subject"] == "Notre proposition Bcc: evil@x.example" and message["Bcc"] is None
    assert text.startswith("Bonjour Zoé,\n\n<b>Voici</b> le devis {{ 7*7 }}.")
    assert "&lt;b&gt;Voici&lt;/b&gt; le devis {{ 7*7 }}." in html
    assert envelope.payload().link_url in text and "Accéder au document</a>" in html


def test_attach_pdf_attaches_the_frozen_pdf(app, tenant, quote_sent):
    pdf = b"%PDF-1.7\n% devis gel\xc3\xa9\n%%EOF\n"
    sha = FolderBlobStore(app.cfg.common.blob_dir).put(pdf)
    app.handle_event(quote_sent(attach_pdf=True, pdf_sha256=sha))
    app.dispatch_due()
    [message] = read_maildir(app.cfg.mail_sink_dir)
    [attachment] = list(message.iter_attachments())
    assert attachment.get_filename() == "Devis-DV-2026-0042.pdf"
    assert attachment.get_content_type() == "application/pdf" and attachment.get_content() == pdf


def test_missing_pdf_fails_the_event_so_it_is_retried(app, tenant, quote_sent):
    envelope = quote_sent(attach_pdf=True, pdf_sha256="a" * 64)
    with pytest.raises(KeyError):
        app.handle_event(envelope)
    assert deliveries(app, tenant, envelope.payload().quote_id) == []


def test_invalid_recipient_is_logged_as_failed_not_sent(app, tenant, quote_sent, party):
    envelope = quote_sent(recipient=party("Zoé", "zoe@client.example\r\nBcc: evil@x.example"))
    app.handle_event(envelope)
    [delivery] = deliveries(app, tenant, envelope.payload().quote_id)
    assert delivery.status == FAILED and "adresse email invalide" in delivery.error
    assert app.dispatch_due() == 0


def test_view_with_default_preferences_emails_the_assignee(app, tenant, portal_event):
    envelope = portal_event("viewed")
    app.handle_event(envelope)
    app.dispatch_due()
    [message] = read_maildir(app.cfg.mail_sink_dir)
    text, _ = parts(message)
    assert message["To"].addresses[0].addr_spec == "jerome@vendeur.example"
    # 12:05 UTC is 14:05 in Paris in April.
    assert ("Le devis DV-2026-0042 a été consulté par zoe@client.example le 3 avril 2026 à 14:05 "
            "(adresse IP : 203.0.113.7)") in text
    assert not app.cfg.sms_log.exists()


def test_view_with_preferences_off_sends_nothing(app, tenant, portal_event, party):
    assignee = party("Jérôme", "jerome@vendeur.example", "+33612345678")
    app.set_preferences(tenant, Preferences(user_id=assignee.id, on_view_email=False))
    envelope = portal_event("viewed", assignee=assignee)
    app.handle_event(envelope)
    assert deliveries(app, tenant, envelope.payload().quote_id) == []
    assert app.dispatch_due() == 0 and read_maildir(app.cfg.mail_sink_dir) == []


def test_preferences_belong_to_one_tenant(app, tenant, portal_event, party):
    assignee = party("Jérôme", "jerome@vendeur.example")
    app.set_preferences("someone-else", Preferences(user_id=assignee.id, on_view_email=False))
    assert app.get_preferences(tenant, assignee.id) == Preferences(user_id=assignee.id)
    app.handle_event(portal_event("viewed", assignee=assignee))
    assert app.dispatch_due() == 1


def test_download_with_sms_preference_writes_the_sms_log(app, tenant, portal_event, party):
    assignee = party("Jérôme", "jerome@vendeur.example", "+33612345678")
    app.set_preferences(tenant, Preferences(user_id=assignee.id, on_download_email=False, on_download_sms=True))
    envelope = portal_event("downloaded", assignee=assignee)
    app.handle_event(envelope)
    [delivery] = deliveries(app, tenant, envelope.payload().quote_id)
    assert (delivery.channel, delivery.recipient, delivery.template) == (SMS, "+33612345678", "quote_downloaded")
    assert app.dispatch_due() == 1
    [line] = [json.loads(x) for x in app.cfg.sms_log.read_text(encoding="utf-8").splitlines()]
    assert line["to"] == "+33612345678"
    assert line["text"] == ("Le devis DV-2026-0042 a été téléchargé par zoe@client.example le 3 avril 2026 "
                            "à 14:05 (Firefox).")
    assert read_maildir(app.cfg.mail_sink_dir) == []


def test_sms_without_a_phone_is_logged_as_failed(app, tenant, portal_event, party):
    assignee = party("Jérôme", "jerome@vendeur.example", "")
    app.set_preferences(tenant, Preferences(user_id=assignee.id, on_view_email=False, on_view_sms=True))
    envelope = portal_event("viewed", assignee=assignee)
    app.handle_event(envelope)
    [delivery] = deliveries(app, tenant, envelope.payload().quote_id)
    assert delivery.status == FAILED and "téléphone" in delivery.error


def test_signature_completed_confirms_to_the_assignee_with_the_amount(app, tenant, quote_sent):
    sent = quote_sent()
    app.handle_event(sent)
    event = sent.payload()
    completed = events_pb2.SignatureCompleted(
        request_id="r1", quote_id=event.quote_id, number="DV-2026-0042", version=1, signer_name="Zoé Lefèvre",
        signer_email="zoe@client.example", signed_at="2026-04-03T08:30:00Z", ip="203.0.113.7")
    completed.assignee.CopyFrom(event.assignee)
    app.handle_event(Envelope.wrap(completed, source="quoteflow/signature", subject=f"quote/{event.quote_id}",
                                   tenant=tenant))
    assert app.dispatch_due() == 3  # the send, the confirmation, the client's signed copy
    confirmation = next(m for m in read_maildir(app.cfg.mail_sink_dir)
                        if m["To"].addresses[0].addr_spec == "jerome@vendeur.example")
    text, _ = parts(confirmation)
    assert confirmation["Subject"] == "Devis DV-2026-0042 signé par Zoé Lefèvre – Accepté"
    assert "signé électroniquement par Zoé Lefèvre (zoe@client.example) le 3 avril 2026 à 10:30" in text
    assert f"Montant signé : {money('1234.56')} TTC" in text and "« Accepté »" in text


def test_events_the_notifier_does_not_handle_are_ignored(app, tenant):
    requested = events_pb2.SignatureRequested(request_id="r", quote_id="q-x", version=1)
    app.handle_event(Envelope.wrap(requested, source="quoteflow/signature", subject="quote/q-x", tenant=tenant))
    assert app.dispatch_due() == 0


class FlakyMail:
    """A transport that fails the first ``failures`` sends the given way, then records."""

    def __init__(self, failures: int, transient: bool = True):
        self.failures, self.transient, self.sent = failures, transient, []

    def send(self, sender, recipient, message):
        if self.failures:
            self.failures -= 1
            raise MailError("451 4.3.0 try again later" if self.transient else "550 5.1.1 no such user",
                            self.transient)
        self.sent.append((sender, recipient, message))


def test_transient_failure_is_retried_with_back_off(cfg, tenant, quote_sent):
    mail = FlakyMail(failures=2)
    app = bootstrap(cfg, mail=mail)
    envelope = quote_sent()
    app.handle_event(envelope)
    assert app.dispatch_due() == 1
    [delivery] = deliveries(app, tenant, envelope.payload().quote_id)
    assert (delivery.status, delivery.attempts) == (QUEUED, 1) and "451" in delivery.error
    deadline = time.monotonic() + 5
    while not mail.sent and time.monotonic() < deadline:
        app.dispatch_due()
        time.sleep(0.01)
    [delivery] = deliveries(app, tenant, envelope.payload().quote_id)
    assert (delivery.status, delivery.attempts, delivery.error) == (SENT, 3, "")
    assert len(mail.sent) == 1


def test_permanent_failure_is_marked_failed_at_once(cfg, tenant, quote_sent):
    app = bootstrap(cfg, mail=FlakyMail(failures=1, transient=False))
    envelope = quote_sent()
    app.handle_event(envelope)
    app.dispatch_due()
    [delivery] = deliveries(app, tenant, envelope.payload().quote_id)
    assert (delivery.status, delivery.attempts) == (FAILED, 1) and "550" in delivery.error


def test_retries_stop_after_the_configured_attempts(cfg, tenant, quote_sent):
    app = bootstrap(replace(cfg, send_attempts=2), mail=FlakyMail(failures=10))
    envelope = quote_sent()
    app.handle_event(envelope)
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        app.dispatch_due()
        [delivery] = deliveries(app, tenant, envelope.payload().quote_id)
        if delivery.status != QUEUED:
            break
        time.sleep(0.01)
    assert (delivery.status, delivery.attempts) == (FAILED, 2)


def test_the_dispatcher_is_woken_by_the_commit_not_by_its_sweep(cfg, tenant, quote_sent):
    app = bootstrap(replace(cfg, sweep_seconds=60))
    thread = threading.Thread(target=app.dispatcher.run, daemon=True)
    thread.start()
    try:
        time.sleep(0.1)  # the loop is now waiting out its 60 s sweep
        app.handle_event(quote_sent())
        deadline = time.monotonic() + 20  # well inside the 60 s sweep, and patient with a loaded machine
        while not read_maildir(cfg.mail_sink_dir) and time.monotonic() < deadline:
            time.sleep(0.02)
        assert len(read_maildir(cfg.mail_sink_dir)) == 1
    finally:
        app.dispatcher.stop()
        thread.join(5)
    assert not thread.is_alive()


def test_a_delivery_left_queued_by_a_crash_is_sent_by_the_next_process(cfg, tenant, quote_sent):
    first = bootstrap(cfg)
    envelope = quote_sent()
    first.handle_event(envelope)  # the process dies before its dispatcher ran
    first.engine.dispose()
    second = bootstrap(cfg)
    assert second.dispatch_due() == 1
    assert [m["To"].addresses[0].addr_spec for m in read_maildir(cfg.mail_sink_dir)] == ["zoe@client.example"]


def test_read_maildir_lists_newest_first(app, tenant, quote_sent):
    for number in ("DV-1", "DV-2", "DV-3"):
        app.handle_event(quote_sent(number=number))
        app.dispatch_due()
        time.sleep(0.01)
    subjects = [m["Subject"] for m in read_maildir(app.cfg.mail_sink_dir)]
    assert subjects == [f"Votre devis {n} – Acme & Fils" for n in ("DV-3", "DV-2", "DV-1")]
