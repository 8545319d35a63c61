"""The salesperson's view and download alerts: the contact's name, the quote's title, a readable browser;
by SMS, one part of GSM-7 text."""
import json

from services.notifier.adapters.mail import read_maildir
from services.notifier.adapters.sms import SMS_PART, septets
from services.notifier.domain.model import Preferences

ANDROID_CHROME = ("Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
                  "Chrome/124.0.6367.82 Mobile Safari/537.36")
HELENE = "helene@menuiserie.example.fr"


def parts(message):
    return message.get_body(("plain",)).get_content(), message.get_body(("html",)).get_content()


def sent_to_helene(quote_sent, party, **fields):
    return quote_sent(recipient=party("Hélène Gaëtan-Müller", HELENE), **fields)


def test_the_alert_names_the_contact_the_quote_and_the_browser(app, tenant, quote_sent, portal_event, party):
    sent = sent_to_helene(quote_sent, party)
    quote_id = sent.payload().quote_id
    app.handle_event(sent)
    app.handle_event(portal_event("viewed", quote_id=quote_id, recipient_email="Helene@Menuiserie.example.fr",
                                  user_agent=ANDROID_CHROME))
    app.handle_event(portal_event("downloaded", quote_id=quote_id, recipient_email=HELENE, user_agent=ANDROID_CHROME))
    app.dispatch_due()
    alerts = {str(m["Subject"]): m for m in read_maildir(app.cfg.mail_sink_dir) if "jerome@" in str(m["To"])}
    assert set(alerts) == {"Devis DV-2026-0042 consulté par Hélène Gaëtan-Müller",
                           "Devis DV-2026-0042 téléchargé par Hélène Gaëtan-Müller"}
    text, html = parts(alerts["Devis DV-2026-0042 consulté par Hélène Gaëtan-Müller"])
    assert ("Le devis DV-2026-0042 « Maintenance annuelle » a été consulté par Hélène Gaëtan-Müller "
            "(Helene@Menuiserie.example.fr) le 3 avril 2026 à 14:05 (adresse IP : 203.0.113.7).") in text
    assert "Navigateur : Chrome sur Android\n" in text
    assert "Navigateur : Chrome sur Android</p>" in html
    assert f'<p style="font-size:11px;color:#888;">User-Agent : {ANDROID_CHROME}</p>' in html
    assert "Navigateur : Mozilla" not in text + html


def test_someone_the_quote_was_not_sent_to_is_named_by_email(app, quote_sent, portal_event, party):
    sent = sent_to_helene(quote_sent, party)
    app.handle_event(sent)
    app.handle_event(portal_event("viewed", quote_id=sent.payload().quote_id, recipient_email="paul@client.example"))
    app.dispatch_due()
    [alert] = [m for m in read_maildir(app.cfg.mail_sink_dir) if "jerome@" in str(m["To"])]
    assert alert["Subject"] == "Devis DV-2026-0042 consulté par paul@client.example"
    assert "consulté par paul@client.example le 3 avril" in parts(alert)[0]


def test_an_alert_by_sms_is_one_part_of_gsm7(app, tenant, quote_sent, portal_event, party):
    assignee = party("Jérôme", "jerome@vendeur.example", "+33612345678")
    app.set_preferences(tenant, Preferences(user_id=assignee.id, on_view_email=False, on_view_sms=True,
                                            on_download_email=False, on_download_sms=True))
    sent = sent_to_helene(quote_sent, party, assignee=assignee)
    quote_id = sent.payload().quote_id
    app.handle_event(sent)
    for kind in ("viewed", "downloaded"):
        app.handle_event(portal_event(kind, quote_id=quote_id, recipient_email=HELENE, assignee=assignee,
                                      user_agent=ANDROID_CHROME, ip="2001:db8:85a3:8d3:1319:8a2e:370:7348"))
    app.dispatch_due()
    texts = [json.loads(line)["text"] for line in app.cfg.sms_log.read_text(encoding="utf-8").splitlines()]
    assert texts == [
        "Le devis DV-2026-0042 a été consulté par Hélène Gaetan-Müller le 3 avril 2026 à 14:05 (Chrome sur Android).",
        "Le devis DV-2026-0042 a été téléchargé par Hélène Gaetan-Müller le 3 avril 2026 à 14:05 "
        "(Chrome sur Android)."]
    for text in texts:
        assert 0 < septets(text) <= SMS_PART, text


def test_a_code_by_sms_is_gsm7_too(app, tenant, quote_sent, signature_event):
    app.handle_event(quote_sent())
    app.handle_event(signature_event("code_requested", "q-code", channel="sms", code="482913"))
    app.dispatch_due()
    [line] = [json.loads(x) for x in app.cfg.sms_log.read_text(encoding="utf-8").splitlines()]
    assert "482913" in line["text"] and 0 < septets(line["text"]) <= SMS_PART
