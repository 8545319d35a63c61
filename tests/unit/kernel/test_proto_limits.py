"""Every limit a validator enforces is written beside its field in proto/: the comments are read from the
descriptors protoc makes (with source info) and compared with the constants and checks of the code."""
import subprocess
import sys
from dataclasses import fields as dataclass_fields
from pathlib import Path

import pytest
from google.protobuf import descriptor_pb2

from quoteflow.decimals import MAX_DECIMAL_CHARS
from quoteflow.errors import InvalidArgument
from quoteflow.ids import ID_MAX
from quoteflow.typeset import font_chain
from services.notifier.adapters.templates import MAX_PART
from services.quotes import handlers
from services.quotes.domain import commands, files, model
from services.signature.adapters import images
from services.signature.domain import model as signature

ROOT = Path(__file__).resolve().parents[3]
TOO_LONG = "x" * 100_000


@pytest.fixture(scope="module")
def comments(tmp_path_factory) -> dict[str, str]:
    """'quotes.proto:Product.unit_price' (a field), 'quotes.proto:Product' (a message or service) -> its
    leading, trailing and detached comments."""
    out = tmp_path_factory.mktemp("descriptors") / "set.pb"
    protos = sorted(str(p.relative_to(ROOT / "proto")) for p in (ROOT / "proto").rglob("*.proto"))
    subprocess.run([sys.executable, "-m", "grpc_tools.protoc", "-I", "proto", "--include_source_info",
                    f"--descriptor_set_out={out}", *protos], cwd=ROOT, check=True)
    found = {}
    for file in descriptor_pb2.FileDescriptorSet.FromString(out.read_bytes()).file:
        names = {}
        for i, message in enumerate(file.message_type):
            names[(4, i)] = message.name
            names.update({(4, i, 2, j): f"{message.name}.{f.name}" for j, f in enumerate(message.field)})
        names.update({(6, i): service.name for i, service in enumerate(file.service)})
        for location in file.source_code_info.location:
            name = names.get(tuple(location.path))
            if name:
                text = " ".join([*location.leading_detached_comments, location.leading_comments,
                                 location.trailing_comments])
                found[f"{Path(file.name).name}:{name}"] = " ".join(text.split())
    return found


DECIMAL_RULES = [
    ("common.proto:QuoteLine.quantity", model.QUANTITY), ("common.proto:QuoteLine.unit_price", model.UNIT_PRICE),
    ("common.proto:QuoteLine.discount_percent", model.DISCOUNT_PERCENT),
    ("quotes.proto:Product.unit_price", model.UNIT_PRICE), ("quotes.proto:Settings.extra_vat_rates", model.VAT_RATE),
]


@pytest.mark.parametrize("where, rule", DECIMAL_RULES, ids=[w for w, _ in DECIMAL_RULES])
def test_each_number_states_its_places_range_and_what_empty_means(comments, where, rule):
    said = comments[where]
    assert f'"{rule.minimum}"' in said and f'"{rule.maximum}"' in said, said
    assert f"at most {rule.places} decimal places" in said, said
    if rule.default is not None:
        assert f'"" = "{rule.default}"' in said, said
    else:
        assert "required" in said or where.endswith("extra_vat_rates"), said


CONSTANTS = [
    ("common.proto:QuoteLine", f"at most {MAX_DECIMAL_CHARS} characters"),
    ("quotes.proto:QuoteService", f"1 to {ID_MAX} printable characters"),
    ("quotes.proto:CreateQuoteRequest.lines", f"at most {model.MAX_LINES}"),
    ("quotes.proto:UpdateQuoteRequest.lines", f"at most {model.MAX_LINES}"),
    ("quotes.proto:CreateQuoteRequest.optional_lines", f"at most {model.MAX_OPTIONAL_LINES}"),
    ("quotes.proto:UpdateQuoteRequest.optional_lines", f"at most {model.MAX_OPTIONAL_LINES}"),
    ("quotes.proto:Settings.extra_vat_rates", f"at most {model.MAX_EXTRA_VAT_RATES},"),
    ("quotes.proto:Settings.logo", f"{files.MAX_LOGO_BYTES} bytes"),
    ("quotes.proto:AddDocumentRequest.content", f"{files.MAX_DOCUMENT_BYTES} bytes"),
    ("quotes.proto:AddDocumentRequest", f"{files.MAX_DOCUMENTS} documents per quote"),
    ("signature.proto:SignRequest.signer_name", f"at most {signature.MAX_NAME} characters"),
    ("signature.proto:SignRequest.otp_code", f"{signature.CODE_DIGITS} digits"),
    ("signature.proto:SignRequest.signature_png", f"at most {images.MAX_BYTES // 1024} KiB, "
                                                  f"{images.MIN_SIDE} to {images.MAX_SIDE} pixels a side, "
                                                  f"{images.MAX_PIXELS} pixels in all"),
    ("signature.proto:DeclineRequest.reason", f"at most {signature.MAX_REASON} characters"),
    ("notifier.proto:TemplateContent", f"at most {MAX_PART} characters"),
    ("notifier.proto:TemplateContent", f"1 to {ID_MAX} printable characters"),
]


