"""Sending: idempotency keys, the one-time code channel, the tenant's identity and logo on the PDF."""
import io
from datetime import date, timedelta

import grpc
import pypdf

from quoteflow import sealing
from quoteflow.v1 import common_pb2, quotes_pb2
from services.quotes.adapters import orm
from tests.integration.quotes.support import count, create, directory, error_of, png, sent_events, violations


def test_the_same_idempotency_key_sends_once_and_returns_the_same_link(service):
    app, stub = service
    crm = stub("tenant-a")
    directory(crm)
    quote = create(crm)
    request = quotes_pb2.SendQuoteRequest(quote_id=quote.id, request_signature=True, idempotency_key="send-42")
    first = crm.SendQuote(request)
    again = crm.SendQuote(request)
    assert (again.version, again.pdf_sha256, again.link_url) == (first.version, first.pdf_sha256, first.link_url)
    [event] = sent_events(app)  # one event: one email, one signature request downstream
    payload = event.payload()
    assert sealing.open_link(app.config.seal_key, payload.sealed_link_url, tenant="tenant-a", quote_id=quote.id,
                             version=payload.version, token_sha256=payload.link_token_sha256) == first.link_url
    with app.engine.connect() as conn:  # the token itself is stored nowhere
        assert first.link_url.rsplit("/", 1)[1] not in str(conn.execute(orm.idempotency_keys.select()).all())
    assert [h.kind for h in crm.GetQuote(quotes_pb2.GetQuoteRequest(quote_id=quote.id)).history] == \
        ["created", "sent", "status"]
    changed = error_of(crm.SendQuote, quotes_pb2.SendQuoteRequest(quote_id=quote.id, idempotency_key="send-42",
                                                                  subject="Autre objet"))
    assert changed.code() == grpc.StatusCode.FAILED_PRECONDITION
    relance = crm.SendQuote(quotes_pb2.SendQuoteRequest(quote_id=quote.id, idempotency_key="send-43"))
    assert relance.link_url != first.link_url and len(sent_events(app)) == 2
    bad = error_of(crm.SendQuote, quotes_pb2.SendQuoteRequest(quote_id=quote.id, idempotency_key=" x\n"))
    assert "idempotency_key" in violations(bad)


def test_signature_is_asked_by_default_when_esignature_is_on(service):
    """The manual: « l'option "Demander une signature électronique" est active par défaut »."""
    app, stub = service
    crm = stub("tenant-a")
    directory(crm, signature_otp="email")
    quote = create(crm)
    crm.SendQuote(quotes_pb2.SendQuoteRequest(quote_id=quote.id))
    first = sent_events(app)[-1].payload()
    assert first.signature_requested and first.signature_otp == "email"
    crm.UpdateSettings(quotes_pb2.Settings(esignature_enabled=False))
    other = create(crm)
    crm.SendQuote(quotes_pb2.SendQuoteRequest(quote_id=other.id))
    assert not sent_events(app)[-1].payload().signature_requested  # off for the tenant: off by default


def test_one_time_code_channel_travels_in_quote_sent(service):
    app, stub = service
    crm = stub("tenant-a")
    directory(crm, signature_otp="sms")
    quote = create(crm)
    crm.SendQuote(quotes_pb2.SendQuoteRequest(quote_id=quote.id, request_signature=True))
    assert sent_events(app)[-1].payload().signature_otp == "sms"
    crm.SendQuote(quotes_pb2.SendQuoteRequest(quote_id=quote.id, request_signature=False))
    assert sent_events(app)[-1].payload().signature_otp == ""  # no signature asked: no code
    error = error_of(crm.SendQuote, quotes_pb2.SendQuoteRequest(quote_id=quote.id, recipient_contact_id="ct2",
                                                                request_signature=True))
    assert error.code() == grpc.StatusCode.FAILED_PRECONDITION and "no phone" in error.details()
    assert len(sent_events(app)) == 2
    no_contact = crm.CreateQuote(quotes_pb2.CreateQuoteRequest(account_id="acc", assignee_id="u", lines=[
        common_pb2.QuoteLine(description="x", quantity="1", unit_price="1", vat_rate="20")]))
    assert "recipient_contact_id" in violations(error_of(crm.SendQuote, quotes_pb2.SendQuoteRequest(
        quote_id=no_contact.id)))


