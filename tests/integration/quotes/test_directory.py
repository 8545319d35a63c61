"""Directory sync over gRPC: deals, products, equipment (parc matériel), each scoped to its tenant."""
import grpc

from quoteflow.v1 import quotes_pb2
from tests.integration.quotes.support import create, directory, error_of, violations


def catalogue(crm):
    crm.UpsertProduct(quotes_pb2.Product(id="p1", reference="SW-24", label="Commutateur 24 ports PoE",
                                         unit_price="389.90", vat_rate="20", unit="u"))
    crm.UpsertProduct(quotes_pb2.Product(id="p2", reference="FORM", label="Formation (½ journée)",
                                         unit_price="450", vat_rate="10", unit="forfait"))


def test_deals_products_and_equipment_sync_and_the_account_equipment_is_listed(service):
    _, stub = service
    crm = stub("tenant-a")
    directory(crm)
    catalogue(crm)
    deal = crm.UpsertDeal(quotes_pb2.Deal(id="d1", account_id="acc", contact_id="ct", assignee_id="u",
                                          title="Rénovation du réseau"))
    assert (deal.account_id, deal.contact_id, deal.assignee_id) == ("acc", "ct", "u")
    item = crm.UpsertEquipment(quotes_pb2.Equipment(id="e1", account_id="acc", product_id="p1",
                                                    serial_number="SN-0001", install_date="2024-03-01",
                                                    warranty_end="2027-02-28"))
    assert item.product_reference == "SW-24" and item.product_label == "Commutateur 24 ports PoE"
    crm.UpsertEquipment(quotes_pb2.Equipment(id="e2", account_id="acc", product_id="p2", install_date="2025-01-10"))
    crm.UpsertEquipment(quotes_pb2.Equipment(id="e3", account_id="other", product_id="p1"))

    listed = crm.ListEquipment(quotes_pb2.ListEquipmentRequest(account_id="acc")).equipment
    assert [e.id for e in listed] == ["e2", "e1"]  # most recent installation first
    assert listed[1].serial_number == "SN-0001" and listed[1].warranty_end == "2027-02-28"
    quote = create(crm)  # "Consulter le parc matériel" from the quote
    assert [e.id for e in crm.ListEquipment(quotes_pb2.ListEquipmentRequest(quote_id=quote.id)).equipment] == \
        ["e2", "e1"]

    # an upsert replaces
    crm.UpsertProduct(quotes_pb2.Product(id="p1", reference="SW-24", label="Commutateur 24 ports PoE+",
                                         unit_price="399.00", vat_rate="20"))
    crm.UpsertEquipment(quotes_pb2.Equipment(id="e1", account_id="acc", product_id="p1", serial_number="SN-0002"))
    listed = {e.id: e for e in crm.ListEquipment(quotes_pb2.ListEquipmentRequest(account_id="acc")).equipment}
    assert listed["e1"].serial_number == "SN-0002" and listed["e1"].product_label.endswith("PoE+")
    assert listed["e1"].install_date == ""


