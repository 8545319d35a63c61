"""The notifier against a real SMTP server (aiosmtpd) on a free local port."""
import socket
import time
from dataclasses import replace
from email import message_from_bytes, policy

import pytest
from aiosmtpd.controller import Controller

from quoteflow.blobs import FolderBlobStore
from services.notifier.bootstrap import bootstrap
from services.notifier.domain.model import FAILED, QUEUED, SENT


class Recorder:
    """An aiosmtpd handler keeping each envelope; answers 451 to the first ``busy`` messages."""

    def __init__(self, busy: int = 0, refuse: bool = False):
        self.envelopes, self.busy, self.refuse = [], busy, refuse

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if self.refuse:
            return "550 5.1.1 no such user here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        if self.busy:
            self.busy -= 1
            return "451 4.3.0 mailbox busy, try later"
        self.envelopes.append(envelope)
        return "250 Message accepted for delivery"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def smtp():
    def start(handler: Recorder) -> Controller:
        controller = Controller(handler, hostname="127.0.0.1", port=free_port())
        controller.start()
        started.append(controller)
        return controller
    started: list[Controller] = []
    yield start
    for controller in started:
        controller.stop()


def smtp_app(cfg, controller, **overrides):
    return bootstrap(replace(cfg, smtp_host="127.0.0.1", smtp_port=controller.port, smtp_tls="none",
                             smtp_timeout=5.0, **overrides))


def test_quote_email_reaches_the_smtp_server_whole(cfg, tenant, quote_sent, smtp):
    recorder = Recorder()
    app = smtp_app(cfg, smtp(recorder))
    pdf = b"%PDF-1.7\n1 0 obj << >> endobj\n%%EOF\n"
    sha = FolderBlobStore(cfg.common.blob_dir).put(pdf)
    envelope = quote_sent(attach_pdf=True, pdf_sha256=sha, signature_requested=True)
    app.handle_event(envelope)
    assert app.dispatch_due() == 1

    [received] = recorder.envelopes
    assert received.mail_from == "devis@quoteflow.localhost"
    assert received.rcpt_tos == ["zoe@client.example"]
    message = message_from_bytes(received.original_content, policy=policy.default)
    assert message.is_multipart() and message.get_content_type() == "multipart/mixed"
    assert message.get_body(("plain",)).get_content_type() == "text/plain"
    html = message.get_body(("html",)).get_content()
    text = message.get_body(("plain",)).get_content()
    link = envelope.payload().link_url
    assert link in text and f'href="{link}"' in html and "Accéder au document" in html
    assert "Demande de signature électronique" in text
    assert message["Reply-To"].addresses[0].addr_spec == "jerome@vendeur.example"
    assert message["Message-ID"].startswith("<") and message["Message-ID"].endswith("@quoteflow.localhost>")
    assert message["Date"].datetime is not None
    assert message["Subject"] == "Demande de signature électronique : devis DV-2026-0042 – Acme & Fils"
    [attachment] = list(message.iter_attachments())
    assert attachment.get_filename() == "Devis-DV-2026-0042.pdf" and attachment.get_content() == pdf
    [delivery] = app.list_deliveries(tenant, envelope.payload().quote_id)
    assert (delivery.status, delivery.attempts) == (SENT, 1)


def test_no_attachment_unless_asked(cfg, quote_sent, smtp):
    recorder = Recorder()
    app = smtp_app(cfg, smtp(recorder))
    app.handle_event(quote_sent(attach_pdf=False))
    app.dispatch_due()
    [received] = recorder.envelopes
    message = message_from_bytes(received.original_content, policy=policy.default)
    assert list(message.iter_attachments()) == []
    assert message.get_content_type() == "multipart/alternative"


def test_a_451_is_retried_until_accepted(cfg, tenant, quote_sent, smtp):
    recorder = Recorder(busy=1)
    app = smtp_app(cfg, smtp(recorder))
    envelope = quote_sent()
    app.handle_event(envelope)
    app.dispatch_due()
    [delivery] = app.list_deliveries(tenant, envelope.payload().quote_id)
    assert delivery.status == QUEUED and "451" in delivery.error
    deadline = time.monotonic() + 5
    while not recorder.envelopes and time.monotonic() < deadline:
        app.dispatch_due()
        time.sleep(0.01)
    [delivery] = app.list_deliveries(tenant, envelope.payload().quote_id)
    assert (delivery.status, delivery.attempts, len(recorder.envelopes)) == (SENT, 2, 1)


def test_a_refused_recipient_is_failed_with_its_reason(cfg, tenant, quote_sent, smtp):
    app = smtp_app(cfg, smtp(Recorder(refuse=True)))
    envelope = quote_sent()
    app.handle_event(envelope)
    app.dispatch_due()
    [delivery] = app.list_deliveries(tenant, envelope.payload().quote_id)
    assert delivery.status == FAILED and "550" in delivery.error and delivery.attempts == 1


def test_server_down_is_transient(cfg, tenant, quote_sent):
    app = bootstrap(replace(cfg, smtp_host="127.0.0.1", smtp_port=free_port(), smtp_timeout=2.0))
    envelope = quote_sent()
    app.handle_event(envelope)
    app.dispatch_due()
    [delivery] = app.list_deliveries(tenant, envelope.payload().quote_id)
    assert delivery.status == QUEUED and delivery.attempts == 1 and delivery.error
