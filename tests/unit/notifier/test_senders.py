"""Who an email comes from: the client's emails carry the company's name (MAIL_FROM's address), and a reply
goes to the salesperson; the salesperson's alerts come from Quoteflow."""
from quoteflow.envelope import Envelope
from services.notifier.adapters.mail import read_maildir


def with_company(quote_sent, name: str) -> Envelope:
    sent = quote_sent()
    event = sent.payload()
    event.snapshot.company.name = name
    return Envelope.wrap(event, source="quoteflow/quotes", subject=f"quote/{event.quote_id}", tenant=sent.tenant)


def test_the_clients_emails_come_from_the_company_and_answer_to_the_assignee(app, tenant, quote_sent,
                                                                             signature_event, portal_event):
    sent = quote_sent(signature_requested=True)
    quote_id = sent.payload().quote_id
    app.handle_event(sent)
    app.handle_event(signature_event("code_requested", quote_id))
    app.handle_event(portal_event("viewed", quote_id=quote_id))
    app.handle_event(signature_event("completed", quote_id))
    app.dispatch_due()
    mails = read_maildir(app.cfg.mail_sink_dir)
    assert len(mails) == 5
    for mail in mails:
        [sender] = mail["From"].addresses
        assert sender.addr_spec == "devis@quoteflow.localhost"  # MAIL_FROM's address, always
        if mail["To"].addresses[0].addr_spec == "zoe@client.example":
            assert sender.display_name == "Acme & Fils", mail["Subject"]
            assert mail["Reply-To"].addresses[0].addr_spec == "jerome@vendeur.example", mail["Subject"]
        else:
            assert sender.display_name == "Quoteflow", mail["Subject"]
    assert {str(m["Subject"]).split(" ")[0] for m in mails if "zoe@" in str(m["To"])} == {"Demande", "Votre"}


def test_without_a_company_name_the_client_email_keeps_mail_froms_name(app, quote_sent):
    app.handle_event(with_company(quote_sent, ""))
    app.dispatch_due()
    [mail] = read_maildir(app.cfg.mail_sink_dir)
    assert mail["From"].addresses[0].display_name == "Quoteflow"


def test_a_company_name_cannot_inject_a_header(app, quote_sent):
    app.handle_event(with_company(quote_sent, "Acme\r\nBcc: evil@x.example"))
    app.dispatch_due()
    [mail] = read_maildir(app.cfg.mail_sink_dir)
    assert mail["Bcc"] is None and mail["From"].addresses[0].display_name == "Acme Bcc: evil@x.example"
    assert mail["From"].addresses[0].addr_spec == "devis@quoteflow.localhost"
