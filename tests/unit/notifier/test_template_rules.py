"""Every template with hostile data, and the checks a tenant's version must pass before it is saved."""
import re

import pytest

from quoteflow.errors import InvalidArgument
from services.notifier.adapters.templates import DEFAULT_TEMPLATES, SAMPLE, VARIABLES, TemplateRenderer, default_content
from services.notifier.domain.model import TEMPLATE_SPECS, TemplateContent
from services.notifier.handlers import preview_email

HOSTILE = "Zoé <script>alert(1)</script> \"'&{{ 7*7 }}{% if 1 %}x{% endif %}\r\nBcc: evil@x.example"
LINK = "https://devis.example/d/Abc_123"


def hostile_values() -> dict:
    values = {name: HOSTILE for name in VARIABLES}
    values.update(link_url=LINK, signature_requested=True, pdf_attached=True,
                  views=[{key: HOSTILE for key in ("viewer_name", "viewer_email", "date", "time", "ip", "browser",
                                                   "user_agent")}] * 2,
                  attachments=[{"name": HOSTILE, "description": HOSTILE}])
    return values


@pytest.mark.parametrize("name", sorted(DEFAULT_TEMPLATES))
def test_every_template_escapes_hostile_data_and_never_evaluates_it(name):
    rendered = TemplateRenderer().render(name, hostile_values())
    assert "<script>" not in rendered.html and "&lt;script&gt;alert(1)&lt;/script&gt;" in rendered.html
    assert "&#34;&#39;&amp;" in rendered.html  # quotes and ampersand escaped too
    assert "{{ 7*7 }}" in rendered.text and "49" not in rendered.text + rendered.html + rendered.sms
    assert "\r" not in rendered.subject and "\n" not in rendered.subject
    assert "\n" not in rendered.sms
    if TEMPLATE_SPECS[name].has_sms:
        assert "{{ 7*7 }}" in rendered.sms


@pytest.mark.parametrize("name", sorted(DEFAULT_TEMPLATES))
def test_every_default_passes_the_checks_a_saved_version_must_pass(name):
    renderer = TemplateRenderer()
    assert renderer.validate(TEMPLATE_SPECS[name], default_content(name)) == {}
    assert set(TEMPLATE_SPECS[name].variables) <= set(VARIABLES) <= set(SAMPLE)


def test_the_defaults_are_the_nine_of_the_issue_plus_the_digest():
    assert set(DEFAULT_TEMPLATES) == {
        "quote_send", "quote_relance", "quote_signature_request", "signature_code", "quote_viewed",
        "quote_viewed_digest", "quote_downloaded", "quote_downloaded_digest", "signature_confirmation",
        "signed_copy", "signature_declined"}
    renderer = TemplateRenderer()
    send, signing = renderer.render("quote_send", SAMPLE), renderer.render("quote_signature_request", SAMPLE)
    assert signing.subject.startswith("Demande de signature électronique") and "signer en ligne" in signing.text
    code = renderer.render("signature_code", SAMPLE)
    assert "482913" in code.text and "482913" in code.html and "482913" in code.sms
    assert "482913" not in code.subject  # the code never goes into a header (nor the delivery log)
    declined = renderer.render("signature_declined", {**SAMPLE, "reason": "Trop cher.\nDésolé"})
    assert "Trop cher.\nDésolé" in declined.text and "Trop cher.<br>Désolé" in declined.html
    assert send.subject != renderer.render("quote_relance", SAMPLE).subject


def content(name: str, **parts) -> TemplateContent:
    base = default_content(name)
    return TemplateContent(**{**base.__dict__, **parts})


@pytest.mark.parametrize("name", ["quote_send", "quote_relance", "quote_signature_request"])
def test_a_send_template_without_the_link_is_refused_naming_the_part_and_why(name):
    renderer = TemplateRenderer()
    spec = TEMPLATE_SPECS[name]
    text = DEFAULT_TEMPLATES[name]["text"].replace("Accéder au document : {{ link_url }}", "À bientôt")
    problems = renderer.validate(spec, content(name, text=text))
    assert set(problems) == {"text"} and "Accéder au document" in problems["text"]
    assert "{{ link_url }}" in problems["text"] and "ne peut plus ouvrir le devis" in problems["text"]
    html = "<p>Bonjour {{ recipient_name }}</p>"
    assert set(renderer.validate(spec, content(name, text=text, html=html))) == {"text", "html"}
    # Hidden behind a condition, or as text instead of a link: still refused.
    hidden = "{% if quote_number == 'jamais' %}{{ link_url }}{% endif %}"
    assert "text" in renderer.validate(spec, content(name, text=hidden))
    assert "html" in renderer.validate(spec, content(name, html="<p>{{ link_url }}</p>"))
    # The link kept (in the HTML, as an href) is fine, with or without the layout.
    assert renderer.validate(spec, content(name, text="Voir : {{ link_url }}",
                                           html='<a href="{{ link_url }}">Accéder au document</a>')) == {}


def test_the_code_template_must_keep_the_code_in_every_part():
    renderer = TemplateRenderer()
    problems = renderer.validate(TEMPLATE_SPECS["signature_code"],
                                 content("signature_code", sms="Votre code arrive bientôt"))
    assert set(problems) == {"sms"} and "{{ code }}" in problems["sms"]


