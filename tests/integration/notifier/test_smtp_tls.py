"""SMTP with TLS and credentials from configuration, against aiosmtpd with a certificate made here."""
from dataclasses import replace
from email import message_from_bytes, policy

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from services.notifier.bootstrap import bootstrap
from services.notifier.domain.model import FAILED, QUEUED, SENT
from tests.integration.notifier.test_smtp import Recorder, free_port
from tests.integration.notifier.tls import self_signed, server_context

USER, PASSWORD = "devis@acme.example", "mot-de-passe-été"


class Authenticator:
    def __init__(self, password: str = PASSWORD):
        self.logins: list[str] = []
        self.password = password

    def __call__(self, server, session, envelope, mechanism, auth_data):
        ok = isinstance(auth_data, LoginPassword) and (auth_data.login.decode(), auth_data.password.decode()) == (
            USER, self.password)
        if ok:
            self.logins.append(auth_data.login.decode())
        return AuthResult(success=ok, handled=False)


@pytest.fixture
def tls_files(tmp_path):
    return self_signed(tmp_path)


@pytest.fixture
def controllers():
    started: list[Controller] = []
    yield started
    for controller in started:
        controller.stop()


def start(controllers, controller: Controller) -> Controller:
    controller.start()
    controllers.append(controller)
    return controller


def tls_app(cfg, port, tls, ca, **overrides):
    settings = dict(smtp_host="127.0.0.1", smtp_port=port, smtp_tls=tls, smtp_ca_file=str(ca), smtp_user=USER,
                    smtp_password=PASSWORD, smtp_timeout=5.0)
    return bootstrap(replace(cfg, **{**settings, **overrides}))


def received(recorder):
    [envelope] = recorder.envelopes
    return envelope, message_from_bytes(envelope.original_content, policy=policy.default)


def test_starttls_then_auth_with_a_non_ascii_password_then_the_mail(cfg, tenant, quote_sent, tls_files, controllers):
    recorder, authenticator = Recorder(), Authenticator()
    controller = start(controllers, Controller(
        recorder, hostname="127.0.0.1", port=free_port(), tls_context=server_context(*tls_files),
        require_starttls=True, authenticator=authenticator, auth_required=True, auth_require_tls=True))
    app = tls_app(cfg, controller.port, "starttls", tls_files[0])
    envelope = quote_sent()
    app.handle_event(envelope)
    assert app.dispatch_due() == 1
    smtp_envelope, message = received(recorder)
    assert authenticator.logins == [USER] and smtp_envelope.rcpt_tos == ["zoe@client.example"]
    assert envelope.payload().link_url in message.get_body(("plain",)).get_content()
    [delivery] = app.list_deliveries(tenant, envelope.payload().quote_id)
    assert delivery.status == SENT


def test_implicit_tls_on_its_own_port(cfg, tenant, quote_sent, tls_files, controllers):
    recorder, authenticator = Recorder(), Authenticator(password="ascii-only")
    controller = start(controllers, Controller(
        recorder, hostname="127.0.0.1", port=free_port(), ssl_context=server_context(*tls_files),
        authenticator=authenticator, auth_required=True, auth_require_tls=False))
    app = tls_app(cfg, controller.port, "ssl", tls_files[0], smtp_password="ascii-only")
    app.handle_event(quote_sent())
    app.dispatch_due()
    assert authenticator.logins == [USER] and len(recorder.envelopes) == 1


def test_wrong_password_fails_at_once_with_the_servers_reason(cfg, tenant, quote_sent, tls_files, controllers):
    controller = start(controllers, Controller(
        Recorder(), hostname="127.0.0.1", port=free_port(), tls_context=server_context(*tls_files),
        require_starttls=True, authenticator=Authenticator(), auth_required=True))
    app = tls_app(cfg, controller.port, "starttls", tls_files[0], smtp_password="faux")
    envelope = quote_sent()
    app.handle_event(envelope)
    app.dispatch_due()
    [delivery] = app.list_deliveries(tenant, envelope.payload().quote_id)
    assert delivery.status == FAILED and "535" in delivery.error


def test_an_untrusted_certificate_is_not_accepted(cfg, tenant, quote_sent, tls_files, tmp_path, controllers):
    recorder = Recorder()
    controller = start(controllers, Controller(
        recorder, hostname="127.0.0.1", port=free_port(), tls_context=server_context(*tls_files),
        require_starttls=True))
    (tmp_path / "other").mkdir()
    other_ca, _ = self_signed(tmp_path / "other")
    app = tls_app(cfg, controller.port, "starttls", other_ca, smtp_user="")
    envelope = quote_sent()
    app.handle_event(envelope)
    app.dispatch_due()
    [delivery] = app.list_deliveries(tenant, envelope.payload().quote_id)
    assert delivery.status == QUEUED and "CERTIFICATE_VERIFY_FAILED" in delivery.error
    assert recorder.envelopes == []


def test_cr_lf_in_subject_and_names_cannot_inject_headers_over_smtp(cfg, tenant, quote_sent, party, tls_files,
                                                                    controllers):
    recorder = Recorder()
    controller = start(controllers, Controller(
        recorder, hostname="127.0.0.1", port=free_port(), tls_context=server_context(*tls_files),
        require_starttls=True, authenticator=Authenticator(), auth_required=True))
    app = tls_app(cfg, controller.port, "starttls", tls_files[0])
    app.handle_event(quote_sent(
        subject="Votre devis\r\nBcc: evil@x.example\r\n\r\nfaux corps",
        recipient=party("Zoé\r\nBcc: evil@x.example", "zoe@client.example"),
        assignee=party("Jérôme\nX-Evil: 1", "jerome@vendeur.example")))
    app.dispatch_due()
    smtp_envelope, message = received(recorder)
    assert smtp_envelope.rcpt_tos == ["zoe@client.example"]
    assert message["Bcc"] is None and message["X-Evil"] is None
    assert message["Subject"] == "Votre devis Bcc: evil@x.example faux corps"
    raw_headers = smtp_envelope.original_content.split(b"\r\n\r\n", 1)[0]
    assert b"\r\nBcc:" not in raw_headers and b"\r\nX-Evil:" not in raw_headers
