"""What a quote accepts must print as typed: text its PDF's fonts cannot print is refused where it is typed."""
import grpc
import pytest
from google.protobuf import field_mask_pb2

from quoteflow.v1 import common_pb2, quotes_pb2
from tests.integration.quotes.support import create, directory, error_of, line, violations

# DejaVu Sans and Symbola have no Han ideograph; Devanagari needs shaping done here by no one; U+E000 is
# private use, U+0378 unassigned.
UNPRINTABLE = [("Écran 中", "U+4E2D '中'"), ("नमस्ते", "U+0928 'न'"), ("logo \ue000", "U+E000"),
               ("a\u0378b", "U+0378")]
PRINTABLE = ["Cœur de réseau — été", "مرحبا بكم في شركتنا", "שָׁלוֹם עולם", "Réf. 12 — مرحبا",
             "Livraison 🚚 rapide 👍 ❤️ ✓"]


def test_lines_in_every_script_the_pdf_prints_are_accepted_as_typed(service):
    _, stub = service
    crm = stub("tenant-a")
    directory(crm)
    quote = create(crm, title="Devis — عرض سعر ✓", lines=[line(description=text) for text in PRINTABLE])
    assert [item.description for item in quote.lines] == PRINTABLE
    assert quote.title == "Devis — عرض سعر ✓"


@pytest.mark.parametrize("text,character", UNPRINTABLE)
def test_a_character_no_font_prints_is_refused_with_its_line_and_field_named(service, text, character):
    _, stub = service
    crm = stub("tenant-a")
    directory(crm)
    error = error_of(create, crm, lines=[line(), line(), line(description=text)])
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert violations(error) == {"lines[2].description": f"{character} cannot be printed in the PDF"
                                 + (" (no font has it)" if character.startswith("U+4E2D") else "")}


def test_update_quote_settings_and_directory_refuse_what_the_pdf_cannot_print(service):
    _, stub = service
    crm = stub("tenant-a")
    directory(crm)
    quote = create(crm)
    mask = field_mask_pb2.FieldMask
    refused = {
        "title": lambda: crm.UpdateQuote(quotes_pb2.UpdateQuoteRequest(
            quote_id=quote.id, title="Devis 中", update_mask=mask(paths=["title"]))),
        "optional_lines[0].unit": lambda: crm.UpdateQuote(quotes_pb2.UpdateQuoteRequest(
            quote_id=quote.id, optional_lines=[line(unit="中")], update_mask=mask(paths=["optional_lines"]))),
        "company.name": lambda: crm.UpdateSettings(quotes_pb2.Settings(
            company=common_pb2.Company(name="Société 中"), default_validity_days=30, esignature_enabled=True)),
        "name": lambda: crm.UpsertAccount(quotes_pb2.Account(id="acc", name="中 SARL")),
        "label": lambda: crm.UpsertProduct(quotes_pb2.Product(id="p", reference="R-1", label="Câble 中",
                                                              unit_price="1", vat_rate="20")),
    }
    for field, call in refused.items():
        error = error_of(call)
        assert error.code() == grpc.StatusCode.INVALID_ARGUMENT, field
        assert violations(error) == {field: "U+4E2D '中' cannot be printed in the PDF (no font has it)"}
    contact = crm.UpsertContact(quotes_pb2.Contact(id="ct3", account_id="acc", name="سارة 👍",
                                                   email="sara@example.fr"))
    assert contact.name == "سارة 👍"
