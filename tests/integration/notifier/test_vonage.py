"""SMS through the real Vonage SDK v4 against a local fake of the SMS API on real HTTPS."""
import logging
import time
from dataclasses import replace

import pytest

from services.notifier.adapters.sms import VonageSms
from services.notifier.bootstrap import bootstrap
from services.notifier.domain.model import FAILED, QUEUED, SENT, Preferences
from tests.integration.notifier.tls import self_signed
from tests.integration.notifier.vonage_fake import DROP, FakeVonage, http, status

KEY, SECRET = "abcd1234", "s3cr3t-Vonage"


@pytest.fixture
def cert(tmp_path):
    return self_signed(tmp_path)


@pytest.fixture
def vonage(cert):
    started = []

    def start(*script, api_key=KEY, api_secret=SECRET) -> FakeVonage:
        fake = FakeVonage(*cert, api_key, api_secret, script).__enter__()
        started.append(fake)
        return fake
    yield start
    for fake in started:
        fake.__exit__(None, None, None)


def sms_app(cfg, fake, cert, secret=SECRET):
    return bootstrap(replace(cfg, vonage_api_key=KEY, vonage_api_secret=secret, vonage_from="Quoteflow",
                             vonage_rest_host=fake.host, vonage_ca_bundle=str(cert[0]), retry_base_seconds=0.01))


def sms_on_view(app, tenant, portal_event, party, phone="+33 6 12 34 56 78"):
    assignee = party("Jérôme", "jerome@vendeur.example", phone)
    app.set_preferences(tenant, Preferences(user_id=assignee.id, on_view_email=False, on_view_sms=True))
    envelope = portal_event("viewed", assignee=assignee)
    app.handle_event(envelope)
    return envelope.payload().quote_id


def settle(app, tenant, quote_id, seconds=5.0):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        app.dispatch_due()
        [delivery] = app.list_deliveries(tenant, quote_id)
        if delivery.status != QUEUED:
            return delivery
        time.sleep(0.02)
    return delivery


def test_an_sms_reaches_vonage_over_https_with_the_sdks_request(cfg, tenant, portal_event, party, vonage, cert):
    fake = vonage()
    app = sms_app(cfg, fake, cert)
    quote_id = sms_on_view(app, tenant, portal_event, party)
    assert app.dispatch_due() == 1
    [request] = fake.requests
    form = request["form"]
    assert request["path"] == "/sms/json" and request["authorization"].startswith("Basic ")
    assert (form["to"], form["from"], form["type"]) == ("33612345678", "Quoteflow", "text")  # é is in GSM 03.38
    assert form["text"].startswith("Le devis DV-2026-0042 a été consulté par zoe@client.example")
    [delivery] = app.list_deliveries(tenant, quote_id)
    assert (delivery.status, delivery.attempts, delivery.recipient) == (SENT, 1, "+33 6 12 34 56 78")
    assert form["client-ref"] == delivery.id  # ties Vonage's records to the delivery log


@pytest.mark.parametrize("script, reason", [
    ((http(429),), "HTTP 429 (limite de débit)"),
    ((http(503), http(500)), "HTTP 503 (erreur serveur)"),
    ((status("1", "Throughput Rate Exceeded"),), "statut 1 : limite de débit"),
    ((status("5", "Internal Error"),), "statut 5"),
])
def test_rate_limits_and_server_errors_are_retried_with_back_off(cfg, tenant, portal_event, party, vonage, cert,
                                                                 script, reason):
    fake = vonage(*script)
    app = sms_app(cfg, fake, cert)
    quote_id = sms_on_view(app, tenant, portal_event, party)
    app.dispatch_due()
    [delivery] = app.list_deliveries(tenant, quote_id)
    assert delivery.status == QUEUED and reason in delivery.error and delivery.next_attempt_at
    delivery = settle(app, tenant, quote_id)
    assert (delivery.status, delivery.attempts, delivery.error) == (SENT, len(script) + 1, "")
    assert len(fake.requests) == len(script) + 1


