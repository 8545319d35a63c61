"""What was bought, in the evidence chain: the frozen lines' SHA-256 in the first entry, the lines in the proof
(JSON and PDF), and ``verify`` catching a changed line."""
import json
from io import BytesIO

import pytest
from pypdf import PdfReader
from sqlalchemy import select

from quoteflow.v1 import common_pb2, signature_pb2
from services.signature import verify_cli
from services.signature.adapters import orm
from services.signature.domain import evidence, purchase
from tests.integration.signature.support import AUTH, sign_request

LINES = (
    common_pb2.QuoteLine(description="Pompe à chaleur air/eau 12 kW", product_ref="PAC-12", quantity="1", unit="u",
                         unit_price="8500.00", discount_percent="5", vat_rate="5.5", total_ht="8075.00"),
    common_pb2.QuoteLine(description="Main-d'œuvre : pose et mise en service", quantity="12.5", unit="h",
                         unit_price="55.00", discount_percent="0", vat_rate="10", total_ht="687.50"),
)
OPTIONS = (common_pb2.QuoteLine(description="Contrat d'entretien annuel", quantity="1", unit="an",
                                unit_price="180.00", discount_percent="0", vat_rate="20", total_ht="180.00"),)
TOTALS = common_pb2.Totals(total_ht="8762.50", total_vat="512.88", total_ttc="9275.38", currency="EUR", vat=[
    common_pb2.VatAmount(rate="5.5", base_ht="8075.00", vat="444.13"),
    common_pb2.VatAmount(rate="10", base_ht="687.50", vat="68.75")])


def expected_lines() -> dict:
    def line(l):
        return {name: getattr(l, name) for name in purchase.LINE_FIELDS}

    return {"format": purchase.FORMAT, "currency": "EUR", "lines": [line(l) for l in LINES],
            "optional_lines": [line(l) for l in OPTIONS],
            "totals": {"total_ht": "8762.50", "total_vat": "512.88", "total_ttc": "9275.38",
                       "vat": [{"rate": "5.5", "base_ht": "8075.00", "vat": "444.13"},
                               {"rate": "10", "base_ht": "687.50", "vat": "68.75"}]}}


def signed_files(send, grpc_stub, blobs, tmp_path, **kw):
    sent = send(**kw)
    response = grpc_stub.Sign(sign_request(sent), metadata=AUTH)
    json_path, pdf_path = tmp_path / "Preuves.json", tmp_path / "Preuves.pdf"
    json_path.write_bytes(blobs.get(response.proof_json_sha256))
    pdf_path.write_bytes(blobs.get(response.proof_sha256))
    return sent, response, json_path, pdf_path


def verify(capsys, cfg, *paths) -> tuple[int, str]:
    code = verify_cli.main([*map(str, paths), "--cert", str(cfg.key_dir / "seal-cert.pem")])
    return code, capsys.readouterr().out


def test_the_frozen_lines_enter_the_chain_when_the_request_opens(app, grpc_stub, send, tenant):
    sent = send(lines=LINES, optional_lines=OPTIONS, totals=TOTALS)
    got = grpc_stub.GetRequest(signature_pb2.GetRequestRequest(tenant_id=tenant, quote_id=sent.payload().quote_id),
                               metadata=AUTH)
    first = json.loads(got.evidence[0].data_json)
    assert got.evidence[0].step == "sent"
    assert first["lines_sha256"] == purchase.lines_sha256(expected_lines())
    with app.engine.connect() as conn:
        stored = conn.execute(select(orm.requests.c.lines_json).where(orm.requests.c.id == got.request_id)).scalar()
    assert stored == purchase.canonical_text(expected_lines())


def test_the_proof_shows_the_lines_as_the_client_saw_them(send, grpc_stub, blobs, tmp_path):
    _, response, json_path, pdf_path = signed_files(send, grpc_stub, blobs, tmp_path, lines=LINES,
                                                    optional_lines=OPTIONS, totals=TOTALS)
    proof = json.loads(json_path.read_text())
    assert proof["purchase"] == {"lines": expected_lines(),
                                 "lines_sha256": purchase.lines_sha256(expected_lines())}
    text = "\n".join(page.extract_text() for page in PdfReader(BytesIO(pdf_path.read_bytes())).pages)
    plain = " ".join(text.replace("\u202f", " ").replace("\xa0", " ").split())
    for shown in ("Désignation", "Pompe à chaleur air/eau 12 kW (réf. PAC-12)", "Main-d'œuvre : pose et mise en "
                  "service", "12,5", "8 500,00 €", "5,5 %", "687,50 €", "Total TTC", "9 275,38 €", "444,13 €",
                  "Contrat d'entretien annuel", "non compris dans le total", proof["purchase"]["lines_sha256"]):
        assert shown in plain, shown


