"""The walking skeleton, end to end: CRM -> quotes -> email -> portal -> views -> signature -> Accepté."""
from __future__ import annotations

import hashlib
import html as html_lib
import mailbox
import re
import time
import unicodedata
import urllib.error
import urllib.parse
import urllib.request
from email import policy
from email.parser import BytesParser

import grpc
import pytest

from quoteflow import client
from quoteflow.v1 import common_pb2, quotes_pb2

pytestmark = pytest.mark.e2e

CLIENT_UA = "Mozilla/5.0 (X11; Linux x86_64) QuoteflowE2E/1.0"


def eventually(check, timeout=30.0, interval=0.1, what="condition"):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = check()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}; last value: {last!r}")


def mails(suite):
    box = suite.var / "mail"
    if not box.exists():
        return []
    parser = BytesParser(policy=policy.default)
    return [parser.parsebytes(m.as_bytes()) for m in mailbox.Maildir(box, factory=None, create=False)]


def mail_to(suite, address, contains=""):
    def find():
        for message in mails(suite):
            if address in str(message["To"]) and contains in str(message["Subject"]):
                return message
        return None
    return find


def text_of(message) -> str:
    part = message.get_body(preferencelist=("plain",))
    return part.get_content() if part else ""


def http(url, data=None, headers=None):
    request = urllib.request.Request(url, data=data, headers={"User-Agent": CLIENT_UA, **(headers or {})})
    try:
        with urllib.request.urlopen(request, timeout=30) as reply:
            return reply.status, dict(reply.headers), reply.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


def normalize(text: str) -> str:
    return unicodedata.normalize("NFKC", text).replace("\u202f", " ").replace("\xa0", " ")