@pytest.mark.parametrize("script, secret, reason", [
    ((), "wrong-secret", "Vonage a refusé l'authentification (HTTP 401)"),
    ((status("4", "Bad Credentials"),), SECRET, "statut 4 : identifiants Vonage refusés"),
    ((status("3", "Invalid to address"),), SECRET, "statut 3 : numéro ou paramètre invalide"),
    ((status("29", "Non White-listed Destination"),), SECRET, "statut 29 : numéro non autorisé"),
])
def test_authentication_and_bad_numbers_give_up_at_once_with_the_reason(cfg, tenant, portal_event, party, vonage,
                                                                        cert, script, secret, reason):
    fake = vonage(*script)
    app = sms_app(cfg, fake, cert, secret=secret)
    quote_id = sms_on_view(app, tenant, portal_event, party)
    app.dispatch_due()
    [delivery] = app.list_deliveries(tenant, quote_id)
    assert (delivery.status, delivery.attempts) == (FAILED, 1) and reason in delivery.error
    assert app.dispatch_due() == 0 and len(fake.requests) == 1


def test_a_number_that_is_not_one_never_reaches_vonage(cfg, tenant, portal_event, party, vonage, cert):
    fake = vonage()
    app = sms_app(cfg, fake, cert)
    quote_id = sms_on_view(app, tenant, portal_event, party, phone="bureau")
    app.dispatch_due()
    [delivery] = app.list_deliveries(tenant, quote_id)
    assert delivery.status == FAILED and "numéro invalide" in delivery.error and fake.requests == []


def test_a_dropped_connection_after_the_request_sends_no_second_sms(cfg, tenant, portal_event, party, vonage, cert):
    fake = vonage(DROP)  # Vonage got the SMS, then the connection broke before the answer
    app = sms_app(cfg, fake, cert)
    quote_id = sms_on_view(app, tenant, portal_event, party)
    app.dispatch_due()
    time.sleep(0.2)
    assert app.dispatch_due() == 0
    [delivery] = app.list_deliveries(tenant, quote_id)
    assert delivery.status == FAILED and "issue inconnue" in delivery.error
    assert len(fake.requests) == 1


def test_the_sdks_default_settings_would_have_sent_it_twice(vonage, cert, monkeypatch):
    """Why the adapter sets pool_maxsize=1: the SDK re-POSTs on RemoteDisconnected up to pool_maxsize times."""
    from vonage import Auth, HttpClientOptions, Vonage
    from vonage_sms import SmsMessage

    fake = vonage(DROP)
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(cert[0]))
    client = Vonage(Auth(api_key=KEY, api_secret=SECRET), HttpClientOptions(rest_host=fake.host))
    client.sms.send(SmsMessage(to="33612345678", from_="Quoteflow", text="Bonjour"))
    assert len(fake.requests) == 2  # one SMS asked, two submitted


def test_vonage_unreachable_is_transient(cfg, tenant, portal_event, party, vonage, cert):
    fake = vonage()
    host = fake.host
    fake.__exit__(None, None, None)  # nobody listens there any more
    app = sms_app(cfg, fake, cert)
    quote_id = sms_on_view(app, tenant, portal_event, party)
    app.dispatch_due()
    [delivery] = app.list_deliveries(tenant, quote_id)
    assert delivery.status == QUEUED and "injoignable" in delivery.error and host in fake.host


def test_the_one_time_code_by_sms_is_in_no_log_line(cfg, tenant, vonage, cert, signature_code, caplog):
    caplog.set_level(logging.DEBUG)
    fake = vonage(http(429))
    app = sms_app(cfg, fake, cert)
    app.handle_event(signature_code(channel="sms", code="918273"))
    delivery = settle(app, tenant, "q-otp")
    assert delivery.status == SENT and all("918273" in r["form"]["text"] for r in fake.requests)
    assert len(fake.requests) == 2
    assert "918273" not in caplog.text and SECRET not in caplog.text
    assert any(r.name == "services.notifier.handlers" for r in caplog.records)  # the logs were captured


def test_the_adapter_alone_sorts_the_gsm_alphabet_from_unicode(vonage, cert):
    fake = vonage()
    sms = VonageSms(KEY, SECRET, "Quoteflow", rest_host=fake.host, ca_bundle=str(cert[0]))
    sms.send("+33612345678", "Devis consulté à 14:05", reference="r-1")
    sms.send("+33612345678", "Œuvre signée", reference="r-2")
    assert [r["form"]["type"] for r in fake.requests] == ["text", "unicode"]