def test_verify_says_the_lines_match_the_chain(send, grpc_stub, blobs, tmp_path, capsys, cfg):
    *_, json_path, pdf_path = signed_files(send, grpc_stub, blobs, tmp_path, lines=LINES, optional_lines=OPTIONS,
                                           totals=TOTALS)
    code, out = verify(capsys, cfg, json_path, pdf_path)
    assert code == 0, out
    assert "lignes du devis : 2 ligne(s), total TTC 9275.38 EUR, conformes" in out


@pytest.mark.parametrize("field, value", [("quantity", "2"), ("unit_price", "85.00"),
                                          ("description", "Pompe à chaleur air/eau 16 kW")])
def test_verify_catches_a_changed_line_in_the_proof_json(send, grpc_stub, blobs, tmp_path, capsys, cfg, field,
                                                         value):
    *_, json_path, pdf_path = signed_files(send, grpc_stub, blobs, tmp_path, lines=LINES, optional_lines=OPTIONS,
                                           totals=TOTALS)
    proof = json.loads(json_path.read_text())
    proof["purchase"]["lines"]["lines"][0][field] = value
    json_path.write_text(json.dumps(proof, ensure_ascii=False, indent=2, sort_keys=True))

    intact, lines = verify_cli.check_json(json_path.read_bytes())  # even alone, without its proof PDF
    assert not intact and "quote lines were altered" in lines[0]
    code, out = verify(capsys, cfg, json_path, pdf_path)
    assert code == 1 and f"{json_path}: altered" in out
    assert "the proof's quote lines were altered" in out and "entry 1, lines_sha256" in out


def test_rewriting_the_chained_hash_too_breaks_the_chain(send, grpc_stub, blobs, tmp_path, capsys, cfg):
    *_, json_path, pdf_path = signed_files(send, grpc_stub, blobs, tmp_path, lines=LINES, totals=TOTALS)
    proof = json.loads(json_path.read_text())
    proof["purchase"]["lines"]["totals"]["total_ttc"] = "92.75"
    proof["evidence"][0]["data"]["lines_sha256"] = proof["purchase"]["lines_sha256"] = \
        purchase.lines_sha256(proof["purchase"]["lines"])
    json_path.write_text(json.dumps(proof, ensure_ascii=False))
    code, out = verify(capsys, cfg, json_path, pdf_path)
    assert code == 1 and "entry 1 (sent) was modified" in out


def test_a_request_opened_before_lines_were_chained_still_verifies_and_says_so(send, grpc_stub, blobs, tmp_path,
                                                                               capsys, cfg):
    *_, json_path, pdf_path = signed_files(send, grpc_stub, blobs, tmp_path)  # a quote.sent without lines
    proof = json.loads(json_path.read_text())
    assert proof["purchase"] == {"lines": None, "lines_sha256": ""}
    assert "lines_sha256" not in proof["evidence"][0]["data"]
    code, out = verify(capsys, cfg, json_path, pdf_path)
    assert code == 0 and "lignes du devis : non inscrites (demande ouverte avant leur inscription" in out
    text = " ".join("\n".join(p.extract_text() for p in PdfReader(BytesIO(pdf_path.read_bytes())).pages).split())
    assert "ouverte avant que les lignes du devis n'entrent dans la chaîne de preuve" in text

    proof["purchase"]["lines"] = expected_lines()  # lines slipped into an old proof are not believed
    json_path.write_text(json.dumps(proof, ensure_ascii=False))
    code, out = verify(capsys, cfg, json_path, pdf_path)
    assert code == 1 and "its evidence chain holds no lines_sha256" in out


def rechained(proof: dict) -> dict:
    """``proof`` with every entry's hash and link recomputed, as a forger who rewrote an entry would."""
    previous = evidence.GENESIS
    for entry in proof["evidence"]:
        entry["prev_sha256"] = previous
        entry["sha256"] = previous = evidence.entry_sha256(
            entry["seq"], entry["at"], entry["step"], entry["ip"], entry["user_agent"], entry["data"], previous)
    proof["evidence_sha256"] = previous
    return proof


def test_given_the_signed_pdf_verify_finds_the_chained_quote_as_its_first_revision(
        send, grpc_stub, blobs, tmp_path, capsys, cfg):
    _, response, json_path, pdf_path = signed_files(send, grpc_stub, blobs, tmp_path, lines=LINES, totals=TOTALS)
    signed_path = tmp_path / "Devis-signe.pdf"
    signed_path.write_bytes(blobs.get(response.signed_pdf_sha256))
    code, out = verify(capsys, cfg, json_path, pdf_path, signed_path)
    assert code == 0, out
    assert f"devis envoyé : première révision du PDF signé {signed_path}" in out

    forged = json.loads(json_path.read_text())
    forged["evidence"][0]["data"]["document_sha256"] = "0" * 64
    json_path.write_text(json.dumps(rechained(forged), ensure_ascii=False))
    code, out = verify(capsys, cfg, json_path, signed_path)
    assert code == 1 and f"{json_path}: altered" in out
    assert "n'est pas le devis envoyé inscrit à l'entrée 1 de la chaîne" in out