def test_directory_input_is_checked_field_by_field(service):
    _, stub = service
    crm = stub("tenant-a")
    directory(crm)
    catalogue(crm)
    cases = [
        (crm.UpsertProduct, quotes_pb2.Product(id="p3", reference="SW-24", label="Doublon", unit_price="1",
                                               vat_rate="20"), "reference"),
        (crm.UpsertProduct, quotes_pb2.Product(id="p3", reference="R", label="L", unit_price="1.234",
                                               vat_rate="19.6"), "unit_price"),
        (crm.UpsertProduct, quotes_pb2.Product(id="p3", reference="R", label="L", unit_price="1",
                                               vat_rate="19.6"), "vat_rate"),
        (crm.UpsertProduct, quotes_pb2.Product(id="", reference="", label="", unit_price="x", vat_rate="20"),
         "id"),
        (crm.UpsertEquipment, quotes_pb2.Equipment(id="e", account_id="acc", product_id="p1",
                                                   install_date="2025-05-01", warranty_end="2024-05-01"),
         "warranty_end"),
        (crm.UpsertEquipment, quotes_pb2.Equipment(id="e", account_id="acc", product_id="p1",
                                                   install_date="01/05/2025"), "install_date"),
        (crm.UpsertDeal, quotes_pb2.Deal(id="d", account_id="acc", contact_id="stranger", title="T"), "contact_id"),
        (crm.UpsertDeal, quotes_pb2.Deal(id="d", account_id="acc", title=""), "title"),
        (crm.UpsertContact, quotes_pb2.Contact(id="c", account_id="acc", name="N", email="n@example.fr",
                                               phone="appelez-moi"), "phone"),
        (crm.UpsertAccount, quotes_pb2.Account(id="a\x00", name="N"), "id"),
        (crm.UpsertUser, quotes_pb2.User(id="x" * 65, name="N", email="n@example.fr"), "id"),
    ]
    for call, request, field in cases:
        error = error_of(call, request)
        assert error.code() == grpc.StatusCode.INVALID_ARGUMENT, (request, error.details())
        assert field in violations(error), (request, violations(error))
    for call, request in [
        (crm.UpsertEquipment, quotes_pb2.Equipment(id="e", account_id="acc", product_id="nope")),
        (crm.UpsertEquipment, quotes_pb2.Equipment(id="e", account_id="nope", product_id="p1")),
        (crm.UpsertDeal, quotes_pb2.Deal(id="d", account_id="nope", title="T")),
        (crm.UpsertDeal, quotes_pb2.Deal(id="d", account_id="acc", assignee_id="nope", title="T")),
        (crm.ListEquipment, quotes_pb2.ListEquipmentRequest(account_id="nope")),
    ]:
        assert error_of(call, request).code() == grpc.StatusCode.NOT_FOUND, request
    assert "vat_rate" in violations(error_of(crm.UpsertProduct, quotes_pb2.Product(
        id="p9", reference="R9", label="DOM", unit_price="10", vat_rate="8.5")))
    crm.UpdateSettings(quotes_pb2.Settings(default_validity_days=30, extra_vat_rates=["8.5"]))
    assert crm.UpsertProduct(quotes_pb2.Product(id="p9", reference="R9", label="DOM", unit_price="10",
                                                vat_rate="8.5")).vat_rate == "8.5"


def test_another_tenants_directory_is_invisible(service):
    _, stub = service
    a, b = stub("tenant-a"), stub("tenant-b")
    directory(a)
    catalogue(a)
    a.UpsertDeal(quotes_pb2.Deal(id="d1", account_id="acc", title="Affaire A"))
    a.UpsertEquipment(quotes_pb2.Equipment(id="e1", account_id="acc", product_id="p1"))
    quote = create(a)
    for call, request in [
        (b.ListEquipment, quotes_pb2.ListEquipmentRequest(account_id="acc")),
        (b.ListEquipment, quotes_pb2.ListEquipmentRequest(quote_id=quote.id)),
        (b.UpsertEquipment, quotes_pb2.Equipment(id="e1", account_id="acc", product_id="p1")),
        (b.UpsertDeal, quotes_pb2.Deal(id="d1", account_id="acc", title="Affaire B")),
        (b.UpsertContact, quotes_pb2.Contact(id="ct", account_id="acc", name="B", email="b@example.fr")),
        (b.CreateQuote, quotes_pb2.CreateQuoteRequest(deal_id="d1", assignee_id="u")),
    ]:
        assert error_of(call, request).code() == grpc.StatusCode.NOT_FOUND, request
    # the same ids in tenant b are b's own objects
    b.UpsertAccount(quotes_pb2.Account(id="acc", name="Compte de B"))
    b.UpsertProduct(quotes_pb2.Product(id="p1", reference="SW-24", label="Produit de B", unit_price="1",
                                       vat_rate="20"))
    b.UpsertEquipment(quotes_pb2.Equipment(id="e1", account_id="acc", product_id="p1"))
    assert [e.product_label for e in b.ListEquipment(quotes_pb2.ListEquipmentRequest(account_id="acc")).equipment] \
        == ["Produit de B"]
    assert [e.product_label for e in a.ListEquipment(quotes_pb2.ListEquipmentRequest(account_id="acc")).equipment] \
        == ["Commutateur 24 ports PoE"]
