"""A quote's life as the client and the salesperson receive it, through a real SMTP server (aiosmtpd):
the raw messages, as a mail client would read them."""
from email import message_from_bytes, policy

from quoteflow.envelope import Envelope
from quoteflow.v1 import events_pb2
from tests.integration.notifier.test_smtp import Recorder, smtp, smtp_app  # noqa: F401  (smtp: a fixture)

ANDROID_CHROME = ("Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
                  "Chrome/124.0.6367.82 Mobile Safari/537.36")
SEALED = b"%PDF-1.7\n% devis scell\xc3\xa9\n%%EOF\n"
PROOF = b"%PDF-1.7\n% dossier de preuve\n%%EOF\n"


def test_the_walkthrough_as_the_mail_clients_see_it(cfg, tenant, quote_sent, portal_event, party, smtp):
    recorder = Recorder()
    app = smtp_app(cfg, smtp(recorder))
    helene = party("Hélène Gaëtan-Müller", "helene@menuiserie.example.fr")
    sent = quote_sent(recipient=helene, signature_requested=True)
    quote_id = sent.payload().quote_id
    app.handle_event(sent)
    app.handle_event(portal_event("viewed", quote_id=quote_id, recipient_email=helene.email,
                                  user_agent=ANDROID_CHROME))
    completed = events_pb2.SignatureCompleted(
        request_id="r1", quote_id=quote_id, number="DV-2026-0042", version=1, signer_name=helene.name,
        signer_email=helene.email, signed_at="2026-04-03T12:30:00Z", ip="203.0.113.7",
        signed_pdf_sha256=app.blobs.put(SEALED), proof_sha256=app.blobs.put(PROOF))
    completed.assignee.CopyFrom(sent.payload().assignee)
    app.handle_event(Envelope.wrap(completed, source="quoteflow/signature", subject=f"quote/{quote_id}",
                                   tenant=tenant))
    assert app.dispatch_due() == 4

    received = {}
    for envelope in recorder.envelopes:
        message = message_from_bytes(envelope.original_content, policy=policy.default)
        received[(envelope.rcpt_tos[0], str(message["Subject"]))] = message
        assert envelope.mail_from == "devis@quoteflow.localhost"
    client = "helene@menuiserie.example.fr"
    assignee = "jerome@vendeur.example"
    assert set(received) == {
        (client, "Demande de signature électronique : devis DV-2026-0042 – Acme & Fils"),
        (assignee, "Devis DV-2026-0042 consulté par Hélène Gaëtan-Müller"),
        (assignee, "Devis DV-2026-0042 signé par Hélène Gaëtan-Müller – Accepté"),
        (client, "Votre devis DV-2026-0042 signé – Acme & Fils")}
    for (to, subject), message in received.items():
        raw = bytes(message)
        if to == client:
            assert b"From: Acme & Fils <devis@quoteflow.localhost>" in raw, subject
            assert message["Reply-To"].addresses[0].addr_spec == assignee
        else:
            assert b"From: Quoteflow <devis@quoteflow.localhost>" in raw, subject

    confirmation = received[(assignee, "Devis DV-2026-0042 signé par Hélène Gaëtan-Müller – Accepté")]
    assert confirmation.get_content_type() == "multipart/mixed"
    assert {a.get_filename(): a.get_content() for a in confirmation.iter_attachments()} == {
        "Devis-DV-2026-0042-signe.pdf": SEALED, "Preuves-DV-2026-0042.pdf": PROOF}
    view = received[(assignee, "Devis DV-2026-0042 consulté par Hélène Gaëtan-Müller")]
    assert "Navigateur : Chrome sur Android" in view.get_body(("plain",)).get_content()
    invitation = received[(client, "Demande de signature électronique : devis DV-2026-0042 – Acme & Fils")]
    text = invitation.get_body(("plain",)).get_content()
    assert "Nous avons le plaisir de vous transmettre notre devis" in text and "ci-joint" not in text
