"""« Accéder au document » in every send: a template whose link hangs on a condition, hides in a comment or a
hidden element, or has no text to click is refused at save; one saved before these checks gets the standard link
added at send time (and a warning in the log)."""
import logging

import pytest
from sqlalchemy import insert

from services.notifier.adapters import orm
from services.notifier.adapters.mail import read_maildir
from services.notifier.adapters.templates import TemplateRenderer, shows_link
from services.notifier.domain.model import TEMPLATE_SPECS, TemplateContent

SPEC = TEMPLATE_SPECS["quote_send"]
TEXT = "Bonjour,\nAccéder au document : {{ link_url }}\n"
HTML = '<p>Bonjour</p><a href="{{ link_url }}">Accéder au document</a>'


def problems(text=TEXT, html=HTML, spec=SPEC):
    return TemplateRenderer().validate(spec, TemplateContent(subject="Devis {{ quote_number }}", text=text,
                                                             html=html))


@pytest.mark.parametrize("condition", [
    "assignee_phone", "quote_title", "not signature_requested", "pdf_attached", "quote_title and not assignee_phone",
    "account_name != ''",
])
def test_a_link_that_depends_on_the_quotes_data_is_refused_in_either_part(condition):
    hidden_text = f"Bonjour,\n{{% if {condition} %}}Accéder au document : {{{{ link_url }}}}{{% endif %}}\n"
    hidden_html = f'<p>Bonjour</p>{{% if {condition} %}}<a href="{{{{ link_url }}}}">Accéder</a>{{% endif %}}'
    found = problems(text=hidden_text)
    assert set(found) == {"text"} and "Accéder au document" in found["text"]
    assert set(problems(html=hidden_html)) == {"html"}


def test_the_problem_says_when_the_link_disappears():
    found = problems(text="{% if assignee_phone %}{{ link_url }}{% endif %}")["text"]
    assert found.endswith("il disparaît quand les variables facultatives sont vides, signature_requested est faux et "
                          "pdf_attached est faux")
    found = problems(text="{% if not signature_requested %}{{ link_url }}{% endif %}")["text"]
    assert found.endswith("il disparaît quand signature_requested est vrai et pdf_attached est faux")


@pytest.mark.parametrize("html", [
    '<p>Bonjour</p><!-- <a href="{{ link_url }}">Accéder au document</a> -->',
    '<!--[if mso]><a href="{{ link_url }}">Accéder au document</a><![endif]-->',
    '<div style="display: none"><a href="{{ link_url }}">Accéder au document</a></div>',
    '<div style="max-height:0;overflow:hidden"><a href="{{ link_url }}">Accéder au document</a></div>',
    '<p hidden><a href="{{ link_url }}">Accéder au document</a></p>',
    '<span style="font-size:0"><a href="{{ link_url }}">Accéder au document</a></span>',
    '<a href="{{ link_url }}" style="visibility:hidden">Accéder au document</a>',
    '<a href="{{ link_url }}"></a>',
    '<a href="{{ link_url }}"><span style="display:none">Accéder au document</span></a>',
    '<head><title><a href="{{ link_url }}">Accéder au document</a></title></head>',
    '<a href="{{ link_url }}?suivi=1">Accéder au document</a>',
])
def test_a_link_no_reader_can_see_or_click_does_not_count(html):
    found = problems(html=html)
    assert set(found) == {"html"} and "ne compte pas" in found["html"]


@pytest.mark.parametrize("html", [
    HTML,
    '<div style="display:none">Aperçu</div><p><a href="{{ link_url }}">Accéder au document</a>',
    '<a href="{{ link_url }}"><img src="https://cdn.example/bouton.png" alt="Accéder au document"></a>',
    '<p style="opacity:0.9;line-height:0"><a href="{{ link_url|safe_url }}">{{ link_url }}</a></p>',
    '{% extends "layout/document.html" %}{% block content %}<p>Bonjour</p>{% endblock %}',
])
def test_a_link_a_reader_sees_is_fine(html):
    assert problems(html=html) == {}


def test_a_template_failing_on_its_own_expressions_is_refused_not_an_error():
    assert problems(text="{{ quote_number + 1 }} {{ link_url }}")["text"].startswith("ne peut pas être rendu : ")
    assert problems(text="{{ 1 / (quote_title|length) }} {{ link_url }}")["text"].startswith(
        "ne peut pas être rendu quand les variables facultatives sont vides")


def test_the_one_time_code_is_checked_with_empty_data_too():
    spec = TEMPLATE_SPECS["signature_code"]
    content = TemplateContent(subject="Code", text="{% if recipient_name %}{{ code }}{% endif %}",
                              html="<p>{{ code }}</p>", sms="{{ code }}")
    assert set(TemplateRenderer().validate(spec, content)) == {"text"}


def saved_before_the_checks(app, tenant, text, html):
    """A tenant's version saved when the checks let it through (written as the repository does)."""
    with app.engine.begin() as conn:
        conn.execute(insert(orm.templates).values(
            tenant=tenant, name="quote_send", version=1, base="quote_send", subject="Devis {{ quote_number }}",
            text=text, html=html, sms="", saved_at=app.clock.now(), saved_by="avant"))


def test_a_template_saved_before_the_checks_still_sends_the_link(app, tenant, quote_sent, party, caplog):
    saved_before_the_checks(app, tenant, "Bonjour,\n{% if assignee_phone %}{{ link_url }}{% endif %}\n",
                            '<p>Bonjour</p><!-- <a href="{{ link_url }}">Accéder</a> -->')
    envelope = quote_sent(assignee=party("Jérôme", "jerome@vendeur.example"))  # no mobile
    link = envelope.payload().link_url
    with caplog.at_level(logging.WARNING, logger="services.notifier.handlers"):
        app.handle_event(envelope)
    app.dispatch_due()
    [mail] = read_maildir(app.cfg.mail_sink_dir)
    text, html = mail.get_body(("plain",)).get_content(), mail.get_body(("html",)).get_content()
    assert text.startswith("Bonjour,") and text.rstrip().endswith(f"Accéder au document : {link}")
    assert html.startswith("<p>Bonjour</p><!--") and shows_link(html, link) and ">Accéder au document</a>" in html
    [warning] = [r for r in caplog.records if "standard link was added" in r.getMessage()]
    assert "text and html" in warning.getMessage() and envelope.id in warning.getMessage()
    assert link not in caplog.text


def test_the_link_is_added_where_no_element_of_the_template_hides_it(app, tenant, quote_sent):
    saved_before_the_checks(app, tenant, "{{ link_url }}",
                            '<html><body><div style="display:none"><p>Bonjour</body></html>')
    envelope = quote_sent()
    app.handle_event(envelope)
    app.dispatch_due()
    [mail] = read_maildir(app.cfg.mail_sink_dir)
    assert shows_link(mail.get_body(("html",)).get_content(), envelope.payload().link_url)


def test_a_template_that_shows_the_link_is_sent_as_it_is(app, tenant, quote_sent, caplog):
    app.save_template(tenant, "quote_send", TemplateContent(subject="Devis {{ quote_number }}", text=TEXT, html=HTML))
    envelope = quote_sent()
    with caplog.at_level(logging.WARNING):
        app.handle_event(envelope)
    app.dispatch_due()
    [mail] = read_maildir(app.cfg.mail_sink_dir)
    assert mail.get_body(("html",)).get_content().strip() == HTML.replace(
        "{{ link_url }}", envelope.payload().link_url)
    assert "standard link" not in caplog.text
