"""``python -m services.signature verify FILE...``: is a signed quote or a proof file intact? Who signed, when?

A PDF (signed quote or « Dossier de preuve ») is checked by its PAdES seal against every certificate the
service sealed with: the current one, those it replaced (``retired/`` beside the key), SIGNATURE_TRUSTED_CERTS;
or against the ``--cert`` files only. What may follow the seal: validation data and document timestamps (PAdES
B-LT, B-LTA, extend-archive), each timestamp intact; with the seal's issuing chain (SIGNATURE_CA_CERTS or ``--ca``)
the validation data the file carries must prove the seal valid when made, nothing fetched.

A JSON proof is checked by its hash chain, its consent, and its quote lines (their canonical SHA-256 must be the
one the chain's first entry holds; a request opened before lines were chained has none, and says so); given with
the signed PDF, that PDF's first revision must be the quote sent, whose SHA-256 the same entry holds. All this
shows only that the JSON is consistent in itself: whoever rewrites it can recompute the chain. So a JSON is vouched for only by the sealed
proof PDF that states its SHA-256 (« Preuve JSON (SHA-256) »): give both (``verify Preuves-X.json
Preuves-X.pdf``), or keep the PDF next to the JSON under the same name and it is found.

One block per file; its first line ends with the verdict:

- ``intact``: sealed by a trusted certificate and unchanged; a JSON: consistent and anchored by its proof PDF;
- ``altered``: changed since it was sealed; a JSON: its chain is broken, or its proof PDF states another SHA-256;
- ``unknown seal``: unchanged since sealed, but by a certificate not trusted here;
- ``not anchored``: a JSON consistent in itself, with no intact sealed proof PDF to vouch for it.

Exits 0 when every file is intact, 1 when one is altered, 2 when one could not be vouched for (unknown seal,
not anchored) or not checked at all.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import re
import sys
from dataclasses import dataclass
from io import BytesIO
from pathlib import Path

from quoteflow.config import ConfigError
from services.signature.domain import evidence, purchase
from services.signature.domain.evidence import BrokenChain, Entry

INTACT, ALTERED, UNKNOWN_SEAL, NOT_ANCHORED = "intact", "altered", "unknown seal", "not anchored"
EXIT_CODES = {INTACT: 0, ALTERED: 1, UNKNOWN_SEAL: 2, NOT_ANCHORED: 2}
SEVERITY = {INTACT: 0, UNKNOWN_SEAL: 1, NOT_ANCHORED: 1, ALTERED: 2}  # the exit code is the worst verdict's

# How services/signature/adapters/documents.py (proof_pdf) names the JSON in the proof PDF: a label cell, then
# the value cell in the next text object. Labels are fixed text; what a signer typed is only ever a value.
JSON_LABEL = "Preuve JSON (SHA-256)"
_SHA256 = re.compile(r"[0-9a-f]{64}")
_TOKEN = re.compile(rb"\((?:[^()\\]|\\.)*\)|<[0-9A-Fa-f\s]*>(?!>)|%[^\r\n]*|[^\s()<>\[\]{}/%]+|\S", re.S)
_ESCAPE = re.compile(rb"\\([0-7]{1,3}|\r\n|.)", re.S)
_ESCAPES = {b"n": b"\n", b"r": b"\r", b"t": b"\t", b"b": b"\b", b"f": b"\f", b"\n": b"", b"\r": b"", b"\r\n": b""}


def _certificates(certs: list[str] | None) -> list:
    """The --cert files, or every certificate the service sealed with (see the module's docstring)."""
    from services.signature.adapters.keys import known_certificate_files
    from services.signature.adapters.seal import load_certificates
    from services.signature.config import seal_certificate_files

    if certs:
        return load_certificates(certs, setting="--cert")
    key_dir, cert_file, trusted = seal_certificate_files()
    found = ([cert_file] if cert_file else []) + known_certificate_files(key_dir)
    if not found:
        raise FileNotFoundError(f"no seal certificate in {key_dir}: pass --cert PEM or set SIGNATURE_KEY_DIR")
    return load_certificates(found) + load_certificates(trusted, setting="SIGNATURE_TRUSTED_CERTS")


def _chain(ca: list[str] | None) -> tuple[list, list]:
    """(the seal's issuing chain, timestamp authorities' roots): --ca files, else SIGNATURE_CA_CERTS; and
    SIGNATURE_TSA_TRUST. With a chain, a file carrying validation data must prove the seal with that data alone."""
    from services.signature.adapters.seal import load_certificates
    from services.signature.config import ca_certificate_files
    from quoteflow.config import env

    chain = load_certificates(ca, setting="--ca") if ca else load_certificates(
        ca_certificate_files(), setting="SIGNATURE_CA_CERTS")
    tsa = env("SIGNATURE_TSA_TRUST")
    return chain, load_certificates([tsa], setting="SIGNATURE_TSA_TRUST") if tsa else []


def _literal(token: bytes) -> bytes:
    def unescape(match: re.Match) -> bytes:
        code = match.group(1)
        return bytes([int(code, 8) & 0xFF]) if code[:1].isdigit() else _ESCAPES.get(code, code)

    return _ESCAPE.sub(unescape, token[1:-1])


def _text_objects(content: bytes) -> list[str]:
    """The text of each BT…ET object of a content stream, its strings joined (ASCII is all this needs)."""
    found, current = [], None
    for match in _TOKEN.finditer(content):
        token = match.group()
        if token == b"BT":
            current = []
        elif token == b"ET" and current is not None:
            found.append(b"".join(current).decode("latin-1"))
            current = None
        elif current is not None and token[:1] == b"(":
            current.append(_literal(token))
        elif current is not None and token[:1] == b"<":
            digits = b"".join(token[1:-1].split())
            current.append(bytes.fromhex((digits + b"0" * (len(digits) % 2)).decode()))
    return found


def _page_contents(reader) -> list[bytes]:
    """Every page's content streams, decoded, in page order."""
    streams = []
    for ix in range(int(reader.root["/Pages"]["/Count"])):
        page = reader.find_page_for_modification(ix)[0].get_object()
        contents = page["/Contents"] if "/Contents" in page else None
        contents = contents if isinstance(contents, list) else [] if contents is None else [contents]
        streams += [stream.get_object().data for stream in contents]
    return streams


def stated_json_sha256(pdf: bytes) -> str | None:
    """The « Preuve JSON (SHA-256) » a proof PDF states; None for any other PDF (or an ambiguous one)."""
    from pyhanko.pdf_utils.reader import PdfFileReader

    try:
        texts = [text for content in _page_contents(PdfFileReader(BytesIO(pdf), strict=False))
                 for text in _text_objects(content)]
    except Exception:  # not a PDF we can read: it states nothing
        return None
    label = "".join(JSON_LABEL.split())
    stated = {"".join(value.split()) for name, value in zip(texts, texts[1:]) if "".join(name.split()) == label}
    stated = {value for value in stated if _SHA256.fullmatch(value)}
    return stated.pop() if len(stated) == 1 else None


def _pdf_lines(result, tz: str) -> list[str]:
    from services.signature.adapters.seal import french_date
    from services.signature.domain.model import seal_level_text

    if result.unknown_certificate:
        return [f"  raison : scellé par un certificat inconnu ici (« {result.certificate_subject} », SHA-256 "
                f"{result.certificate_sha256}) ; si c'est un ancien certificat du sceau de ce service, ajoutez-le "
                "(--cert, SIGNATURE_TRUSTED_CERTS ou le dossier retired/ à côté de la clé)"]
    if not result.intact:
        return [f"  raison : {result.problem}"]
    lines = [f"  signataire : {result.signer}"]
    if result.signed_at is not None:
        lines.append(f"  scellé le : {french_date(result.signed_at, tz)}")
    if result.reason:
        lines.append(f"  objet du sceau : {result.reason}")
    if result.timestamped_at is not None:
        trusted_text = "" if result.timestamp_trusted else " (autorité non reconnue ici)"
        lines.append(f"  horodatage RFC 3161 : {result.timestamped_at.isoformat()}{trusted_text}")
    if result.level:
        lines.append(f"  niveau du cachet : {seal_level_text(result.level)}")
    for at in result.archived_at:
        lines.append(f"  horodatage d'archive (document) : {at.isoformat()}")
    if result.long_term_checked:
        lines.append("  données de validation intégrées : elles prouvent seules (sans rien télécharger) que le "
                     "certificat du cachet était valide et non révoqué à la signature")
    return lines


def check_pdf(data: bytes, trusted: list, tz: str = "Europe/Paris", *, ca_certs: list = (),
              tsa_trust: list = ()) -> tuple[bool, list[str]]:
    from services.signature.adapters.seal import verify_pdf

    result = verify_pdf(data, trusted, list(tsa_trust), ca_certs=list(ca_certs))
    return result.intact, _pdf_lines(result, tz)


def _read_proof(data: bytes) -> dict:
    """The proof, once its hash chain, consent, quote lines and signed PDF's hash agree; raises BrokenChain (or a
    parse error)."""
    proof = json.loads(data)
    chain = [Entry(seq=e["seq"], at=e["at"], step=e["step"], ip=e["ip"], user_agent=e["user_agent"],
                   data=e["data"], prev_sha256=e["prev_sha256"], sha256=e["sha256"]) for e in proof["evidence"]]
    evidence.verify_chain(chain, expected_head=proof["evidence_sha256"])
    consent = proof["consent"]
    if evidence.sha256_text(consent["text"]) != consent["sha256"]:
        raise BrokenChain("the consent text does not match its SHA-256")
    stated = proof.get("purchase") or {}
    try:
        chained = purchase.check(stated.get("lines"), chain)
    except purchase.LinesAltered as altered:
        raise BrokenChain(str(altered)) from None
    if stated.get("lines_sha256", chained) != chained:
        raise BrokenChain(f"purchase.lines_sha256 ({stated['lines_sha256']}) is not the one the evidence chain holds")
    signed = [e for e in chain if e.step == "signed"]
    if not signed or signed[-1].data.get("signed_pdf_sha256") != proof["document"]["signed_pdf_sha256"]:
        raise BrokenChain("the signed PDF's SHA-256 is not the one the evidence recorded")
    return proof


def _claims(data: bytes) -> tuple[str, str, str]:
    """(signer, signing time, chain) as the JSON proof states them, once it is consistent in itself."""
    proof = _read_proof(data)
    signer = proof["signer"]
    return (f"{signer['name']} <{signer['email']}>", str(signer["signed_at"]),
            f"{len(proof['evidence'])} entrées, tête {proof['evidence_sha256']} ; {_lines_claim(proof)}")


def _lines_claim(proof: dict) -> str:
    lines = (proof.get("purchase") or {}).get("lines")
    if not lines:
        return "lignes du devis : non inscrites (demande ouverte avant leur inscription dans la chaîne)"
    return (f"lignes du devis : {len(lines['lines'])} ligne(s), total TTC {lines['totals']['total_ttc']} "
            f"{lines['currency']}, conformes à l'empreinte de l'entrée 1 "
            f"({proof['evidence'][0]['data'][purchase.CHAIN_KEY]})")


def check_json(data: bytes) -> tuple[bool, list[str]]:
    """Whether a JSON proof is consistent in itself (chain, consent, signed PDF's hash), and what it says.

    Consistent is not authentic: anyone can rewrite the file and recompute its chain (see ``main``).
    """
    try:
        signer, signed_at, chain = _claims(data)
    except (ValueError, KeyError, TypeError, BrokenChain) as exc:
        return False, [f"  raison : {exc}"]
    return True, [f"  signataire : {signer}", f"  signé le : {signed_at}", f"  chaîne de preuve : {chain}"]


@dataclass
class _CheckedPdf:
    path: Path
    status: str
    lines: list[str]
    stated_json: str | None  # what an intact proof PDF states as the JSON's SHA-256
    revisions: tuple[str, ...] = ()  # SHA-256 of each revision of an intact PDF, the first being the quote sent


def _frozen_quote(proof: dict, pdfs: list[_CheckedPdf]) -> tuple[str, list[str]]:
    """The signed PDF given with a proof (one of its revisions is the signed PDF the proof names) holds, as its first
    revision, the quote sent whose SHA-256 the chain's first entry holds with the lines' SHA-256: (verdict, lines)."""
    signed = [pdf for pdf in pdfs if proof["document"]["signed_pdf_sha256"] in pdf.revisions]
    sent = proof["evidence"][0]["data"].get("document_sha256", "")
    found = []
    for pdf in signed:
        if pdf.revisions[0] != sent:
            return ALTERED, [f"  raison : la première révision du PDF signé {pdf.path} ({pdf.revisions[0]}) n'est "
                             f"pas le devis envoyé inscrit à l'entrée 1 de la chaîne ({sent})"]
        found.append(f"  devis envoyé : première révision du PDF signé {pdf.path}, SHA-256 {sent}, celui de "
                     "l'entrée 1 de la chaîne, avec l'empreinte des lignes")
    return INTACT, found


def _anchor(path: Path, data: bytes, pdfs: list[_CheckedPdf], found: _CheckedPdf | None) -> tuple[str, list[str]]:
    """A JSON's verdict against the proof PDFs given (and the one found next to it, if any)."""
    try:
        signer, signed_at, chain = _claims(data)
    except (ValueError, KeyError, TypeError, BrokenChain) as exc:
        return ALTERED, [f"  raison : {exc}"]
    digest = hashlib.sha256(data).hexdigest()
    candidates = pdfs + ([found] if found is not None else [])
    frozen, frozen_lines = _frozen_quote(_read_proof(data), pdfs)
    if frozen == ALTERED:
        return ALTERED, frozen_lines
    for pdf in candidates:
        if pdf.stated_json == digest:
            where = f"{pdf.path} (trouvé à côté)" if pdf is found else str(pdf.path)
            return INTACT, [f"  signataire : {signer}", f"  signé le : {signed_at}", f"  chaîne de preuve : {chain}",
                            f"  ancrage : son SHA-256 est celui qu'indique le dossier de preuve PDF scellé {where}",
                            *frozen_lines]
    # The PDFs meant to vouch for this JSON: the one of the same name, else every proof PDF given.
    paired = [pdf for pdf in candidates if pdf.path.stem == path.stem]
    paired = paired or [pdf for pdf in pdfs if pdf.stated_json is not None]
    mismatched = [pdf for pdf in paired if pdf.stated_json is not None]
    if mismatched:
        return ALTERED, [f"  raison : son SHA-256 ({digest}) n'est pas celui qu'indique le dossier de preuve PDF "
                         f"scellé {pdf.path} ({pdf.stated_json}) : ce JSON n'est pas celui que le service a scellé"
                         for pdf in mismatched]
    why = [f"  raison : {pdf.path} ne l'ancre pas : " + {
        INTACT: "ce n'est pas un dossier de preuve", UNKNOWN_SEAL: "il est scellé par un certificat inconnu ici",
        ALTERED: "il n'est pas intact"}[pdf.status] for pdf in paired]
    return NOT_ANCHORED, [
        f"  signataire (non vérifié) : {signer}", f"  signé le (non vérifié) : {signed_at}",
        f"  chaîne de preuve : cohérente, {chain}", *why,
        "  un JSON seul ne prouve que sa propre cohérence : quiconque le réécrit peut recalculer sa chaîne. "
        "Il fait foi avec le dossier de preuve PDF scellé qui indique son SHA-256 (Preuves-….pdf, téléchargé "
        f"avec lui) : verify {path} Preuves-….pdf"]


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m services.signature verify", description=__doc__.split("\n")[0])
    parser.add_argument("files", nargs="+", help="signed quote PDF, proof PDF or proof JSON (with its proof PDF)")
    parser.add_argument("--cert", action="append",
                        help="a seal certificate to trust (PEM), instead of the service's; repeatable")
    parser.add_argument("--ca", action="append",
                        help="the seal certificate's issuing chain, root included (PEM), instead of "
                             "SIGNATURE_CA_CERTS; repeatable")
    args = parser.parse_args(argv)
    files: list[tuple[Path, bytes]] = []
    for name in args.files:
        try:
            files.append((Path(name), Path(name).read_bytes()))
        except OSError as exc:
            print(f"{name}: cannot read ({exc.strerror})", file=sys.stderr)
            return 2
    is_json = {path: data.lstrip()[:1] in (b"{", b"[") for path, data in files}
    given = {path.resolve() for path, _ in files}
    # A proof PDF kept next to a JSON under the same name is checked with it, given or not.
    beside = {path: path.with_suffix(".pdf") for path, _ in files if is_json[path]}
    beside = {path: pdf for path, pdf in beside.items() if pdf.resolve() not in given and pdf.is_file()}
    trusted, chain, tsa_trust = None, [], []
    if beside or not all(is_json.values()):
        try:
            trusted = _certificates(args.cert)
            chain, tsa_trust = _chain(args.ca)
        except (FileNotFoundError, ConfigError) as exc:
            print(f"verify: {exc}", file=sys.stderr)
            return 2

    def check(path: Path, data: bytes) -> _CheckedPdf:
        from services.signature.adapters.archive import revision_sha256s
        from services.signature.adapters.seal import verify_pdf

        result = verify_pdf(data, trusted, tsa_trust, ca_certs=chain)
        status = INTACT if result.intact else UNKNOWN_SEAL if result.unknown_certificate else ALTERED
        stated = stated_json_sha256(data) if result.intact else None
        lines = _pdf_lines(result, "Europe/Paris")
        if stated:
            lines.append(f"  preuve JSON (SHA-256) : {stated}")
        return _CheckedPdf(path, status, lines, stated, tuple(revision_sha256s(data)) if result.intact else ())

    pdfs = {path: check(path, data) for path, data in files if not is_json[path]}
    found = {path: check(pdf, pdf.read_bytes()) for path, pdf in beside.items()}
    worst = INTACT
    for path, data in files:
        if is_json[path]:
            status, lines = _anchor(path, data, list(pdfs.values()), found.get(path))
        else:
            status, lines = pdfs[path].status, pdfs[path].lines
        print(f"{path}: {status}")
        for line in lines:
            print(line)
        worst = max(worst, status, key=SEVERITY.get)
    return EXIT_CODES[worst]
