"""A real signature, through the four services: the assignee's confirmation carries the proofs the signature
service wrote (one blob store in every deployment), the client's emails come from the company."""
from __future__ import annotations

import json
import re
import urllib.parse

import pytest

from quoteflow import client
from quoteflow.v1 import common_pb2, quotes_pb2
from tests.e2e.test_walking_skeleton import eventually, http, mail_to, text_of

pytestmark = pytest.mark.e2e


def test_the_signature_confirmation_carries_the_signed_pdf_and_the_proof_file(suite):
    crm = client.quotes(suite.quotes_target, suite.api_keys[suite.tenant])
    crm.UpdateSettings(quotes_pb2.Settings(esignature_enabled=True, default_validity_days=30,
                                           company=common_pb2.Company(name="Menuiserie Dupont & Fils")))
    crm.UpsertAccount(quotes_pb2.Account(id="acc-m", name="SCI Les Tilleuls"))
    crm.UpsertContact(quotes_pb2.Contact(id="ct-m", account_id="acc-m", name="Hélène Gaëtan-Müller",
                                         email="helene@menuiserie.example.fr"))
    crm.UpsertUser(quotes_pb2.User(id="u-m", name="Jérôme Lefèvre", email="jerome@dupont.example.fr"))
    quote = crm.CreateQuote(quotes_pb2.CreateQuoteRequest(
        account_id="acc-m", contact_id="ct-m", assignee_id="u-m", title="Fenêtres PVC",
        lines=[common_pb2.QuoteLine(description="Fenêtre", quantity="2", unit_price="500.00", vat_rate="20")]))
    sent = crm.SendQuote(quotes_pb2.SendQuoteRequest(quote_id=quote.id, request_signature=True))

    invitation = eventually(mail_to(suite, "helene@menuiserie.example.fr", quote.number), what="the send email")
    assert invitation["From"].addresses[0].display_name == "Menuiserie Dupont & Fils"
    assert invitation["Reply-To"].addresses[0].addr_spec == "jerome@dupont.example.fr"
    assert "ci-joint" not in text_of(invitation)

    _, _, page = eventually(lambda: (lambda r: r if r[0] == 200 else None)(http(sent.link_url)),
                            what="the portal page")
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.decode()).group(1)
    form = urllib.parse.urlencode({"csrf_token": csrf, "consent": "on",
                                   "signer_name": "Hélène Gaëtan-Müller"}).encode()
    status, _, answer = http(sent.link_url + "/sign", data=form,
                             headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert status in (200, 303), answer[:500]

    confirmation = eventually(mail_to(suite, "jerome@dupont.example.fr", "Accepté"), timeout=60,
                              what="the signature confirmation")
    files = {part.get_filename(): part.get_content() for part in confirmation.iter_attachments()}
    stem = re.sub(r"[^A-Za-z0-9_-]", "", quote.number)
    assert set(files) == {f"Devis-{stem}-signe.pdf", f"Preuves-{stem}.pdf", f"Preuves-{stem}.json"}
    assert files[f"Devis-{stem}-signe.pdf"].startswith(b"%PDF") and files[f"Preuves-{stem}.pdf"].startswith(b"%PDF")
    assert json.loads(files[f"Preuves-{stem}.json"])["evidence"]
    text = text_of(confirmation)
    assert "Les preuves de la signature sont jointes à cet email" in text and "Attention" not in text
    copy = eventually(mail_to(suite, "helene@menuiserie.example.fr", "signé"), what="the signed copy")
    assert copy["From"].addresses[0].display_name == "Menuiserie Dupont & Fils"
    assert files[f"Devis-{stem}-signe.pdf"] == next(copy.iter_attachments()).get_content()
