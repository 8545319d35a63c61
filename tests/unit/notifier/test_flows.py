"""Signature, decline, one-time code, preferences, closure and the notification.* events in the outbox."""
import json
import logging

from sqlalchemy import select

from quoteflow.blobs import FolderBlobStore
from quoteflow.envelope import Envelope
from services.notifier.adapters import orm
from services.notifier.adapters.mail import parse, read_maildir
from services.notifier.handlers import email_message
from services.notifier.domain.model import EMAIL, FAILED, SENT, SMS, Preferences, TemplateContent


def parts(message):
    return message.get_body(("plain",)).get_content(), message.get_body(("html",)).get_content()


def outbox(app) -> list[Envelope]:
    with app.engine.connect() as conn:
        rows = conn.execute(select(orm.outbox.c.body).order_by(orm.outbox.c.id)).all()
    return [Envelope.from_json(row.body) for row in rows]


def to(app, address):
    return [m for m in read_maildir(app.cfg.mail_sink_dir) if m["To"].addresses[0].addr_spec == address]


def test_signed_copy_goes_to_the_client_with_the_sealed_pdf(app, tenant, quote_sent, signature_event):
    sent = quote_sent()
    quote_id = sent.payload().quote_id
    app.handle_event(sent)
    sealed = b"%PDF-1.7\n% scell\xc3\xa9 PAdES\n%%EOF\n"
    sha = FolderBlobStore(app.cfg.common.blob_dir).put(sealed)
    app.handle_event(signature_event("completed", quote_id, signed_pdf_sha256=sha))
    app.dispatch_due()
    copy = next(m for m in to(app, "zoe@client.example") if "signé" in m["Subject"])
    assert copy["Subject"] == "Votre devis DV-2026-0042 signé – Acme & Fils"
    assert copy["Reply-To"].addresses[0].addr_spec == "jerome@vendeur.example"
    [attachment] = list(copy.iter_attachments())
    assert attachment.get_filename() == "Devis-DV-2026-0042-signe.pdf" and attachment.get_content() == sealed
    text, _ = parts(copy)
    assert "Vous avez signé électroniquement le devis DV-2026-0042 « Maintenance annuelle »" in text
    [confirmation] = to(app, "jerome@vendeur.example")
    assert "sign" in confirmation["Subject"]


def test_decline_tells_the_assignee_the_reason_escaped(app, tenant, quote_sent, signature_event):
    quote_id = "q-decl"
    app.handle_event(signature_event("declined", quote_id, reason="<b>Trop cher</b>\nMerci quand même"))
    app.dispatch_due()
    [notice] = to(app, "jerome@vendeur.example")
    text, html = parts(notice)
    assert notice["Subject"] == "Devis DV-2026-0042 : signature refusée par Zoé Lefèvre"
    assert "<b>Trop cher</b>\nMerci quand même" in text
    assert "&lt;b&gt;Trop cher&lt;/b&gt;<br>Merci quand même" in html
    [delivery] = app.list_deliveries(tenant, quote_id)
    assert (delivery.template, delivery.status) == ("signature_declined", SENT)


def test_nothing_about_views_or_downloads_after_signature_or_decline(app, tenant, portal_event, signature_event,
                                                                     party):
    assignee = party("Jérôme", "jerome@vendeur.example", "+33612345678")
    app.set_preferences(tenant, Preferences(user_id=assignee.id, on_view_sms=True, on_download_sms=True))
    for outcome, quote_id in (("completed", "q-signed"), ("declined", "q-declined")):
        app.handle_event(signature_event(outcome, quote_id, assignee=assignee))
        app.handle_event(portal_event("viewed", assignee=assignee, quote_id=quote_id))
        app.handle_event(portal_event("downloaded", assignee=assignee, quote_id=quote_id))
        templates = [d.template for d in app.list_deliveries(tenant, quote_id)]
        assert "quote_viewed" not in templates and "quote_downloaded" not in templates, templates
    # A later version (sent again after a decline) is told about again.
    app.handle_event(portal_event("viewed", assignee=assignee, quote_id="q-declined", version=2))
    assert {d.template for d in app.list_deliveries(tenant, "q-declined")} == {"signature_declined", "quote_viewed"}


def test_preferences_decide_who_gets_what(app, tenant, portal_event, party):
    """Each salesperson: email only, SMS only, both, nothing, per action."""
    cases = {
        "email": Preferences(user_id="", on_view_email=True, on_download_email=False),
        "sms": Preferences(user_id="", on_view_email=False, on_view_sms=True, on_download_email=False),
        "both": Preferences(user_id="", on_view_email=True, on_view_sms=True, on_download_email=True,
                            on_download_sms=True),
        "none": Preferences(user_id="", on_view_email=False, on_download_email=False),
    }
    got = {}
    for label, prefs in cases.items():
        assignee = party(f"Commercial {label}", f"{label}@vendeur.example", "+33612345678")
        app.set_preferences(tenant, Preferences(**{**prefs.__dict__, "user_id": assignee.id}))
        for kind in ("viewed", "downloaded"):
            envelope = portal_event(kind, assignee=assignee, quote_id=f"q-{label}-{kind}")
            app.handle_event(envelope)
            got[label, kind] = sorted(d.channel for d in app.list_deliveries(tenant, f"q-{label}-{kind}"))
    assert got == {("email", "viewed"): [EMAIL], ("email", "downloaded"): [],
                   ("sms", "viewed"): [SMS], ("sms", "downloaded"): [],
                   ("both", "viewed"): [EMAIL, SMS], ("both", "downloaded"): [EMAIL, SMS],
                   ("none", "viewed"): [], ("none", "downloaded"): []}
    app.dispatch_due()
    assert sorted(m["To"].addresses[0].addr_spec for m in read_maildir(app.cfg.mail_sink_dir)) == [
        "both@vendeur.example", "both@vendeur.example", "email@vendeur.example"]
    assert len(app.sms.lines()) == 3


