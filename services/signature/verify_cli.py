"""``python -m services.signature verify FILE...``: is a signed quote or a proof file intact? Who signed, when?

Checks the PAdES seal of a PDF (signed quote or "Dossier de preuve") against the
service's seal certificate, or the hash chain of a JSON proof. Prints one block
per file whose first line ends with ``intact`` or ``altered``; exits 0 when
every file is intact, 1 when one is altered, 2 when it cannot check.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from services.signature.domain import evidence
from services.signature.domain.evidence import BrokenChain, Entry


def _certificates(cert: str | None) -> list:
    from pyhanko.keys import load_certs_from_pemder

    from services.signature.adapters.keys import CERT_FILE
    from services.signature.config import Config

    if cert:
        path = Path(cert)
    else:
        config = Config.from_env()
        path = config.cert_file or config.key_dir / CERT_FILE
    if not path.exists():
        raise FileNotFoundError(f"no seal certificate at {path}: pass --cert PEM or set SIGNATURE_KEY_DIR")
    return list(load_certs_from_pemder([str(path)]))


def check_pdf(data: bytes, trusted: list, tz: str = "Europe/Paris") -> tuple[bool, list[str]]:
    from services.signature.adapters.seal import french_date, verify_pdf

    result = verify_pdf(data, trusted)
    if not result.intact:
        return False, [f"  raison : {result.problem}"]
    lines = [f"  signataire : {result.signer}"]
    if result.signed_at is not None:
        lines.append(f"  scellé le : {french_date(result.signed_at, tz)}")
    if result.reason:
        lines.append(f"  objet du sceau : {result.reason}")
    if result.timestamped_at is not None:
        trusted_text = "" if result.timestamp_trusted else " (autorité non reconnue ici)"
        lines.append(f"  horodatage RFC 3161 : {result.timestamped_at.isoformat()}{trusted_text}")
    return True, lines


def check_json(data: bytes) -> tuple[bool, list[str]]:
    try:
        proof = json.loads(data)
        chain = [Entry(seq=e["seq"], at=e["at"], step=e["step"], ip=e["ip"], user_agent=e["user_agent"],
                       data=e["data"], prev_sha256=e["prev_sha256"], sha256=e["sha256"]) for e in proof["evidence"]]
        evidence.verify_chain(chain, expected_head=proof["evidence_sha256"])
        consent = proof["consent"]
        if evidence.sha256_text(consent["text"]) != consent["sha256"]:
            raise BrokenChain("the consent text does not match its SHA-256")
        signed = [e for e in chain if e.step == "signed"]
        if not signed or signed[-1].data.get("signed_pdf_sha256") != proof["document"]["signed_pdf_sha256"]:
            raise BrokenChain("the signed PDF's SHA-256 is not the one the evidence recorded")
    except (ValueError, KeyError, TypeError, BrokenChain) as exc:
        return False, [f"  raison : {exc}"]
    signer = proof["signer"]
    return True, [f"  signataire : {signer['name']} <{signer['email']}>", f"  signé le : {signer['signed_at']}",
                  f"  chaîne de preuve : {len(chain)} entrées, tête {proof['evidence_sha256']}",
                  "  (l'empreinte de ce JSON figure dans le dossier de preuve PDF scellé)"]


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m services.signature verify", description=__doc__.split("\n")[0])
    parser.add_argument("files", nargs="+", help="signed quote PDF, proof PDF or proof JSON")
    parser.add_argument("--cert", help="the seal certificate (PEM); default: the service's own")
    args = parser.parse_args(argv)
    trusted = None
    all_intact = True
    for name in args.files:
        path = Path(name)
        try:
            data = path.read_bytes()
        except OSError as exc:
            print(f"{name}: cannot read ({exc.strerror})", file=sys.stderr)
            return 2
        if data.lstrip()[:1] in (b"{", b"["):
            intact, lines = check_json(data)
        else:
            if trusted is None:
                try:
                    trusted = _certificates(args.cert)
                except (FileNotFoundError, ValueError) as exc:
                    print(f"verify: {exc}", file=sys.stderr)
                    return 2
            intact, lines = check_pdf(data, trusted)
        print(f"{name}: {'intact' if intact else 'altered'}")
        for line in lines:
            print(line)
        all_intact = all_intact and intact
    return 0 if all_intact else 1
