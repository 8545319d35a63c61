"""RFC 3161 timestamps from a timestamp authority (a local one, served over HTTP on 127.0.0.1)."""
import hashlib
import threading
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from io import BytesIO

import pytest
from asn1crypto import keys as asn1_keys, tsp, x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.timestamps.dummy_client import DummyTimeStamper
from pyhanko.sign.validation import validate_pdf_signature
from pyhanko_certvalidator import ValidationContext

from quoteflow.v1 import signature_pb2
from services.signature.adapters.seal import _off_any_loop
from services.signature.bootstrap import bootstrap
from services.signature.domain import commands
from tests.integration.signature.support import AUTH, make_config, outbox, sign_request


def tsa_identity():
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Horodatage de test"),
                      x509.NameAttribute(NameOID.ORGANIZATION_NAME, "TSA locale")])
    now = datetime.now(timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - timedelta(hours=1))
            .not_valid_after(now + timedelta(days=30))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=True, key_cert_sign=True,
                                         crl_sign=False, key_encipherment=False, data_encipherment=False,
                                         key_agreement=False, encipher_only=False, decipher_only=False),
                           critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.TIME_STAMPING]), critical=True)
            .sign(key, hashes.SHA256()))
    der_key = key.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
    return cert, asn1_x509.Certificate.load(cert.public_bytes(serialization.Encoding.DER)), \
        asn1_keys.PrivateKeyInfo.load(der_key)


@pytest.fixture(scope="module")
def tsa(tmp_path_factory):
    """(url, trust PEM path, list of requests seen): pyHanko's DummyTimeStamper answering over HTTP."""
    cert, asn1_cert, asn1_key = tsa_identity()
    stamper = DummyTimeStamper(tsa_cert=asn1_cert, tsa_key=asn1_key)
    seen = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            body = self.rfile.read(int(self.headers["Content-Length"]))
            seen.append(self.headers.get("Content-Type"))
            reply = stamper.request_tsa_response(tsp.TimeStampReq.load(body)).dump()
            self.send_response(200)
            self.send_header("Content-Type", "application/timestamp-reply")
            self.send_header("Content-Length", str(len(reply)))
            self.end_headers()
            self.wfile.write(reply)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    trust = tmp_path_factory.mktemp("tsa") / "tsa.pem"
    trust.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    yield f"http://127.0.0.1:{server.server_address[1]}/tsa", trust, seen, asn1_cert
    server.shutdown()
    server.server_close()


@pytest.fixture
def cfg(tmp_path, tsa):
    url, trust, _, _ = tsa
    return make_config(tmp_path, tsa_url=url, tsa_trust_file=trust)


def token_of(pdf: bytes):
    sig = PdfFileReader(BytesIO(pdf), strict=False).embedded_signatures[-1]
    attrs = sig.signer_info["unsigned_attrs"]
    [attr] = [a for a in attrs if a["type"].native == "signature_time_stamp_token"]
    return sig, attr["values"][0]


def test_each_seal_carries_a_timestamp_token_that_validates(app, grpc_stub, blobs, send, tsa):
    _, _, seen, tsa_cert = tsa
    before = len(seen)
    response = grpc_stub.Sign(sign_request(send()), metadata=AUTH)
    # The signed PDF and the proof PDF (pyHanko also asks once per stamper to size the signature).
    assert len(seen) - before >= 2 and set(seen) == {"application/timestamp-query"}

    for sha in (response.signed_pdf_sha256, response.proof_sha256):
        pdf = blobs.get(sha)
        sig, token = token_of(pdf)
        tst_info = token["content"]["encap_content_info"]["content"].parsed
        assert tst_info["message_imprint"]["hashed_message"].native == \
            hashlib.sha256(sig.signer_info["signature"].native).digest()
        status = _off_any_loop(  # pyHanko's sync API, wherever this test runs
            validate_pdf_signature, sig, signer_validation_context=ValidationContext(trust_roots=[app.dependencies["sealer"].certificate]),
            ts_validation_context=ValidationContext(trust_roots=[tsa_cert]))
        assert status.bottom_line and status.timestamp_validity.intact and status.timestamp_validity.trusted
        verdict = app.dependencies["sealer"].verify_pdf(pdf)
        assert verdict.intact and verdict.timestamped_at is not None and verdict.timestamp_trusted
        assert abs((verdict.timestamped_at - datetime.now(timezone.utc)).total_seconds()) < 120

    checked = grpc_stub.Verify(signature_pb2.VerifyRequest(pdf=blobs.get(response.signed_pdf_sha256),
                                                           tenant_id="x"), metadata=AUTH)
    assert checked.intact and checked.timestamped_at and checked.signed_at == checked.timestamped_at


def test_a_changed_timestamp_token_reads_as_altered(app, grpc_stub, blobs, send):
    response = grpc_stub.Sign(sign_request(send()), metadata=AUTH)
    pdf = blobs.get(response.signed_pdf_sha256)
    sig, token = token_of(pdf)
    raw = bytes(sig.pkcs7_content)
    token_der = token.dump()
    offset = raw.index(token_der) + len(token_der) - 12   # inside the authority's own signature
    hex_start = int(sig.byte_range[1]) + 1                # after the "<" that opens /Contents
    position = hex_start + 2 * offset
    changed = bytearray(pdf)
    changed[position] = ord("0") if changed[position] != ord("0") else ord("1")
    verdict = app.dependencies["sealer"].verify_pdf(bytes(changed))
    assert not verdict.intact and verdict.problem == "the timestamp token was changed", verdict.problem


def test_without_a_reachable_authority_nothing_is_signed(cfg, clock, send):
    down = bootstrap(replace(cfg, tsa_url="http://127.0.0.1:9/unreachable", tsa_timeout=2), clock=clock)
    try:
        sent = send()
        p = sent.payload()
        with pytest.raises(OSError):
            down.handle(commands.Sign(tenant=sent.tenant, quote_id=p.quote_id, version=p.version,
                                      document_sha256=p.pdf_sha256, signer_name="Zoë Lœwy", consent=True))
        assert outbox(down, "signature.completed") == []
        with down.uow() as uow:
            assert uow.requests.latest(sent.tenant, p.quote_id).status == "open"
    finally:
        down.engine.dispose()