def test_company_identity_logo_and_colour_reach_the_snapshot_and_the_pdf(service):
    app, stub = service
    crm = stub("tenant-a")
    logo = png()
    directory(crm, company=common_pb2.Company(name="Réseaux Dupont SARL", address="12 rue de la Paix\n75002 Paris",
                                              siret="123 456 789 00012", vat_number="FR12 123456789"),
              branding=common_pb2.Branding(color="#E8A33D"), logo=logo)
    settings = crm.GetSettings(quotes_pb2.GetSettingsRequest())
    assert settings.branding.logo_content_type == "image/png" and settings.branding.color == "#e8a33d"
    assert app.dependencies["blobs"].get(settings.branding.logo_sha256) == logo
    assert list(settings.vat_rates) == ["20", "10", "5.5", "2.1", "0"]
    quote = create(crm)
    sent = crm.SendQuote(quotes_pb2.SendQuoteRequest(quote_id=quote.id))
    snapshot = sent_events(app)[-1].payload().snapshot
    assert snapshot.branding.logo_sha256 == settings.branding.logo_sha256 and snapshot.branding.color == "#e8a33d"
    assert snapshot.company.siret == "123 456 789 00012"
    reader = pypdf.PdfReader(io.BytesIO(app.dependencies["blobs"].get(sent.pdf_sha256)))
    assert len(reader.pages[0].images) == 1  # the logo
    assert "Réseaux Dupont SARL" in reader.pages[0].extract_text()

    neighbour = stub("tenant-b").GetSettings(quotes_pb2.GetSettingsRequest())  # settings are per tenant
    assert (neighbour.company.name, neighbour.branding.logo_sha256, neighbour.esignature_enabled) == ("", "", False)

    # an update without a logo keeps it; remove_logo removes it
    kept = crm.UpdateSettings(quotes_pb2.Settings(default_validity_days=15, company=settings.company))
    assert kept.branding.logo_sha256 == settings.branding.logo_sha256 and kept.branding.color == ""
    assert crm.UpdateSettings(quotes_pb2.Settings(remove_logo=True)).branding.logo_sha256 == ""


def test_settings_are_checked_field_by_field_and_left_unchanged_when_wrong(service):
    app, stub = service
    crm = stub("tenant-a")
    directory(crm)
    error = error_of(crm.UpdateSettings, quotes_pb2.Settings(
        default_validity_days=5000, signature_otp="fax", extra_vat_rates=["abc", "7.123"],
        branding=common_pb2.Branding(color="rouge"), logo=b"GIF89a...",
        company=common_pb2.Company(siret="123", vat_number="12", name="A\x00")))
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert set(violations(error)) >= {"default_validity_days", "signature_otp", "extra_vat_rates[0]",
                                      "extra_vat_rates[1]", "branding.color", "logo", "company.siret",
                                      "company.vat_number", "company.name"}
    damaged = error_of(crm.UpdateSettings, quotes_pb2.Settings(logo=b"\x89PNG\r\n\x1a\n" + b"\x00" * 50))
    assert "logo" in violations(damaged)
    assert crm.GetSettings(quotes_pb2.GetSettingsRequest()).default_validity_days == 30
    assert count(app, orm.settings) == 1


def test_a_quote_is_valid_to_the_end_of_its_last_day_in_paris(service):
    """« Valable jusqu'au 14 juillet »: the link and the signature close at midnight in Paris (the first instant
    of the 15th there), not in UTC (which would give a French client up to two more hours)."""
    app, stub = service
    crm = stub("tenant-a")
    directory(crm)
    summer = (date.today() + timedelta(days=300)).replace(month=7, day=14)
    winter = summer.replace(month=12, day=14)
    for valid_until, utc_end in ((summer, "22:00:00.000000Z"), (winter, "23:00:00.000000Z")):
        quote = create(crm, valid_until=valid_until.isoformat())
        crm.SendQuote(quotes_pb2.SendQuoteRequest(quote_id=quote.id))
        assert sent_events(app)[-1].payload().expires_at == f"{valid_until.isoformat()}T{utc_end}"