def test_a_quote_travels_from_creation_to_accepte(suite):
    crm = client.quotes(suite.quotes_target, suite.api_keys[suite.tenant])
    crm.UpdateSettings(quotes_pb2.Settings(esignature_enabled=True, default_validity_days=30,
                                           company=common_pb2.Company(name="Réseaux Dupont SARL")))
    crm.UpsertAccount(quotes_pb2.Account(id="acc-1", name="Boulangerie Lefèvre", address="3 place du Marché, Lyon"))
    crm.UpsertContact(quotes_pb2.Contact(id="ct-1", account_id="acc-1", name="Chloé Lefèvre",
                                         email="chloe@example.fr"))
    crm.UpsertUser(quotes_pb2.User(id="u-1", name="Antoine Martin", email="antoine@example.com",
                                   mobile="+33600000002"))

    # 1. Create a quote with lines for the account's contact, assigned to the salesperson.
    quote = crm.CreateQuote(quotes_pb2.CreateQuoteRequest(
        account_id="acc-1", contact_id="ct-1", assignee_id="u-1", title="Réseau",
        lines=[common_pb2.QuoteLine(description="Commutateur <b>PoE</b>", quantity="2", unit_price="500.00",
                                    vat_rate="20"),
               common_pb2.QuoteLine(description="Installation", quantity="1", unit_price="234.56",
                                    vat_rate="20")]))
    assert quote.status == "Brouillon" and re.fullmatch(r"DV-\d{4}-00001", quote.number)
    assert quote.totals.total_ht == "1234.56" and quote.totals.total_ttc == "1481.47"
    assert quote.send_action == "Envoyer par email"

    # 2. Send it with e-signature requested: version 1 is frozen, its PDF hashed, a link made.
    sent = crm.SendQuote(quotes_pb2.SendQuoteRequest(quote_id=quote.id, request_signature=True, attach_pdf=True))
    assert sent.version == 1 and len(sent.pdf_sha256) == 64
    assert sent.quote.status == "Envoyé" and sent.quote.send_action == "Relancer par email"
    link = sent.link_url
    assert link.startswith(suite.portal_url + "/d/")

    # 3. The contact receives the link by email.
    invitation = eventually(mail_to(suite, "chloe@example.fr", quote.number), what="the send email")
    assert link in text_of(invitation)
    assert "Accéder au document" in text_of(invitation)

    # 4. The link shows the quote in French; "Télécharger PDF" returns the very PDF whose hash was frozen.
    status, headers, page = eventually(lambda: (lambda r: r if r[0] == 200 else None)(http(link)),
                                       what="the portal page (read model fed by quote.sent)")
    html = normalize(page.decode())
    assert quote.number in html and "1 234,56 €" in html and "1 481,47 €" in html
    assert "Télécharger PDF" in html and "&lt;b&gt;PoE&lt;/b&gt;" in html
    # A person's browser confirms the view: portal.js posts the page's view id with the link's CSRF
    # token. The page GET alone counts nothing (mail scanners and link previews open links too).
    beacon = {name: html_lib.unescape(re.search(rf'data-{name}="([^"]+)"', page.decode()).group(1))
              for name in ("view-url", "view-id", "csrf")}
    status, headers, _ = http(suite.portal_url + beacon["view-url"],
                              data=urllib.parse.urlencode({"vue": beacon["view-id"],
                                                           "csrf_token": beacon["csrf"]}).encode(),
                              headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert status == 204 and headers.get("X-Quoteflow-View") == "counted"
    status, headers, pdf = http(link + "/pdf")
    assert status == 200 and pdf.startswith(b"%PDF")
    assert hashlib.sha256(pdf).hexdigest() == sent.pdf_sha256

    # 5. The view and the download land in the quote's history and counters; the assignee is told.
    detail = eventually(lambda: (lambda q: q if q.view_count == 1 and q.download_count == 1 else None)(
        crm.GetQuote(quotes_pb2.GetQuoteRequest(quote_id=quote.id))), what="view and download counters")
    listed = {q.id: q for q in crm.ListQuotes(quotes_pb2.ListQuotesRequest(page_size=50)).quotes}
    assert listed[quote.id].view_count == 1 and listed[quote.id].download_count == 1
    assert listed[quote.id].last_viewed_at
    kinds = [h.kind for h in detail.history]
    assert {"created", "sent", "viewed", "downloaded"} <= set(kinds)
    viewed = next(h for h in detail.history if h.kind == "viewed")
    assert CLIENT_UA in viewed.detail and viewed.at
    eventually(mail_to(suite, "antoine@example.com", "consulté"), what="the view notification")
    eventually(mail_to(suite, "antoine@example.com", "téléchargé"), what="the download notification")

    # 6. The client signs (typed name + consent): Accepté, and the assignee gets a confirmation.
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.decode()).group(1)
    form = urllib.parse.urlencode({"csrf_token": csrf, "consent": "on", "signer_name": "Chloé Lefèvre"}).encode()
    status, _, signed_page = http(link + "/sign", data=form,
                                  headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert status in (200, 303), signed_page[:500]
    accepted = eventually(lambda: (lambda q: q if q.status == "Accepté" else None)(
        crm.GetQuote(quotes_pb2.GetQuoteRequest(quote_id=quote.id))), what="status Accepté")
    assert accepted.signature.signer_name == "Chloé Lefèvre"
    assert accepted.signature.signed_at and accepted.signature.document_sha256 == sent.pdf_sha256
    history = {h.kind: h for h in accepted.history}
    for kind in ("sent", "viewed", "downloaded", "signed"):
        assert history[kind].at, kind
    confirmation = eventually(mail_to(suite, "antoine@example.com", "sign"), what="the signature confirmation")
    assert quote.number in str(confirmation["Subject"]) + text_of(confirmation)

    # The page now says it is signed.
    status, _, after = http(link)
    assert status == 200 and "Chloé Lefèvre" in after.decode()


def test_bad_input_gets_a_clear_answer(suite):
    crm = client.quotes(suite.quotes_target, suite.api_keys[suite.tenant])
    with pytest.raises(grpc.RpcError) as error:
        crm.GetQuote(quotes_pb2.GetQuoteRequest(quote_id="no-such-quote"))
    assert error.value.code() == grpc.StatusCode.NOT_FOUND

    crm.UpsertAccount(quotes_pb2.Account(id="a", name="A"))
    crm.UpsertContact(quotes_pb2.Contact(id="c", account_id="a", name="C", email="c@example.fr"))
    crm.UpsertUser(quotes_pb2.User(id="u", name="U", email="u@example.fr"))
    with pytest.raises(grpc.RpcError) as error:
        crm.CreateQuote(quotes_pb2.CreateQuoteRequest(
            account_id="a", contact_id="c", assignee_id="u",
            lines=[common_pb2.QuoteLine(description="x", quantity="deux", unit_price="1", vat_rate="20")]))
    assert error.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "lines[0].quantity" in error.value.details()
    assert crm.ListQuotes(quotes_pb2.ListQuotesRequest()).quotes == []  # nothing half-written

    unauthenticated = client.quotes(suite.quotes_target, "qf_wrong")
    with pytest.raises(grpc.RpcError) as error:
        unauthenticated.ListQuotes(quotes_pb2.ListQuotesRequest())
    assert error.value.code() == grpc.StatusCode.UNAUTHENTICATED

    for path in ("/d/unknown-token", "/d/" + "A" * 43, "/d/%00"):
        status, _, body = http(suite.portal_url + path)
        assert status == 404, path
