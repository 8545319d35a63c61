"""What an email says: its text and HTML parts say the same, « ci-joint » only when the PDF is attached,
and every email to a client is signed by the salesperson and the company."""
import html as html_lib
import re

import pytest

from services.notifier.adapters.mail import read_maildir
from services.notifier.adapters.templates import DEFAULT_TEMPLATES, SAMPLE, TemplateRenderer


def visible_text(html: str) -> str:
    """What a reader sees of an HTML part, as one line of words."""
    body = re.sub(r"(?is)<head>.*?</head>", " ", html)
    body = re.sub(r"(?i)</?(?:br|p|li|ul|ol|div|blockquote|h\d)\b[^>]*>", " ", body)  # blocks end words
    return " ".join(html_lib.unescape(re.sub(r"<[^>]+>", "", body)).split())  # inline tags do not


def sentences(text: str) -> list[str]:
    """The text part's lines, as a reader sees them (list dashes off), but the link line (a button in HTML)."""
    lines = [" ".join(line.removeprefix("- ").split()) for line in text.splitlines()]
    return [line for line in lines if line and not line.startswith("Accéder au document :")]


@pytest.mark.parametrize("name", sorted(DEFAULT_TEMPLATES))
@pytest.mark.parametrize("signature_requested", [False, True])
@pytest.mark.parametrize("pdf_attached", [False, True])
def test_the_html_part_says_what_the_text_part_says(name, signature_requested, pdf_attached):
    rendered = TemplateRenderer().render(name, {**SAMPLE, "signature_requested": signature_requested,
                                                "pdf_attached": pdf_attached})
    shown = visible_text(rendered.html)
    missing = [line for line in sentences(rendered.text) if " ".join(line.split()) not in shown]
    assert missing == [], f"{name}: in the text part only: {missing}"


def test_the_signature_request_says_the_same_in_both_parts():
    rendered = TemplateRenderer().render("quote_signature_request", SAMPLE)
    sentence = ("Demande de signature électronique : une signature électronique vous est demandée. Le lien "
                "ci-dessous vous permet de consulter le devis, de le télécharger et de le signer en ligne en "
                "quelques instants.")
    assert sentence in rendered.text and sentence in visible_text(rendered.html)
    assert visible_text(rendered.html).count("Demande de signature électronique") == 1


@pytest.mark.parametrize("template", ["quote_send", "quote_signature_request", "quote_relance"])
def test_an_edited_body_with_a_signature_request_says_so_in_both_parts(template):
    rendered = TemplateRenderer().render(template, {**SAMPLE, "signature_requested": True},
                                         body="Bonjour,\n\nVoici le devis.")
    sentence = "Demande de signature électronique : ce lien vous permet de consulter le devis, de le télécharger"
    assert sentence in rendered.text and sentence in visible_text(rendered.html)


@pytest.mark.parametrize("signature_requested", [False, True])
@pytest.mark.parametrize("kind", ["send", "relance"])
def test_ci_joint_only_when_the_pdf_is_attached(app, quote_sent, signature_requested, kind):
    pdf = app.blobs.put(b"%PDF-1.7\n%%EOF\n")
    app.handle_event(quote_sent(attach_pdf=False, kind=kind, signature_requested=signature_requested))
    app.handle_event(quote_sent(attach_pdf=True, pdf_sha256=pdf, kind=kind,
                                signature_requested=signature_requested))
    app.dispatch_due()
    for mail in read_maildir(app.cfg.mail_sink_dir):
        text = mail.get_body(("plain",)).get_content()
        html = visible_text(mail.get_body(("html",)).get_content())
        attached = bool(list(mail.iter_attachments()))
        for part in (text, html):
            assert ("ci-joint" in part or "en pièce jointe" in part) is attached, part
            assert "Veuillez trouver notre devis" not in part
        if kind == "send":
            opening = "Veuillez trouver ci-joint notre devis" if attached else \
                "Nous avons le plaisir de vous transmettre notre devis"
            assert f"{opening} DV-2026-0042 « Maintenance annuelle »" in text


def test_the_one_time_code_email_is_signed_like_the_other_client_emails(app, quote_sent, signature_event):
    sent = quote_sent()
    app.handle_event(sent)
    app.handle_event(signature_event("code_requested", sent.payload().quote_id, code="482913"))
    app.dispatch_due()
    [mail] = [m for m in read_maildir(app.cfg.mail_sink_dir) if "code" in m["Subject"]]
    text, html = mail.get_body(("plain",)).get_content(), mail.get_body(("html",)).get_content()
    assert "482913" in text and "Cordialement,\nJérôme Œuvre\nAcme & Fils\n" in text
    assert "<p>Cordialement,<br>Jérôme Œuvre<br>Acme &amp; Fils</p>" in html