def test_one_time_code_by_email_and_by_sms_never_logged_and_wiped_once_sent(app, tenant, signature_event, caplog):
    caplog.set_level(logging.DEBUG)
    by_email = signature_event("code", "q-otp-mail", code="482913")
    by_sms = signature_event("code", "q-otp-sms", code="771204", channel="sms")
    app.handle_event(by_email)
    app.handle_event(by_sms)
    assert app.dispatch_due() == 2
    [mail] = to(app, "zoe@client.example")
    assert "482913" in parts(mail)[0] and "482913" not in mail["Subject"]
    [sms] = app.sms.lines()
    assert sms["to"] == "+33 6 98 76 54 32" and "771204" in sms["text"]
    for quote_id, code in (("q-otp-mail", "482913"), ("q-otp-sms", "771204")):
        [delivery] = app.list_deliveries(tenant, quote_id)
        assert delivery.status == SENT and delivery.payload == b"" and code not in delivery.subject
    events = [e.payload() for e in outbox(app)]
    assert {e.template for e in events} == {"signature_code"}
    assert "482913" not in caplog.text and "771204" not in caplog.text
    assert not any(code in json.dumps(e.data) for e in outbox(app) for code in ("482913", "771204"))


def test_an_expired_code_is_not_sent(app, tenant, signature_event):
    app.handle_event(signature_event("code", "q-late", expires_at="2020-01-01T00:00:00Z"))
    app.dispatch_due()
    [delivery] = app.list_deliveries(tenant, "q-late")
    assert (delivery.status, delivery.error, delivery.payload) == (FAILED, "expiré avant l'envoi", b"")
    assert read_maildir(app.cfg.mail_sink_dir) == []


def test_every_outcome_is_an_event_in_the_outbox(app, tenant, quote_sent, party):
    good = quote_sent()
    bad = quote_sent(recipient=party("Zoé", "pas-une-adresse"))
    app.handle_event(good)
    app.handle_event(bad)
    app.dispatch_due()
    events = {e.payload().quote_id: e for e in outbox(app)}
    sent, failed = events[good.payload().quote_id], events[bad.payload().quote_id]
    assert sent.type == "notification.sent" and failed.type == "notification.failed"
    assert sent.source == "quoteflow/notifier" and sent.subject == f"quote/{good.payload().quote_id}"
    assert sent.tenant == tenant and sent.correlation_id == good.correlation_id
    payload = sent.payload()
    assert (payload.channel, payload.recipient, payload.template, payload.cause_event_id) == (
        "email", "zoe@client.example", "quote_send", good.id)
    assert payload.subject == "Votre devis DV-2026-0042 – Acme & Fils" and payload.at.endswith("Z")
    assert "adresse email invalide" in failed.payload().error


def test_a_signature_request_uses_its_own_template(app, tenant, quote_sent):
    envelope = quote_sent(signature_requested=True, template="quote_send")
    app.handle_event(envelope)
    [delivery] = app.list_deliveries(tenant, envelope.payload().quote_id)
    assert delivery.template == "quote_signature_request"
    assert delivery.subject.startswith("Demande de signature électronique")


def test_the_tenants_saved_template_is_the_one_sent_and_a_chosen_custom_one_too(app, tenant, quote_sent):
    app.save_template(tenant, "quote_send", TemplateContent(
        subject="Devis {{ quote_number }} de la part de {{ assignee_name }}",
        text="Bonjour,\nAccéder au document : {{ link_url }}\n",
        html='<p>Bonjour</p><a href="{{ link_url }}">Accéder au document</a>'))
    app.save_template(tenant, "promo-printemps", TemplateContent(
        subject="Offre de printemps {{ quote_number }}", text="Printemps ! {{ link_url }}",
        html='<a href="{{ link_url }}">Accéder au document</a>'), base="quote_send")
    first, chosen, unknown = quote_sent(), quote_sent(template="promo-printemps"), quote_sent(template="inconnu")
    for envelope in (first, chosen, unknown):
        app.handle_event(envelope)
    app.dispatch_due()
    subjects = {m["Subject"] for m in read_maildir(app.cfg.mail_sink_dir)}
    assert subjects == {"Devis DV-2026-0042 de la part de Jérôme Œuvre", "Offre de printemps DV-2026-0042"}
    [delivery] = app.list_deliveries(tenant, chosen.payload().quote_id)
    assert delivery.template == "promo-printemps"
    [mail] = [m for m in read_maildir(app.cfg.mail_sink_dir) if m["Subject"] == "Offre de printemps DV-2026-0042"]
    assert mail.get_body(("plain",)).get_content().startswith("Printemps ! " + chosen.payload().link_url)
    # Another tenant still gets the default.
    other = quote_sent()
    app.handle_event(Envelope(**{**other.__dict__, "tenant": "another-tenant", "id": "other-event"}))
    with app.uow() as uow:
        [delivery] = uow.deliveries.for_quote("another-tenant", other.payload().quote_id)
    assert delivery.subject == "Votre devis DV-2026-0042 – Acme & Fils"
