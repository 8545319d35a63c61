"""The production configuration, run: docker-compose.yml on PostgreSQL and RabbitMQ, reached only through
the ports it publishes on 127.0.0.1. A quote goes from the CRM's gRPC call to Accepté."""
from __future__ import annotations

import hashlib
import json
import re
import time
import urllib.parse
from email import policy
from email.parser import BytesParser

import pytest

from quoteflow import client
from quoteflow.v1 import common_pb2, quotes_pb2
from tests.e2e.test_walking_skeleton import eventually, http, text_of

pytestmark = pytest.mark.deploy


def mail_to(stack, address: str, subject_contains: str):
    """Finds a caught mail through the catcher's HTTP API (Mailpit's: /api/v1/messages, /message/ID/raw)."""
    def find():
        status, _, body = http(stack.mail_url + "/api/v1/messages")
        if status != 200:
            return None
        for summary in json.loads(body)["messages"]:
            if (any(to["Address"] == address for to in summary["To"])
                    and subject_contains in summary["Subject"]):
                _, _, raw = http(f"{stack.mail_url}/api/v1/message/{summary['ID']}/raw")
                return BytesParser(policy=policy.default).parsebytes(raw)
        return None
    return find


def test_a_quote_goes_from_the_crm_to_accepte_through_the_compose_stack(stack):
    started = time.monotonic()
    crm = client.quotes(stack.quotes_target, stack.api_key)
    crm.UpdateSettings(quotes_pb2.Settings(esignature_enabled=True, default_validity_days=30,
                                           company=common_pb2.Company(name="Charpente Roussel SAS")))
    crm.UpsertAccount(quotes_pb2.Account(id="acc-d", name="Gîte des Écureuils"))
    crm.UpsertContact(quotes_pb2.Contact(id="ct-d", account_id="acc-d", name="Amélie Roussel",
                                         email="amelie@gite.example.fr"))
    crm.UpsertUser(quotes_pb2.User(id="u-d", name="Bastien Leroy", email="bastien@charpente.example.fr"))
    quote = crm.CreateQuote(quotes_pb2.CreateQuoteRequest(
        account_id="acc-d", contact_id="ct-d", assignee_id="u-d", title="Charpente",
        lines=[common_pb2.QuoteLine(description="Poutre chêne", quantity="3", unit_price="410.00", vat_rate="20")]))
    sent = crm.SendQuote(quotes_pb2.SendQuoteRequest(quote_id=quote.id, request_signature=True))
    assert sent.link_url.startswith(stack.portal_url + "/d/")

    invitation = eventually(mail_to(stack, "amelie@gite.example.fr", quote.number), timeout=60,
                            what="the send email in the mail catcher")
    link = re.search(r"http://\S+/d/[A-Za-z0-9_-]+", text_of(invitation)).group(0)
    assert link == sent.link_url

    _, _, page = eventually(lambda: (lambda r: r if r[0] == 200 else None)(http(link)), timeout=60,
                            what="the portal page")
    assert quote.number in page.decode()
    status, headers, pdf = http(link + "/pdf")
    assert status == 200 and pdf.startswith(b"%PDF")
    assert hashlib.sha256(pdf).hexdigest() == sent.pdf_sha256
    # The download went through the portal's spool volume and RabbitMQ back to quotes.
    eventually(lambda: crm.GetQuote(quotes_pb2.GetQuoteRequest(quote_id=quote.id)).download_count == 1,
               timeout=60, what="the download counted by quotes")

    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.decode()).group(1)
    form = urllib.parse.urlencode({"csrf_token": csrf, "consent": "on", "signer_name": "Amélie Roussel"}).encode()
    status, _, answer = http(link + "/sign", data=form, headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert status in (200, 303), answer[:500]

    accepted = eventually(lambda: (lambda q: q if q.status == "Accepté" else None)(
        crm.GetQuote(quotes_pb2.GetQuoteRequest(quote_id=quote.id))), timeout=60, what="status Accepté")
    assert accepted.signature.signer_name == "Amélie Roussel"
    assert accepted.signature.document_sha256 == sent.pdf_sha256

    confirmation = eventually(mail_to(stack, "bastien@charpente.example.fr", "Accepté"), timeout=60,
                              what="the assignee's confirmation")
    stem = re.sub(r"[^A-Za-z0-9_-]", "", quote.number)
    signed = {part.get_filename(): part.get_content() for part in confirmation.iter_attachments()}
    assert signed[f"Devis-{stem}-signe.pdf"].startswith(b"%PDF")
    stack.timings["flow"] = round(time.monotonic() - started, 1)
    print(f"[deploy] flow: {stack.timings['flow']} s", flush=True)
