"""Script, HTML and template payloads typed by a salesperson or a client are inert in the portal page, the quote
PDF and every email; CR/LF cannot add mail headers; tenant templates cannot reach Python internals."""
from __future__ import annotations

from io import BytesIO

import grpc
import pytest
from pypdf import PdfReader

from quoteflow.v1 import common_pb2, notifier_pb2, notifier_pb2_grpc
from tests.integration.portal.world import World, snapshot
from tests.security.report import TALLY
from tests.security.stack import TENANT_A

PAYLOADS = ["<script>alert(1)</script>", "<img src=x onerror=alert(1)>", "{{7*7}}", "{{ ''.__class__ }}", "${7*7}",
            "{% for x in range(3) %}X{% endfor %}", "#{7*7}", "</textarea><b>gras</b>"]
RAW_MARKUP = ["<script>alert(1)</script>", "<img src=x onerror", "<b>gras</b>"]


@pytest.fixture
def world(tmp_path):
    w = World(tmp_path, {"max_failed_lookups": 10_000})
    yield w
    w.close()


def test_payloads_are_inert_in_the_portal_page(world):
    text = " | ".join(PAYLOADS)
    sent = world.send(title=text, terms=text, lines=[common_pb2.QuoteLine(
        description=p, quantity="1", unit="u", unit_price="10", vat_rate="20", total_ht="10.00") for p in PAYLOADS],
        contact=common_pb2.Party(id="ct-1", name=PAYLOADS[0], email="zoe@example.fr"))
    html = world.page(sent["token"])
    for raw in RAW_MARKUP:
        TALLY.record("injection: portal page", "escaped" if raw not in html else "LIVE", raw)
        assert raw not in html
    plain = World.text(html)
    for payload in ("{{7*7}}", "${7*7}", "{{ ''.__class__ }}"):
        TALLY.record("injection: portal page", "literal" if payload in plain else "EVALUATED", payload)
        assert payload in plain
    assert "<class" not in plain and "XXX" not in plain
    world.declined(sent, reason=" ".join(PAYLOADS))
    declined = world.get(f"/d/{sent['token']}").get_data(as_text=True)
    assert all(raw not in declined for raw in RAW_MARKUP)


def test_payloads_are_inert_in_the_quote_pdf():
    from services.quotes.adapters.pdf import render_quote_pdf

    text = " ".join(PAYLOADS)
    snap = snapshot("DV-2026-66666", 1, title=text, terms=text, lines=[common_pb2.QuoteLine(
        description=p, quantity="1", unit="u", unit_price="10", discount_percent="0", vat_rate="20", total_ht="10.00")
        for p in PAYLOADS])
    pdf = render_quote_pdf(snap)
    extracted = " ".join(page.extract_text() for page in PdfReader(BytesIO(pdf)).pages)
    squeezed = "".join(extracted.split())
    for payload in PAYLOADS:
        found = "".join(payload.split()) in squeezed
        TALLY.record("injection: quote PDF", "literal text" if found else "MISSING", payload)
        assert found, f"{payload!r} is not printed as typed"
    assert b"/JavaScript" not in pdf and b"/JS " not in pdf and b"/Launch" not in pdf and b"/OpenAction" not in pdf


