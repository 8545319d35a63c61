import hashlib
import re
import stat
from datetime import datetime, timezone
from io import BytesIO

import pytest
from pypdf import PdfReader

from services.signature.adapters.keys import CERT_FILE, KEY_FILE
from services.signature.adapters.seal import PdfSealer, verify_pdf
from services.signature.domain.model import SealDetails

AT = datetime(2026, 11, 29, 14, 5, 9, tzinfo=timezone.utc)


@pytest.fixture
def sealer(tmp_path):
    return PdfSealer(tmp_path / "keys")


@pytest.fixture
def original():
    from reportlab.pdfgen import canvas

    buf = BytesIO()
    page = canvas.Canvas(buf)
    page.drawString(72, 760, "Devis DV-2026-00042 — total 1 234,56 € TTC")
    page.showPage()
    page.save()
    return buf.getvalue()


def details(original: bytes) -> SealDetails:
    return SealDetails(signer_name="Zoë Lœwy (Société « Œuvre »)", signer_email="zoe@client.fr", signed_at=AT,
                       reference="5f0c7a8e-request", number="DV-2026-00042", version=2,
                       document_sha256=hashlib.sha256(original).hexdigest(),
                       consent_text="En signant, j'accepte le devis n° DV-2026-00042 d'un montant de "
                                    "1\u202f234,56\xa0€ TTC.")


@pytest.fixture
def sealed(sealer, original):
    return sealer.seal(original, details(original))


def test_sealed_pdf_verifies_intact_and_keeps_the_original_as_first_revision(sealer, original, sealed):
    result = sealer.verify_pdf(sealed)
    assert result.intact, result.problem
    assert result.signer == "Zoë Lœwy (Société « Œuvre »)"
    assert abs((result.signed_at - AT).total_seconds()) < 24 * 3600
    assert sealed.startswith(original)
    assert b"/ETSI.CAdES.detached" in sealed


def test_the_signature_page_shows_signer_date_and_reference(sealed):
    reader = PdfReader(BytesIO(sealed))
    assert len(reader.pages) == 2
    text = reader.pages[-1].extract_text()
    assert "Zoë Lœwy (Société « Œuvre »)" in text
    assert "29 novembre 2026 à 15:05:09" in text
    assert "5f0c7a8e-request" in text
    assert "1 234,56 € TTC" in text.replace("\u202f", " ").replace("\xa0", " ")


@pytest.mark.parametrize("where", ["first", "middle", "signature", "last"])
def test_one_flipped_byte_reads_as_altered(sealer, sealed, where):
    match = re.search(rb"/ByteRange\s*\[\s*(\d+)\s+(\d+)\s+(\d+)\s+(\d+)", sealed)
    gap_start, gap_end = int(match.group(2)), int(match.group(3))
    position = {"first": 50, "middle": len(sealed) // 3, "signature": gap_start + 200,
                "last": len(sealed) - 10}[where]
    tampered = bytearray(sealed)
    tampered[position] ^= 0x01
    result = sealer.verify_pdf(bytes(tampered))
    assert not result.intact, (where, position, gap_start, gap_end)


def test_appending_content_or_another_key_reads_as_altered(sealer, sealed, tmp_path, original):
    assert not sealer.verify_pdf(sealed + b"\n% added later\n").intact
    stranger = PdfSealer(tmp_path / "other-keys")
    assert not verify_pdf(stranger.seal(original, details(original)), [sealer.certificate]).intact
    assert not sealer.verify_pdf(original).intact
    assert not sealer.verify_pdf(b"not a pdf").intact


def test_key_is_made_once_private_and_reused(tmp_path):
    first = PdfSealer(tmp_path / "keys")
    for name in (KEY_FILE, CERT_FILE):
        assert stat.S_IMODE((tmp_path / "keys" / name).stat().st_mode) == 0o600
    assert b"PRIVATE KEY" in (tmp_path / "keys" / KEY_FILE).read_bytes()
    again = PdfSealer(tmp_path / "keys")
    assert again.certificate_sha256 == first.certificate_sha256


def test_a_configured_key_is_used_instead_of_making_one(tmp_path, original, monkeypatch):
    from cryptography.hazmat.primitives import serialization
    from pyhanko.keys import load_private_key_from_pemder

    from quoteflow.config import ConfigError
    from services.signature.bootstrap import make_sealer
    from services.signature.config import Config

    own = PdfSealer(tmp_path / "issued")  # stands for a key and certificate issued elsewhere
    key = load_private_key_from_pemder(str(own.key_path), passphrase=None)
    protected = tmp_path / "issued" / "protected-key.pem"
    protected.write_bytes(serialization.load_der_private_key(key.dump(), None).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(b"phrase secr\xc3\xa8te")))
    monkeypatch.setenv("QUOTEFLOW_VAR", str(tmp_path / "var"))
    monkeypatch.setenv("SIGNATURE_KEY_FILE", str(protected))
    monkeypatch.setenv("SIGNATURE_CERT_FILE", str(own.cert_path))
    monkeypatch.setenv("SIGNATURE_KEY_PASSPHRASE", "phrase secrète")
    configured = make_sealer(Config.from_env())
    assert configured.certificate_sha256 == own.certificate_sha256
    assert not (tmp_path / "var" / "signature" / KEY_FILE).exists()
    assert own.verify_pdf(configured.seal(original, details(original))).intact

    monkeypatch.delenv("SIGNATURE_CERT_FILE")
    with pytest.raises(ConfigError, match="SIGNATURE_CERT_FILE"):
        Config.from_env()


def test_sealing_and_checking_work_on_a_thread_whose_event_loop_is_running(sealer, original):
    """Hosts such as Playwright's sync API keep a loop running on the main thread; pyHanko's asyncio.run() cannot."""
    import asyncio
    from concurrent.futures import ThreadPoolExecutor

    async def inside_a_loop():
        sealed = sealer.seal(original, details(original))
        return sealer.verify_pdf(sealed)

    with ThreadPoolExecutor(max_workers=1) as pool:  # a thread of its own, whatever runs on this one
        assert pool.submit(asyncio.run, inside_a_loop()).result().intact
