"""quote.assignee_changed reaches the portal's read model: the page's « Votre interlocuteur » and « Envoyer un
retour » name the new salesperson, and the view and download events carry them to the notifier."""
from __future__ import annotations

import re
from urllib.parse import unquote

import pytest

from quoteflow.envelope import Envelope, rfc3339, utcnow
from quoteflow.errors import NotFound
from quoteflow.v1 import common_pb2, events_pb2

BEATRICE = common_pb2.Party(id="u-2", name="Béatrice Roux", email="beatrice@dupre.example")  # no phone


def changed(world, quote_id: str, assignee: common_pb2.Party = BEATRICE) -> Envelope:
    event = events_pb2.QuoteAssigneeChanged(quote_id=quote_id, number="DV", previous_assignee_id="u-1",
                                            changed_at=rfc3339(utcnow()))
    event.assignee.CopyFrom(assignee)
    return Envelope.wrap(event, source="quoteflow/quotes", subject=f"quote/{quote_id}", tenant=world.tenant)


def salesperson(world, token: str) -> tuple[str, str, str]:
    """(page text, « Envoyer un retour » mailto, tel: link) of a link's page, whatever its state."""
    html = world.get(f"/d/{token}").get_data(as_text=True)
    text = world.text(html)
    mailto = re.search(r'href="(mailto:[^"]+)"', html).group(1)  # « Envoyer un retour », « Écrire à … »
    tel = re.search(r'href="(tel:[^"]+)"', html)
    return text, unquote(mailto), tel.group(1) if tel else ""


def test_the_page_and_the_feedback_mail_name_the_new_assignee_without_the_previous_ones_phone(world):
    v1 = world.send()
    v2 = world.send(quote_id=v1["quote_id"], number=v1["number"], version=2, recipient="paul@example.fr")
    world.consume(changed(world, v1["quote_id"]))
    text, mailto, tel = salesperson(world, v2["token"])
    assert "Votre interlocuteur Béatrice Roux beatrice@dupre.example" in text and "Hélène Martin" not in text
    assert re.search(r'href="mailto:beatrice@dupre.example\?subject=[^"]+"[^>]*>Envoyer un retour',
                     world.page(v2["token"]))
    assert mailto.startswith("mailto:beatrice@dupre.example?subject=")
    assert tel == "" and "+33 6 00 00 00 01" not in text
    assert world.get(f"/d/{v1['token']}").status_code == 410  # revoked by v2: its page still says whom to ask
    text, mailto, tel = salesperson(world, v1["token"])
    assert "Béatrice Roux" in text and "Hélène Martin" not in text and tel == ""
    assert mailto.startswith("mailto:beatrice@dupre.example?subject=")


def test_views_and_downloads_tell_the_notifier_the_new_assignee(world):
    sent = world.send()
    world.consume(changed(world, sent["quote_id"], common_pb2.Party(
        id="u-2", name="Béatrice Roux", email="beatrice@dupre.example", phone="+33698765432")))
    html = world.page(sent["token"])
    assert world.confirm_view(html).status_code in (200, 204)
    pdf = re.search(r'href="(/d/[^"]+/pdf\?vue=[^"]+)"', html).group(1).replace("&amp;", "&")
    assert world.get(pdf).status_code == 200
    viewed, downloaded = world.outbox("portal.quote_viewed"), world.outbox("portal.quote_downloaded")
    assert [e["data"]["assignee"] for e in viewed + downloaded] == [
        {"id": "u-2", "name": "Béatrice Roux", "email": "beatrice@dupre.example", "phone": "+33698765432"}] * 2
    assert 'href="tel:+33698765432"' in html


def test_a_change_before_its_quote_sent_is_retried_and_a_redelivery_changes_nothing(world):
    quote_id = "q-later"
    change = changed(world, quote_id)
    with pytest.raises(NotFound):
        world.consume(change)  # the consumer retries it: the inbox did not keep it
    sent = world.send(quote_id=quote_id)
    world.consume(change)
    world.consume(change)
    text, mailto, _ = salesperson(world, sent["token"])
    assert "Béatrice Roux" in text and mailto.startswith("mailto:beatrice@dupre.example")
