"""The assignee's confirmation also carries the proof as JSON (signature.completed's proof_json_sha256), as
application/json named Preuves-<number>.json; the client's copy still carries the signed PDF only."""
import json

from services.notifier.adapters.mail import read_maildir
from services.notifier.domain.model import QUEUED, SENT

SEALED = b"%PDF-1.7\n% devis scell\xc3\xa9 PAdES\n%%EOF\n"
PROOF = b"%PDF-1.7\n% dossier de preuve\n%%EOF\n"
PROOF_JSON = json.dumps({"signataire": "Zoé Lefèvre", "journal": []}, ensure_ascii=False).encode()


def test_the_confirmation_carries_the_json_proof_beside_the_pdfs(app, tenant, quote_sent, signature_event):
    sent = quote_sent()
    quote_id = sent.payload().quote_id
    app.handle_event(sent)
    app.handle_event(signature_event("completed", quote_id, signed_pdf_sha256=app.blobs.put(SEALED),
                                     proof_sha256=app.blobs.put(PROOF), proof_json_sha256=app.blobs.put(PROOF_JSON)))
    app.dispatch_due()
    mails = read_maildir(app.cfg.mail_sink_dir)
    [confirmation] = [m for m in mails if "Accepté" in m["Subject"]]
    files = {a.get_filename(): (a.get_content_type(), a.get_content()) for a in confirmation.iter_attachments()}
    assert list(files) == ["Devis-DV-2026-0042-signe.pdf", "Preuves-DV-2026-0042.pdf", "Preuves-DV-2026-0042.json"]
    kind, content = files["Preuves-DV-2026-0042.json"]
    assert kind == "application/json" and json.loads(content) == json.loads(PROOF_JSON)
    text = confirmation.get_body(("plain",)).get_content()
    assert "- Preuves-DV-2026-0042.json : le même dossier de preuve au format JSON" in text
    [copy] = [m for m in mails if m["To"].addresses[0].addr_spec == "zoe@client.example" and "signé" in m["Subject"]]
    assert [a.get_filename() for a in copy.iter_attachments()] == ["Devis-DV-2026-0042-signe.pdf"]
    assert {d.template: d.status for d in app.list_deliveries(tenant, quote_id)} == {
        "quote_send": SENT, "signature_confirmation": SENT, "signed_copy": SENT}


def test_a_json_proof_not_there_yet_is_waited_for_like_the_others(app, tenant, quote_sent, signature_event):
    sent = quote_sent()
    quote_id = sent.payload().quote_id
    app.handle_event(sent)
    app.handle_event(signature_event("completed", quote_id, signed_pdf_sha256=app.blobs.put(SEALED),
                                     proof_sha256=app.blobs.put(PROOF), proof_json_sha256="cd" * 32))
    app.dispatch_due()
    confirmation = next(d for d in app.list_deliveries(tenant, quote_id) if d.template == "signature_confirmation")
    assert confirmation.status == QUEUED and "Preuves-DV-2026-0042.json introuvable" in confirmation.error