def test_payloads_and_crlf_are_inert_in_emails_and_templates_are_sandboxed(stack):
    stub = notifier_pb2_grpc.NotifierServiceStub(stack.channels["NotifierService"])
    md = stack.bearer(TENANT_A)
    quote_id = stack.seeds[TENANT_A]["sent"]
    for payload in PAYLOADS:
        with pytest.raises(grpc.RpcError) as refused:  # an edited subject is one line, as SendQuote says
            stub.PreviewEmail(notifier_pb2.PreviewEmailRequest(
                template="quote_send", quote_id=quote_id, subject=f"Devis {payload}\r\nBcc: evil@example.com",
                fill_samples=True), metadata=md)
        assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT and "subject" in refused.value.details()
        preview = stub.PreviewEmail(notifier_pb2.PreviewEmailRequest(
            template="quote_send", quote_id=quote_id, subject=f"Devis {payload}",
            body=f"Bonjour {payload}", fill_samples=True,
            variables={"contact_name": payload + "\r\nX-Injected: 1", "company_name": payload}), metadata=md)
        assert "\r" not in preview.subject and "\n" not in preview.subject
        for raw in RAW_MARKUP:
            assert raw not in preview.body_html
        assert "<class" not in preview.body_text + preview.body_html and "XXX" not in preview.body_text
        TALLY.record("injection: email preview", "inert", payload)
    escapes = ["{{ ''.__class__.__mro__[1].__subclasses__() }}", "{{ cycler.__init__.__globals__.os }}",
               "{{ self.__init__.__globals__ }}", "{{ config }}", "{{ lipsum.__globals__['os'].popen('id').read() }}",
               "{% import 'os' as os %}", "{{ [].__class__.__base__ }}", "{{ request }}"]
    for attack in escapes:
        content = notifier_pb2.TemplateContent(subject="Devis", text=f"{{{{ link_url }}}} {attack}",
                                               html=f"<p>{{{{ link_url }}}} {attack}</p>")
        try:
            shown = stub.PreviewEmail(notifier_pb2.PreviewEmailRequest(template="quote_send", draft=content,
                                                                       fill_samples=True), metadata=md)
            outcome, body = "rendered inert", shown.body_text + shown.body_html
            assert "<class" not in body and "module" not in body and "uid=" not in body and "function" not in body
        except grpc.RpcError as error:
            outcome = error.code().name
            assert error.code() == grpc.StatusCode.INVALID_ARGUMENT, (attack, error.code(), error.details())
        try:
            stub.SaveTemplate(notifier_pb2.SaveTemplateRequest(name="quote_send", content=content), metadata=md)
            saved = "saved"
        except grpc.RpcError as error:
            saved = error.code().name
            assert error.code() == grpc.StatusCode.INVALID_ARGUMENT, (attack, error.code(), error.details())
        TALLY.record("injection: template sandbox", f"preview {outcome}, save {saved}", attack)


def test_sent_emails_keep_payloads_inert_and_crlf_adds_no_header(stack):
    from quoteflow.envelope import Envelope
    from quoteflow.v1 import events_pb2
    from services.notifier.adapters.mail import read_maildir

    seed = stack.seeds[TENANT_A]
    event = events_pb2.QuoteSent()
    event.CopyFrom(seed["sent_event"].payload())
    event.quote_id = "q-inject"
    event.subject = "Devis <script>alert(1)</script>\r\nBcc: evil@example.com\r\nX-Injected: 1"
    event.body = "Bonjour {{7*7}} ${7*7} <img src=x onerror=alert(1)>\r\n.\r\nRCPT TO:<evil@example.com>"
    event.recipient.name = "Zoé\r\nBcc: evil@example.com"
    event.assignee.name = "Vendeur <b>gras</b>\nX-Injected: 2"
    stack.notifier.handle_event(Envelope.wrap(event, source="quoteflow/quotes", subject="quote/q-inject",
                                              tenant=TENANT_A))
    declined = events_pb2.SignatureDeclined(
        request_id="r-inject", quote_id="q-inject", number=event.number, version=event.version,
        signer_name="Zoé\r\nBcc: evil@example.com", signer_email="zoe@client.example",
        reason=" ".join(PAYLOADS) + "\r\nX-Injected: 3", declined_at="2026-04-03T08:30:00Z")
    declined.assignee.CopyFrom(event.assignee)
    stack.notifier.handle_event(Envelope.wrap(declined, source="quoteflow/signature", subject="quote/q-inject",
                                              tenant=TENANT_A))
    stack.notifier.dispatch_due()
    mails = [m for m in read_maildir(stack.notifier.cfg.mail_sink_dir) if "q-inject" in m.as_string()
             or event.number in str(m["Subject"])]
    assert len(mails) >= 2, "the send and the decline emails were not written"
    for mail in mails:
        names = {k.lower() for k in mail.keys()}
        assert "bcc" not in names and "x-injected" not in names, sorted(names)
        assert "\n" not in str(mail["Subject"]) and "\r" not in str(mail["Subject"])
        assert [a.addr_spec for a in mail["To"].addresses] != [] and "evil@" not in str(mail["To"])
        html = mail.get_body(("html",))
        if html is not None:
            assert all(raw not in html.get_content() for raw in RAW_MARKUP)
        TALLY.record("injection: sent emails", "no header added, markup escaped", str(mail["Subject"])[:80])
