import re

import pytest

from quoteflow.errors import InvalidArgument, NotFound
from services.notifier.adapters.mail import compose_email, parse
from services.notifier.adapters.templates import (
    DEFAULT_TEMPLATES,
    VARIABLES,
    TemplateProblem,
    TemplateRenderer,
    money,
)
from services.notifier.handlers import preview_email

LINK = "http://127.0.0.1:8080/d/Abc_123-xyz"
HOSTILE = "Zoé <script>alert(1)</script> {{ 7*7 }}"


def variables(**extra):
    base = dict(quote_number="DV-2026-0042", quote_title="Maintenance", quote_total_ttc=money("1234.56"),
                quote_valid_until="31 mars 2026", company_name="Acme & Fils", recipient_name="Zoé Lefèvre",
                assignee_name="Jérôme Œuvre", link_url=LINK, signature_requested=False,
                viewer_email="zoe@client.example", ip="203.0.113.7", user_agent="Firefox", date="3 avril 2026",
                time="14:05", signer_name="Zoé Lefèvre", amount="1 234,56 €")
    base.update(extra)
    return base


def test_every_default_template_renders_three_parts_in_french():
    renderer = TemplateRenderer()
    assert set(renderer.names()) >= {"quote_send", "quote_relance", "quote_viewed", "quote_downloaded",
                                     "signature_confirmation"}
    for name in DEFAULT_TEMPLATES:
        rendered = renderer.render(name, variables())
        assert rendered.subject and "\n" not in rendered.subject
        assert "DV-2026-0042" in rendered.text and "DV-2026-0042" in rendered.html
        assert rendered.html.lstrip().startswith("<!DOCTYPE html>")
    assert "link_url" in VARIABLES and "signature_requested" in VARIABLES


@pytest.mark.parametrize("name", ["quote_send", "quote_relance"])
def test_send_and_relance_carry_the_access_link(name):
    rendered = TemplateRenderer().render(name, variables())
    assert f"Accéder au document : {LINK}" in rendered.text
    assert re.search(rf'<a href="{re.escape(LINK)}"[^>]*>Accéder au document</a>', rendered.html)


def test_relance_is_worded_differently_from_the_first_send():
    renderer = TemplateRenderer()
    send, relance = renderer.render("quote_send", variables()), renderer.render("quote_relance", variables())
    assert send.subject != relance.subject and relance.subject.startswith("Relance")
    assert "Nous revenons vers vous" in relance.text and "Nous revenons vers vous" not in send.text


@pytest.mark.parametrize("name", ["quote_send", "quote_relance"])
def test_signature_request_wording(name):
    rendered = TemplateRenderer().render(name, variables(signature_requested=True))
    assert "signature électronique" in rendered.subject.lower()
    assert "Demande de signature électronique" in rendered.text
    assert "signer en ligne" in rendered.text and "signer en ligne" in rendered.html
    plain = TemplateRenderer().render(name, variables())
    assert "signer" not in plain.text


def test_viewed_and_downloaded_notices_say_who_when_and_from_where():
    renderer = TemplateRenderer()
    viewed = renderer.render("quote_viewed", variables())
    downloaded = renderer.render("quote_downloaded", variables())
    assert ("Le devis DV-2026-0042 « Maintenance » a été consulté par zoe@client.example le 3 avril 2026 à 14:05"
            in viewed.text)
    assert "203.0.113.7" in viewed.text
    assert "a été téléchargé par zoe@client.example le 3 avril 2026 à 14:05" in downloaded.text


def test_signature_confirmation_names_signer_date_amount_and_accepted():
    rendered = TemplateRenderer().render("signature_confirmation", variables())
    assert "signé électroniquement par Zoé Lefèvre le 3 avril 2026 à 14:05" in rendered.text
    assert "1 234,56 €" in rendered.text and "« Accepté »" in rendered.text


def test_hostile_data_is_escaped_in_html_and_never_evaluated():
    rendered = TemplateRenderer().render("quote_send", variables(recipient_name=HOSTILE, quote_title=HOSTILE,
                                                                 company_name=HOSTILE))
    assert "<script>" not in rendered.html and "&lt;script&gt;alert(1)&lt;/script&gt;" in rendered.html
    assert "{{ 7*7 }}" in rendered.text and "49" not in rendered.text + rendered.html
    assert rendered.subject.endswith(HOSTILE)  # a header is plain text: kept as typed, never evaluated


