"""UpdateSettings with an update_mask changes only what it names; without one it replaces everything (as it
always did). An extra VAT rate still used by a product or a Brouillon quote cannot be removed."""
import grpc
from google.protobuf import field_mask_pb2

from quoteflow.v1 import common_pb2, quotes_pb2
from tests.integration.quotes.support import create, directory, error_of, line, png, violations

FULL = dict(esignature_enabled=False, default_validity_days=45, default_terms="Paiement à 30 jours.",
            signature_otp="email", extra_vat_rates=["8.5"],
            company=common_pb2.Company(name="Chauffage Dupré", address="12 rue de l'Œuvre, Lyon",
                                       siret="12345678900011", vat_number="FR12345678900"),
            branding=common_pb2.Branding(color="#e8a33d"))


def masked(*paths, **fields) -> quotes_pb2.Settings:
    return quotes_pb2.Settings(update_mask=field_mask_pb2.FieldMask(paths=list(paths)), **fields)


def configured(crm) -> quotes_pb2.Settings:
    crm.UpdateSettings(quotes_pb2.Settings(logo=png(), **FULL))
    return crm.GetSettings(quotes_pb2.GetSettingsRequest())


def without(settings: quotes_pb2.Settings, *names) -> dict:
    doc = {f.name: v for f, v in settings.ListFields()}
    return {k: v for k, v in doc.items() if k not in names}


def test_turning_e_signature_on_with_a_mask_keeps_the_rest_of_the_configuration(service):
    _, stub = service
    crm = stub("tenant-a")
    before = configured(crm)
    assert before.branding.logo_sha256 and before.default_validity_days == 45

    after = crm.UpdateSettings(masked("esignature_enabled", esignature_enabled=True))
    assert after.esignature_enabled
    assert without(after, "esignature_enabled") == without(before, "esignature_enabled")
    assert crm.GetSettings(quotes_pb2.GetSettingsRequest()) == after
    assert "8.5" in after.vat_rates


def test_a_mask_changes_each_named_field_and_only_it(service):
    _, stub = service
    crm = stub("tenant-a")
    before = configured(crm)
    # unnamed fields are neither read nor checked: a bad SIRET or a validity of 9999 left out change nothing
    after = crm.UpdateSettings(masked("company.name", "default_validity_days", "branding.color",
                                      company=common_pb2.Company(name="Dupré & Fils", siret="bad"),
                                      default_validity_days=60, default_terms="ignored",
                                      branding=common_pb2.Branding(color="#112233")))
    assert after.company == common_pb2.Company(name="Dupré & Fils", address=before.company.address,
                                               siret=before.company.siret, vat_number=before.company.vat_number)
    assert (after.default_validity_days, after.default_terms) == (60, before.default_terms)
    assert after.branding.color == "#112233" and after.branding.logo_sha256 == before.branding.logo_sha256

    after = crm.UpdateSettings(masked("company", "default_terms", "signature_otp", "extra_vat_rates",
                                      company=common_pb2.Company(name="Solo")))
    assert after.company == common_pb2.Company(name="Solo")  # the whole company: what is not given is cleared
    assert (after.default_terms, after.signature_otp, list(after.extra_vat_rates)) == ("", "", [])
    assert after.default_validity_days == 60 and not after.esignature_enabled

    after = crm.UpdateSettings(masked("logo"))  # named without an image: removed
    assert after.branding.logo_sha256 == "" and after.branding.color == "#112233"


def test_the_mask_is_checked_and_so_are_the_fields_it_names(service):
    _, stub = service
    crm = stub("tenant-a")
    before = configured(crm)
    for request, field in ((masked("company.nom"), "update_mask"), (masked(), "update_mask"),
                           (masked("esignature_enabled", logo=png()), "update_mask"),
                           (masked("esignature_enabled", remove_logo=True), "update_mask"),
                           (masked("company.siret", company=common_pb2.Company(siret="123")), "company.siret"),
                           (masked("default_validity_days", default_validity_days=5000), "default_validity_days"),
                           (masked("signature_otp", signature_otp="fax"), "signature_otp")):
        error = error_of(crm.UpdateSettings, request)
        assert error.code() == grpc.StatusCode.INVALID_ARGUMENT and field in violations(error), request
    assert crm.GetSettings(quotes_pb2.GetSettingsRequest()) == before


def test_without_a_mask_every_field_is_replaced_as_before(service):
    _, stub = service
    crm = stub("tenant-a")
    before = configured(crm)
    after = crm.UpdateSettings(quotes_pb2.Settings(esignature_enabled=True, extra_vat_rates=["8.5"]))
    assert after.esignature_enabled and list(after.extra_vat_rates) == ["8.5"]
    assert after.company == common_pb2.Company() and after.default_terms == "" and after.signature_otp == ""
    assert after.default_validity_days == 30 and after.branding.color == ""
    assert after.branding.logo_sha256 == before.branding.logo_sha256  # the logo stays unless asked


def test_an_extra_rate_still_used_by_a_product_or_a_draft_cannot_be_removed(service):
    _, stub = service
    crm = stub("tenant-a")
    directory(crm, extra_vat_rates=["8.5", "13"])
    crm.UpsertProduct(quotes_pb2.Product(id="p1", reference="CHAUD-85", label="Chaudière", unit_price="1000",
                                         vat_rate="8.50"))
    draft = create(crm, lines=[line(vat_rate="20")], optional_lines=[line(vat_rate="8.5")])
    sent = create(crm, lines=[line(vat_rate="8.5")])
    crm.SendQuote(quotes_pb2.SendQuoteRequest(quote_id=sent.id))  # a sent version is frozen: it never blocks

    for request in (masked("extra_vat_rates", extra_vat_rates=["13"]),
                    quotes_pb2.Settings(esignature_enabled=True, default_validity_days=30, extra_vat_rates=["13"]),
                    quotes_pb2.Settings(esignature_enabled=True)):  # the toggle alone, without a mask
        error = error_of(crm.UpdateSettings, request)
        assert error.code() == grpc.StatusCode.FAILED_PRECONDITION
        assert "8.5" in error.details() and "'CHAUD-85'" in error.details() and draft.number in error.details()
        assert sent.number not in error.details() and "update_mask" in error.details()
    settings = crm.GetSettings(quotes_pb2.GetSettingsRequest())
    assert list(settings.extra_vat_rates) == ["8.5", "13"]
    # the catalogue product still makes quotes
    assert create(crm, lines=[common_pb2.QuoteLine(product_ref="CHAUD-85")]).totals.total_ttc == "1085.00"

    crm.UpdateSettings(masked("extra_vat_rates", extra_vat_rates=["8.5"]))  # 13 was used by nobody
    crm.UpsertProduct(quotes_pb2.Product(id="p1", reference="CHAUD-85", label="Chaudière", unit_price="1000",
                                         vat_rate="10"))
    error = error_of(crm.UpdateSettings, masked("extra_vat_rates"))
    assert draft.number in error.details() and "CHAUD-85" not in error.details()
    for quote in crm.ListQuotes(quotes_pb2.ListQuotesRequest(status="Brouillon")).quotes:
        crm.UpdateQuote(quotes_pb2.UpdateQuoteRequest(
            quote_id=quote.id, lines=[line(vat_rate="20")], optional_lines=[],
            update_mask=field_mask_pb2.FieldMask(paths=["lines", "optional_lines"])))
    assert list(crm.UpdateSettings(masked("extra_vat_rates")).extra_vat_rates) == []
