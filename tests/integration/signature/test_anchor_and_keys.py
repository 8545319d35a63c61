"""A JSON proof is vouched for only by its sealed proof PDF; a seal key change or loss never turns earlier
signed PDFs into "altered" ones; a lost key is not remade once quotes are signed."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from services.signature.adapters import keys
from services.signature.adapters.seal import PdfSealer, verify_pdf
from services.signature.bootstrap import bootstrap
from services.signature.domain.evidence import GENESIS, entry_sha256
from tests.integration.signature.support import AUTH, quote_pdf, sign_request
from tests.support.children import pythonpath

ROOT = Path(__file__).resolve().parents[3]


def run_verify(*args, env=None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "services.signature", "verify", *map(str, args)], cwd=ROOT,
                          env={**os.environ, "PYTHONPATH": pythonpath(ROOT), **(env or {})}, capture_output=True,
                          text=True, timeout=120)


@pytest.fixture
def signed(grpc_stub, send, blobs):
    """The three files a signature leaves, as the client downloads them: (signed PDF, proof PDF, proof JSON)."""
    response = grpc_stub.Sign(sign_request(send()), metadata=AUTH)
    return tuple(blobs.get(sha) for sha in (response.signed_pdf_sha256, response.proof_sha256,
                                            response.proof_json_sha256))


def forge(proof_json: bytes) -> bytes:
    """The auditor's forgery: another signer and IP, every entry's hash recomputed, the head too."""
    proof = json.loads(proof_json)
    proof["signer"].update(name="Quelqu'un d'autre", ip="198.51.100.7")
    prev = GENESIS
    for entry in proof["evidence"]:
        entry["ip"] = "198.51.100.7" if entry["ip"] else ""
        if "signer_name" in entry["data"]:
            entry["data"]["signer_name"] = "Quelqu'un d'autre"
        entry["prev_sha256"] = prev
        entry["sha256"] = prev = entry_sha256(entry["seq"], entry["at"], entry["step"], entry["ip"],
                                              entry["user_agent"], entry["data"], prev)
    proof["evidence_sha256"] = prev
    return json.dumps(proof, ensure_ascii=False, indent=2, sort_keys=True).encode()


def test_a_forged_json_proof_is_refused_beside_its_sealed_pdf_and_not_anchored_alone(cfg, signed, tmp_path):
    _, proof_pdf, proof_json = signed
    env = {"SIGNATURE_KEY_DIR": str(cfg.key_dir)}
    download = tmp_path / "download"
    download.mkdir()
    (download / "Preuves-DV-2026-00042.pdf").write_bytes(proof_pdf)
    (download / "Preuves-DV-2026-00042.json").write_bytes(proof_json)
    forged = tmp_path / "forged.json"
    forged.write_bytes(forge(proof_json))

    beside = run_verify(forged, download / "Preuves-DV-2026-00042.pdf", env=env)
    assert beside.returncode == 1, beside.stdout + beside.stderr
    assert f"{forged}: altered" in beside.stdout.splitlines()
    assert "n'est pas celui qu'indique le dossier de preuve PDF scellé" in beside.stdout
    assert "Quelqu'un d'autre" not in beside.stdout

    alone = run_verify(forged, env=env)
    assert alone.returncode == 2, alone.stdout + alone.stderr
    assert alone.stdout.splitlines()[0] == f"{forged}: not anchored"
    assert "signataire (non vérifié) : Quelqu'un d'autre" in alone.stdout
    assert "un JSON seul ne prouve que sa propre cohérence" in alone.stdout
    assert "intact" not in alone.stdout and "figure dans le dossier de preuve" not in alone.stdout

    # The genuine JSON: anchored when its PDF is given, or found next to it under the same name.
    genuine = download / "Preuves-DV-2026-00042.json"
    for args in ((genuine, download / "Preuves-DV-2026-00042.pdf"), (genuine,)):
        result = run_verify(*args, env=env)
        assert result.returncode == 0, result.stdout + result.stderr
        assert result.stdout.splitlines()[0] == f"{genuine}: intact"
        assert "ancrage : son SHA-256 est celui qu'indique le dossier de preuve PDF scellé" in result.stdout
    assert "(trouvé à côté)" in result.stdout

    # A forged JSON under the genuine name, its PDF beside it: refused all the same.
    genuine.write_bytes(forge(proof_json))
    result = run_verify(genuine, env=env)
    assert result.returncode == 1 and result.stdout.splitlines()[0] == f"{genuine}: altered"


def test_pdfs_sealed_before_a_key_change_still_verify(cfg, signed, tmp_path):
    signed_pdf, proof_pdf, _ = signed
    old_cert = (cfg.key_dir / keys.CERT_FILE).read_bytes()
    _, _, kept = keys.new_keypair(cfg.key_dir)
    assert kept is not None and kept.read_bytes() == old_cert

    after = bootstrap(cfg)  # the service restarted on its new key
    try:
        sealer = after.dependencies["sealer"]
        assert sealer.certificate.dump() != sealer.trusted[1].dump()  # current first, the retired one after
        for pdf in (signed_pdf, proof_pdf):
            result = sealer.verify_pdf(pdf)
            assert result.intact and result.signer == "Zoë Lœwy", result.problem
        assert sealer.verify_pdf(sealer.seal(quote_pdf(), _details())).intact
    finally:
        after.engine.dispose()
    (tmp_path / "signe.pdf").write_bytes(signed_pdf)
    result = run_verify(tmp_path / "signe.pdf", env={"SIGNATURE_KEY_DIR": str(cfg.key_dir)})
    assert result.returncode == 0 and ": intact" in result.stdout, result.stdout + result.stderr


def test_a_seal_by_a_certificate_not_kept_reads_unknown_not_changed(cfg, signed, tmp_path):
    signed_pdf, _, _ = signed
    stranger = PdfSealer(tmp_path / "stranger")
    result = verify_pdf(signed_pdf, [stranger.certificate])
    assert not result.intact and result.unknown_certificate
    assert "unknown here" in result.problem and "changed" not in result.problem
    assert result.certificate_sha256 in result.problem
    flipped = bytearray(signed_pdf)
    flipped[len(flipped) // 3] ^= 0x01
    altered = verify_pdf(bytes(flipped), [stranger.certificate])
    assert not altered.intact and not altered.unknown_certificate

    (tmp_path / "signe.pdf").write_bytes(signed_pdf)
    cli = run_verify(tmp_path / "signe.pdf", "--cert", stranger.cert_path)
    assert cli.returncode == 2, cli.stdout + cli.stderr
    assert cli.stdout.splitlines()[0] == f"{tmp_path / 'signe.pdf'}: unknown seal"
    assert "scellé par un certificat inconnu ici" in cli.stdout

    # Listed in SIGNATURE_TRUSTED_CERTS, the certificate is trusted again, by the service and the command.
    trusting = PdfSealer(tmp_path / "stranger", trusted_certs=[cfg.key_dir / keys.CERT_FILE])
    assert trusting.verify_pdf(signed_pdf).intact
    cli = run_verify(tmp_path / "signe.pdf", env={"SIGNATURE_KEY_DIR": str(tmp_path / "stranger"),
                                                  "SIGNATURE_TRUSTED_CERTS": str(cfg.key_dir / keys.CERT_FILE)})
    assert cli.returncode == 0 and ": intact" in cli.stdout, cli.stdout + cli.stderr


def test_a_configured_certificate_replaced_later_stays_trusted(tmp_path):
    issued_a, issued_b = PdfSealer(tmp_path / "issued-a"), PdfSealer(tmp_path / "issued-b")
    original = quote_pdf()
    first = PdfSealer(tmp_path / "seal", key_file=issued_a.key_path, cert_file=issued_a.cert_path)
    sealed = first.seal(original, _details())
    renewed = PdfSealer(tmp_path / "seal", key_file=issued_b.key_path, cert_file=issued_b.cert_path)
    assert renewed.certificate.dump() == issued_b.certificate.dump()
    assert renewed.verify_pdf(sealed).intact
    assert list((tmp_path / "seal" / keys.RETIRED_DIR).glob("*.pem"))


def test_the_service_refuses_to_start_on_a_lost_key_once_quotes_are_signed(cfg, signed, tmp_path):
    shutil.rmtree(cfg.key_dir)
    with pytest.raises(keys.SealKeyMissing, match=str(cfg.key_dir / keys.KEY_FILE)):
        bootstrap(cfg)
    assert not (cfg.key_dir / keys.KEY_FILE).exists()

    env = {**os.environ, "PYTHONPATH": pythonpath(ROOT), "QUOTEFLOW_VAR": str(tmp_path / "var"),
           "SIGNATURE_DATABASE_URL": cfg.common.database_url, "SIGNATURE_KEY_DIR": str(cfg.key_dir),
           "BROKER_URL": f"filesystem://{tmp_path / 'bus'}", "SIGNATURE_GRPC_ADDRESS": "127.0.0.1:0",
           "LOG_FORMAT": "text"}
    env.pop("QUOTEFLOW_ENV", None)
    process = subprocess.run([sys.executable, "-m", "services.signature"], cwd=ROOT, env=env, capture_output=True,
                             text=True, timeout=60)
    assert process.returncode == 2, process.stdout + process.stderr
    assert str(cfg.key_dir / keys.KEY_FILE) in process.stderr and "Traceback" not in process.stderr
    assert not (cfg.key_dir / keys.KEY_FILE).exists()

    # On purpose, the operator makes a new key; the service starts on it.
    made = subprocess.run([sys.executable, "-m", "services.signature", "new-seal-key"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=60)
    assert made.returncode == 0, made.stdout + made.stderr
    assert (cfg.key_dir / keys.KEY_FILE).exists()
    bootstrap(cfg).engine.dispose()


def _details():
    from datetime import datetime, timezone

    from services.signature.domain.model import SealDetails

    return SealDetails(signer_name="Zoë Lœwy", signer_email="zoe@client.fr",
                       signed_at=datetime(2026, 11, 29, 14, 5, tzinfo=timezone.utc), reference="r-1",
                       number="DV-2026-00042", version=1, document_sha256="a" * 64, consent_text="J'accepte")