def test_syntax_errors_and_unknown_variables_are_refused_with_their_line():
    renderer = TemplateRenderer()
    spec = TEMPLATE_SPECS["quote_send"]
    broken = "Bonjour,\n\n{% if recipient_name %}\n{{ link_url }}\n"
    problems = renderer.validate(spec, content("quote_send", text=broken))
    assert problems["text"].startswith("ligne 4 : erreur de syntaxe") or problems["text"].startswith("ligne 5")
    unknown = "Bonjour {{ recipient_name }},\n{{ link_url }}\nTotal : {{ prix_total }}\n"
    problems = renderer.validate(spec, content("quote_send", text=unknown))
    assert problems == {"text": problems["text"]}
    assert problems["text"].startswith("ligne 3 : variable inconnue « prix_total »")
    assert "quote_total_ttc" in problems["text"]  # it says what may be used
    # A variable of another template is unknown here.
    problems = renderer.validate(spec, content("quote_send", subject="Devis {{ code }}"))
    assert problems["subject"].startswith("ligne 1 : variable inconnue « code »")
    # Loop variables and Jinja's own helpers are not unknown.
    loop = "{% for i in range(2) %}{{ loop.index }}{% endfor %} {{ link_url }}"
    assert renderer.validate(spec, content("quote_send", text=loop)) == {}


def test_required_parts_sms_only_where_sent_by_sms_and_only_the_layouts_may_be_extended():
    renderer = TemplateRenderer()
    assert renderer.validate(TEMPLATE_SPECS["quote_send"], content("quote_send", subject=" "))["subject"] \
        == "est obligatoire"
    assert "SMS" in renderer.validate(TEMPLATE_SPECS["quote_send"], content("quote_send", sms="x"))["sms"]
    assert renderer.validate(TEMPLATE_SPECS["quote_viewed"], content("quote_viewed", sms=""))["sms"] \
        == "est obligatoire"
    sneaky = '{% extends "custom/html" %}'
    problem = renderer.validate(TEMPLATE_SPECS["quote_send"], content("quote_send", html=sneaky))["html"]
    assert problem.startswith("ligne 1 :") and "layout/document.html" in problem


@pytest.mark.parametrize("source", [
    "{{ ''.__class__.__mro__[1].__subclasses__() }} {{ link_url }}",
    "{{ cycler.__init__.__globals__ }} {{ link_url }}",
    "{% set x = [] %}{{ x.append(1) }} {{ link_url }}",
])
def test_a_template_escaping_the_sandbox_is_refused_at_save(source):
    problems = TemplateRenderer().validate(TEMPLATE_SPECS["quote_send"], content("quote_send", text=source))
    assert re.match(r"ne peut pas être rendu : .*(unsafe|not safely|access to attribute)", problems["text"])


@pytest.mark.parametrize("subject", [
    "Devis {{ quote_number }}\n– {{ company_name }}",
    "Devis {{ quote_number }}\r\nBcc: evil@x.example",
    "Devis {{ quote_number }}\u2028suite",
    "Devis {{ quote_number }}\x0bsuite",
])
def test_a_subject_on_two_lines_is_refused_at_save_not_folded_at_send(app, tenant, subject):
    # The saved subject went out folded into one line: the author never saw what the client would read.
    with pytest.raises(InvalidArgument) as caught:
        app.save_template(tenant, "quote_send", content("quote_send", subject=subject))
    assert list(caught.value.violations) == ["subject"]
    assert caught.value.violations["subject"].startswith("doit tenir sur une seule ligne")
    assert app.get_template(tenant, "quote_send").version == 0  # nothing saved


def test_a_subject_whose_rendering_breaks_the_line_is_refused_naming_when():
    renderer = TemplateRenderer()
    spec = TEMPLATE_SPECS["quote_send"]
    literal = "Devis {{ quote_number }}{% if signature_requested %}{{ '\\n' }}à signer{% endif %}"
    problem = renderer.validate(spec, content("quote_send", subject=literal))["subject"]
    assert problem.startswith("doit tenir sur une seule ligne") and "signature_requested est vrai" in problem
    # Line breaks elsewhere are the text's business; a subject on one line is fine.
    assert renderer.validate(spec, content("quote_send", subject="Devis {{ quote_number }} – à signer")) == {}


@pytest.mark.parametrize("subject", ["Votre devis\nBcc: evil@x.example", "Votre devis\u2029", "\rVotre devis"])
def test_an_edited_subject_with_a_line_break_is_refused_in_the_preview_as_sendquote_refuses_it(app, tenant,
                                                                                             subject):
    with pytest.raises(InvalidArgument) as caught:
        preview_email(tenant, "quote_send", {"quote_number": "DV-9"}, app.uow(), app.renderer, subject=subject)
    assert caught.value.violations == {"subject": "must be a single line"}
    with pytest.raises(InvalidArgument):  # the same when it comes among the variables
        preview_email(tenant, "quote_send", {"quote_number": "DV-9", "subject": subject}, app.uow(), app.renderer)