@pytest.mark.parametrize("where, phrase", CONSTANTS, ids=[w for w, _ in CONSTANTS])
def test_each_limit_constant_is_stated_beside_its_field(comments, where, phrase):
    assert phrase in comments[where], comments[where]


def _violations(call) -> dict[str, str]:
    try:
        call()
    except InvalidArgument as error:
        return error.violations
    except (AttributeError, TypeError):  # reached the unit of work: nothing refused the field before it
        return {}
    return {}


def _str_fields(command) -> list[str]:
    return [f.name for f in dataclass_fields(command) if f.type == "str" and f.name != "tenant"]


PRINTABLE = font_chain()  # the PDFs' rule, as bootstrap gives it to the handlers

# (handler run without a unit of work: each checks its fields before it opens one, the command, its message)
PROBES = [
    (lambda cmd: handlers.upsert_account(cmd, None, PRINTABLE), commands.UpsertAccount, "quotes.proto:Account"),
    (lambda cmd: handlers.upsert_contact(cmd, None, PRINTABLE), commands.UpsertContact, "quotes.proto:Contact"),
    (lambda cmd: handlers.upsert_user(cmd, None, None, PRINTABLE), commands.UpsertUser, "quotes.proto:User"),
    (lambda cmd: handlers.upsert_deal(cmd, None, PRINTABLE), commands.UpsertDeal, "quotes.proto:Deal"),
    (lambda cmd: handlers.upsert_product(cmd, None, PRINTABLE), commands.UpsertProduct, "quotes.proto:Product"),
    (lambda cmd: handlers.upsert_equipment(cmd, None), commands.UpsertEquipment, "quotes.proto:Equipment"),
    (lambda cmd: handlers.create_quote(cmd, None, None, PRINTABLE), commands.CreateQuote, "quotes.proto:CreateQuoteRequest"),
    (lambda cmd: handlers.send_quote(cmd, None, None, None, None, ""), commands.SendQuote,
     "quotes.proto:SendQuoteRequest"),
    (lambda cmd: handlers.create_task(cmd, None, None), commands.CreateTask, "quotes.proto:CreateTaskRequest"),
    (lambda q: handlers.list_quotes(q, None), model.ListQuery, "quotes.proto:ListQuotesRequest"),
    (lambda line: model.Line.parse(0, **vars(line)), commands.LineInput, "common.proto:QuoteLine"),
]
SETTINGS = {"company_name": ("common.proto:Company.name", "company.name"),
            "company_address": ("common.proto:Company.address", "company.address"),
            "siret": ("common.proto:Company.siret", "company.siret"),
            "vat_number": ("common.proto:Company.vat_number", "company.vat_number"),
            "default_terms": ("quotes.proto:Settings.default_terms", "default_terms")}


def _probed_lengths():
    """(where the limit should be written, the field as the code names it, N of 'at most N characters')."""
    for call, command, message in PROBES:
        base = {f.name: "t" if f.name == "tenant" else "" for f in dataclass_fields(command) if f.type == "str"}
        for name in _str_fields(command):
            found = _violations(lambda: call(command(**base | {name: TOO_LONG})))
            yield f"{message}.{name}", name, found.get(name) or found.get(f"lines[0].{name}", "")
    for name, (where, field) in SETTINGS.items():
        cmd = commands.UpdateSettings(tenant="t", esignature_enabled=False, **{name: TOO_LONG})
        yield where, name, _violations(lambda: handlers.update_settings(cmd, None, None, None, PRINTABLE)).get(field, "")


def test_every_text_length_the_code_enforces_is_stated_beside_its_field(comments):
    stated = 0
    for where, name, why in _probed_lengths():
        if not why.startswith("at most ") or not why.endswith(" characters"):
            continue
        said = comments.get(where, "")
        if why in said:
            stated += 1
        elif name == "id" or name.endswith("_id"):
            assert why == f"at most {ID_MAX} characters"  # the ids' rule, stated once for the service
        elif why == f"at most {MAX_DECIMAL_CHARS} characters":  # a number: the wire form's rule, in common.proto
            assert "decimal places" in said or "one of the tenant's rates" in said, where
        else:
            pytest.fail(f"{where}: the code says {why!r}; the proto says {said!r}")
    assert stated >= 25  # the probe reached the checks (a change that skipped them would show here)
