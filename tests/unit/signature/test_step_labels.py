"""Every step the model can write into an evidence chain has a French label in the proof PDF."""
import ast
import inspect
from datetime import timedelta
from io import BytesIO

from pypdf import PdfReader

from services.signature.adapters.documents import STEP_LABELS, proof_pdf
from services.signature.domain import model
from tests.unit.signature.builders import NOW, ZOE, request

POLICY = model.CodePolicy(key=b"k" * 32)


def written_steps() -> set[str]:
    """The ``step=`` of every ``evidence.append(...)`` in the model's source, resolved to its text."""
    found = set()
    for node in ast.walk(ast.parse(inspect.getsource(model))):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "append"
                and isinstance(node.func.value, ast.Name) and node.func.value.id == "evidence"):
            continue
        [step] = [k.value for k in node.keywords if k.arg == "step"]
        found.add(step.value if isinstance(step, ast.Constant) else getattr(model, step.id))
    return found


def test_the_model_declares_every_step_it_writes():
    assert written_steps() == set(model.STEPS)


def test_every_step_has_a_label_of_its_own():
    for step in model.STEPS:
        assert STEP_LABELS.get(step, "").strip(), f"no label for the step {step!r}"
        assert STEP_LABELS[step] != step
    assert len(set(STEP_LABELS.values())) == len(STEP_LABELS)


def test_every_path_through_a_request_writes_only_labelled_steps():
    seen = set()
    signed = request(otp_channel="email")
    signed.send_again(at=NOW + timedelta(hours=1), recipient=ZOE, signature_requested=True)
    signed.record_opened(at=NOW + timedelta(hours=2), ip="203.0.113.9", user_agent="UA", window=timedelta(seconds=60))
    signed.issue_code(code="123456", salt="s", at=NOW + timedelta(hours=2), policy=POLICY)
    attempt = signed.try_code("123456", at=NOW + timedelta(hours=2, minutes=1), policy=POLICY)
    signed.sign(at=NOW + timedelta(hours=2, minutes=1), signer_name="Zoë Lœwy", signer_email="", ip="", user_agent="",
                shown_consent_text="", signed_pdf_sha256="e" * 64, verified_code=attempt.code)
    declined = request()
    declined.decline(at=NOW, reason="Trop cher")
    superseded = request()
    superseded.supersede(NOW, 3)
    withdrawn = request()
    withdrawn.withdraw(NOW)
    for r in (signed, declined, superseded, withdrawn):
        seen |= {e.step for e in r.evidence}
    assert seen == set(model.STEPS) and seen <= set(STEP_LABELS)


def test_the_proof_pdf_names_a_relance_and_when_the_crm_sent_it():
    r = request(sent_at=NOW - timedelta(seconds=3))
    r.send_again(at=NOW + timedelta(days=1), recipient=ZOE, signature_requested=True,
                 sent_at=NOW + timedelta(days=1, seconds=-2))
    r.sign(at=NOW + timedelta(days=2), signer_name="Zoë Lœwy", signer_email="", ip="203.0.113.9", user_agent="UA",
           shown_consent_text="", signed_pdf_sha256="e" * 64)
    pdf = proof_pdf(r.proof(certificate_sha256="c" * 64), proof_json_sha256="f" * 64)
    text = " ".join(page.extract_text() for page in PdfReader(BytesIO(pdf)).pages)
    assert "2. Nouvel envoi du devis (relance) (sent_again)" in text
    assert "sent_again (sent_again)" not in text
    assert "Envoyé par le CRM (UTC)" in text
    assert "2026-11-29T09:29:57.000000Z" in text and "2026-11-30T09:29:58.000000Z" in text
