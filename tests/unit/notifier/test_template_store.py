"""A tenant's templates: versions, revert by saving an old one, custom send templates, the preview."""
import pytest

from quoteflow.errors import Conflict, InvalidArgument, NotFound
from services.notifier.adapters.templates import default_content
from services.notifier.domain.model import TemplateContent

GOOD = TemplateContent(subject="Devis {{ quote_number }}", text="Bonjour\n{{ link_url }}",
                       html='<a href="{{ link_url }}">Accéder au document</a>')


def test_every_save_is_a_new_version_and_an_old_one_can_be_saved_back(app, tenant):
    assert app.get_template(tenant, "quote_relance").version == 0  # the built-in default
    first = app.save_template(tenant, "quote_relance", GOOD, saved_by="Jérôme")
    second = app.save_template(tenant, "quote_relance", TemplateContent(**{**GOOD.__dict__, "subject": "Relance"}))
    assert (first.version, second.version) == (1, 2) and first.saved_by == "Jérôme"
    assert app.get_template(tenant, "quote_relance").content.subject == "Relance"
    assert [v.version for v in app.list_template_versions(tenant, "quote_relance")] == [2, 1]
    old = app.get_template(tenant, "quote_relance", 1)
    reverted = app.save_template(tenant, "quote_relance", old.content, expected_version=2)
    assert reverted.version == 3 and app.get_template(tenant, "quote_relance").content == GOOD
    # Back to the default: save the default's content.
    default = app.get_template("another-tenant", "quote_relance")
    assert default.version == 0 and not default.customized
    assert app.save_template(tenant, "quote_relance", default.content).content == default_content("quote_relance")
    with pytest.raises(NotFound):
        app.get_template(tenant, "quote_relance", 99)


def test_a_stale_expected_version_is_a_conflict(app, tenant):
    app.save_template(tenant, "quote_send", GOOD)
    with pytest.raises(Conflict):
        app.save_template(tenant, "quote_send", GOOD, expected_version=7)


def test_refusals_name_the_field(app, tenant):
    broken = TemplateContent(**{**GOOD.__dict__, "text": "Bonjour, sans lien"})
    with pytest.raises(InvalidArgument) as caught:
        app.save_template(tenant, "quote_send", broken)
    assert list(caught.value.violations) == ["text"] and "Accéder au document" in caught.value.violations["text"]
    with pytest.raises(InvalidArgument) as caught:
        app.save_template(tenant, "Mauvais Nom!", GOOD, base="quote_send")
    assert "name" in caught.value.violations
    with pytest.raises(InvalidArgument) as caught:
        app.save_template(tenant, "relance-douce", GOOD, base="quote_viewed")
    assert "base" in caught.value.violations
    assert app.list_template_versions(tenant, "quote_send") == []  # nothing was saved


def test_custom_send_templates_are_listed_with_the_built_ins(app, tenant):
    app.save_template(tenant, "relance-douce", GOOD, base="quote_relance", saved_by="Chloé")
    listed = {view.name: view for view in app.list_templates(tenant)}
    assert len(listed) == 12 and listed["relance-douce"].base == "quote_relance"
    assert listed["relance-douce"].title == "Relance du devis : relance-douce" and listed["relance-douce"].customized
    assert listed["quote_send"].version == 0 and listed["signature_code"].spec.has_sms
    link = next(v for v in listed["quote_send"].variables() if v[0] == "link_url")
    assert link[2] is True  # required
    with pytest.raises(NotFound):
        app.get_template(tenant, "jamais-enregistre")


def test_preview_renders_with_the_quotes_last_sent_data_and_free_variables(app, tenant, quote_sent):
    envelope = quote_sent()
    event = envelope.payload()
    app.handle_event(envelope)
    preview = app.preview_email(tenant, "quote_relance", {"recipient_name": "Paul"}, quote_id=event.quote_id)
    assert preview.quote_known and preview.version == 0
    assert preview.rendered.subject == "Relance : votre devis DV-2026-0042 – Acme & Fils"
    assert preview.rendered.text.startswith("Bonjour Paul,") and event.link_url not in preview.rendered.text
    assert "Accéder au document : [lien personnel créé à l'envoi]" in preview.rendered.text  # each send makes one
    assert "quote_number" not in preview.missing
    unknown = app.preview_email(tenant, "quote_send", {}, quote_id="q-never-sent")
    assert not unknown.quote_known and "quote_number" in unknown.missing and "link_url" not in unknown.missing
    assert "Accéder au document : [lien personnel créé à l'envoi]" in unknown.rendered.text
    sampled = app.preview_email(tenant, "quote_viewed", {}, fill_samples=True)
    assert sampled.rendered.subject == "Devis DV-2026-0042 consulté par Zoé Lefèvre"
    assert sampled.rendered.sms.startswith("Le devis DV-2026-0042 a été consulté")


def test_preview_of_a_draft_and_of_an_edited_email(app, tenant, quote_sent):
    envelope = quote_sent()
    app.handle_event(envelope)
    quote_id = envelope.payload().quote_id
    draft = TemplateContent(subject="Brouillon {{ quote_number }}", text="{{ link_url }}",
                            html='<a href="{{ link_url }}">x</a>')
    preview = app.preview_email(tenant, "quote_send", {}, quote_id=quote_id, draft=draft)
    assert preview.rendered.subject == "Brouillon DV-2026-0042"
    edited = app.preview_email(tenant, "quote_send", {}, quote_id=quote_id, subject="Mon objet",
                               body="Bonjour <Zoé>")
    assert edited.rendered.subject == "Mon objet" and "Bonjour &lt;Zoé&gt;" in edited.rendered.html
    assert "Accéder au document" in edited.rendered.html
    with pytest.raises(InvalidArgument) as caught:
        app.preview_email(tenant, "quote_send", {}, draft=TemplateContent(subject="x", text="{% if %}", html="y"))
    assert caught.value.violations["text"].startswith("ligne 1 : erreur de syntaxe")