def test_cr_lf_cannot_split_the_subject():
    renderer = TemplateRenderer()
    rendered = renderer.render("quote_send", variables(quote_number="DV-1\r\nBcc: evil@x.example"))
    assert "\r" not in rendered.subject and "\n" not in rendered.subject
    edited = renderer.render("quote_send", variables(), subject="Votre devis\r\nBcc: evil@x.example")
    assert edited.subject == "Votre devis Bcc: evil@x.example"


def test_a_javascript_link_never_reaches_the_href():
    rendered = TemplateRenderer().render("quote_send", variables(link_url="javascript:alert(1)"))
    assert 'href="javascript' not in rendered.html and 'href="#"' in rendered.html


def test_edited_body_is_plain_text_escaped_and_keeps_the_link():
    body = "Bonjour Zoé,\n\nVoici <b>le devis</b> {{ 7*7 }}.\nBien à vous"
    rendered = TemplateRenderer().render("quote_relance", variables(), subject="Mon objet", body=body)
    assert rendered.subject == "Mon objet"
    assert rendered.text.startswith("Bonjour Zoé,\n\nVoici <b>le devis</b> {{ 7*7 }}.")
    assert f"Accéder au document : {LINK}" in rendered.text
    assert "&lt;b&gt;le devis&lt;/b&gt; {{ 7*7 }}.<br>Bien à vous" in rendered.html
    assert "Accéder au document</a>" in rendered.html and LINK in rendered.html


def test_edited_body_that_already_has_the_link_does_not_repeat_it():
    rendered = TemplateRenderer().render("quote_send", variables(), body=f"Le devis : {LINK}")
    assert rendered.text.count(LINK) == 1


@pytest.mark.parametrize("source", [
    "{{ ''.__class__.__mro__ }}",
    "{{ ''.__class__.__mro__[1].__subclasses__() }}",
    "{{ cycler.__init__.__globals__ }}",
    "{% for c in [].__class__.__base__.__subclasses__() %}{{ c }}{% endfor %}",
])
def test_the_sandbox_blocks_python_internals(source):
    renderer = TemplateRenderer({"evil": {"subject": "x", "text": source, "html": source}})
    with pytest.raises(TemplateProblem, match="unsafe"):
        renderer.render("evil", variables())


def test_private_attributes_render_as_nothing():
    source = "[{{ self._TemplateReference__context }}]"
    rendered = TemplateRenderer({"evil": {"subject": "x", "text": source, "html": source}}).render("evil", {})
    assert rendered.text.strip() == "[]"


def test_preview_of_an_unknown_template_is_not_found_naming_it(app, tenant):
    with pytest.raises(NotFound, match="'nope'"):
        preview_email(tenant, "nope", {}, app.uow(), app.renderer)
    preview = preview_email(tenant, "quote_send",
                            {"quote_number": "DV-9", "link_url": LINK, "signature_requested": "true"},
                            app.uow(), app.renderer)
    assert "Demande de signature électronique" in preview.rendered.text and LINK in preview.rendered.html


def test_composed_email_headers_cannot_be_injected():
    message = parse(bytes(compose_email(
        mail_from="Quoteflow <devis@quoteflow.localhost>", to_name="Zoé\r\nBcc: evil@x.example",
        to_email="zoe@client.example", subject="Devis\nBcc: evil@x.example", text="t", html="<p>h</p>",
        reply_to=("Jérôme\r\nX-Evil: 1", "jerome@vendeur.example"))))
    assert message["Bcc"] is None and message["X-Evil"] is None
    assert message["Subject"] == "Devis Bcc: evil@x.example"
    assert message["To"].addresses[0].addr_spec == "zoe@client.example"
    assert message["Reply-To"].addresses[0].addr_spec == "jerome@vendeur.example"


def test_compose_refuses_an_address_with_line_breaks():
    with pytest.raises(ValueError):
        compose_email(mail_from="Quoteflow <devis@quoteflow.localhost>", to_name="Z",
                      to_email="zoe@client.example\r\nBcc: evil@x.example", subject="s", text="t", html="h")


def test_the_email_carries_the_characters_the_pdf_prints():
    """Right-to-left titles, names in any script the PDF prints and emoji reach the reader unchanged (UTF-8)."""
    title, name = "Devis — عرض سعر 🚚", "שרה כהן"
    rendered = TemplateRenderer().render("quote_send", variables(quote_title=title, recipient_name=name))
    message = compose_email(mail_from="devis@acme.example", to_name=name, to_email="sara@client.example",
                            subject=rendered.subject, text=rendered.text, html=rendered.html)
    read = parse(message.as_bytes())
    assert read["To"].addresses[0].display_name == name
    assert title in read.get_body(("plain",)).get_content() and title in read.get_body(("html",)).get_content()
