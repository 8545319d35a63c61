"""The assignee's signature confirmation carries the proofs (the signed PDF and the proof file); a proof
still missing when it is sent is waited for, then the confirmation goes without it and says so."""
import hashlib
import time

from services.notifier.adapters.mail import read_maildir
from services.notifier.domain.model import FAILED, QUEUED, SENT

SEALED = b"%PDF-1.7\n% devis scell\xc3\xa9 PAdES\n%%EOF\n"
PROOF = b"%PDF-1.7\n% dossier de preuve\n%%EOF\n"
NEVER_STORED = "ab" * 32


def parts(message):
    return message.get_body(("plain",)).get_content(), message.get_body(("html",)).get_content()


def mail_to(app, address, subject_part):
    return [m for m in read_maildir(app.cfg.mail_sink_dir)
            if m["To"].addresses[0].addr_spec == address and subject_part in m["Subject"]]


def signed(app, quote_sent, signature_event, *, signed_pdf: str, proof: str):
    sent = quote_sent()
    quote_id = sent.payload().quote_id
    app.handle_event(sent)
    app.handle_event(signature_event("completed", quote_id, signed_pdf_sha256=signed_pdf, proof_sha256=proof))
    return quote_id


def dispatch_until_over(app, tenant, quote_id, seconds=10.0):
    """Runs the dispatcher until no delivery of the quote is queued (retries are 0.01 s apart in tests)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        app.dispatch_due()
        if all(d.status != QUEUED for d in app.list_deliveries(tenant, quote_id)):
            return {d.template: d for d in app.list_deliveries(tenant, quote_id)}
        time.sleep(0.02)
    raise AssertionError("deliveries still queued")


def test_the_confirmation_carries_the_signed_pdf_and_the_proof_file(app, tenant, quote_sent, signature_event):
    quote_id = signed(app, quote_sent, signature_event, signed_pdf=app.blobs.put(SEALED),
                      proof=app.blobs.put(PROOF))
    app.dispatch_due()
    [confirmation] = mail_to(app, "jerome@vendeur.example", "Accepté")
    assert confirmation["Subject"] == "Devis DV-2026-0042 signé par Zoé Lefèvre – Accepté"
    files = {a.get_filename(): (a.get_content_type(), a.get_content()) for a in confirmation.iter_attachments()}
    assert files == {"Devis-DV-2026-0042-signe.pdf": ("application/pdf", SEALED),
                     "Preuves-DV-2026-0042.pdf": ("application/pdf", PROOF)}
    text, html = parts(confirmation)
    assert "Les preuves de la signature sont jointes à cet email :" in text
    assert "- Devis-DV-2026-0042-signe.pdf : le devis signé, scellé électroniquement" in text
    assert "- Preuves-DV-2026-0042.pdf : le dossier de preuve" in text
    assert "<strong>Preuves-DV-2026-0042.pdf</strong> : le dossier de preuve" in html
    assert "Attention" not in text
    # The client's copy still carries the signed PDF only.
    [copy] = mail_to(app, "zoe@client.example", "signé")
    assert [a.get_filename() for a in copy.iter_attachments()] == ["Devis-DV-2026-0042-signe.pdf"]
    assert {d.template: d.status for d in app.list_deliveries(tenant, quote_id)} == {
        "quote_send": SENT, "signature_confirmation": SENT, "signed_copy": SENT}


def test_a_proof_missing_at_send_time_is_waited_for_then_the_confirmation_says_it_is_not_attached(
        app, tenant, quote_sent, signature_event):
    quote_id = signed(app, quote_sent, signature_event, signed_pdf=app.blobs.put(SEALED), proof=NEVER_STORED)
    app.dispatch_due()
    first = {d.template: d for d in app.list_deliveries(tenant, quote_id)}
    assert first["signature_confirmation"].status == QUEUED  # retried: the blob store may be catching up
    assert "Preuves-DV-2026-0042.pdf introuvable" in first["signature_confirmation"].error
    assert first["signed_copy"].status == SENT  # the client's copy needs the signed PDF only

    over = dispatch_until_over(app, tenant, quote_id)
    confirmation = over["signature_confirmation"]
    assert confirmation.status == SENT and confirmation.attempts == app.cfg.send_attempts
    [mail] = mail_to(app, "jerome@vendeur.example", "Accepté")
    assert [a.get_filename() for a in mail.iter_attachments()] == ["Devis-DV-2026-0042-signe.pdf"]
    text, html = parts(mail)
    assert text.startswith("Attention : la pièce jointe Preuves-DV-2026-0042.pdf était indisponible au moment "
                           "de l'envoi et n'est pas jointe à cet email. Elle reste disponible dans le bandeau")
    assert "la pièce jointe Preuves-DV-2026-0042.pdf était indisponible" in html
    assert html.index("était indisponible") < html.index("Bonjour")


def test_a_missing_signed_pdf_fails_the_clients_copy_but_not_the_assignees_news(app, tenant, quote_sent,
                                                                                 signature_event):
    quote_id = signed(app, quote_sent, signature_event, signed_pdf=NEVER_STORED, proof=NEVER_STORED[::-1])
    over = dispatch_until_over(app, tenant, quote_id)
    assert over["signed_copy"].status == FAILED and "introuvable" in over["signed_copy"].error
    assert over["signature_confirmation"].status == SENT
    [mail] = mail_to(app, "jerome@vendeur.example", "Accepté")
    assert list(mail.iter_attachments()) == []
    text, _ = parts(mail)
    assert text.startswith("Attention : les pièces jointes Devis-DV-2026-0042-signe.pdf, Preuves-DV-2026-0042.pdf "
                           "étaient indisponibles")


def test_a_proof_that_arrives_before_the_last_try_is_attached(app, tenant, quote_sent, signature_event):
    late = PROOF + b"% written late\n"
    quote_id = signed(app, quote_sent, signature_event, signed_pdf=app.blobs.put(SEALED),
                      proof=hashlib.sha256(late).hexdigest())
    app.dispatch_due()
    assert {d.template: d.status for d in app.list_deliveries(tenant, quote_id)}["signature_confirmation"] == QUEUED
    app.blobs.put(late)  # the blob store caught up
    over = dispatch_until_over(app, tenant, quote_id)
    assert over["signature_confirmation"].status == SENT and over["signature_confirmation"].attempts == 2
    [mail] = mail_to(app, "jerome@vendeur.example", "Accepté")
    assert sorted(a.get_filename() for a in mail.iter_attachments()) == [
        "Devis-DV-2026-0042-signe.pdf", "Preuves-DV-2026-0042.pdf"]
    assert "Attention" not in parts(mail)[0]


def test_a_signature_without_proof_files_says_where_they_are(app, tenant, quote_sent, signature_event):
    quote_id = signed(app, quote_sent, signature_event, signed_pdf="", proof="")
    app.dispatch_due()
    [mail] = mail_to(app, "jerome@vendeur.example", "Accepté")
    text, _ = parts(mail)
    assert list(mail.iter_attachments()) == []
    assert "Les preuves de la signature sont disponibles dans le bandeau du devis." in text
    assert "Attention" not in text
    [copy] = mail_to(app, "zoe@client.example", "signé")
    copy_text, _ = parts(copy)
    assert "pièce jointe" not in copy_text and list(copy.iter_attachments()) == []
    assert {d.status for d in app.list_deliveries(tenant, quote_id)} == {SENT}


def test_only_the_alerts_a_salesperson_chose_say_they_follow_the_preferences(app, tenant, quote_sent,
                                                                             signature_event, portal_event):
    sent = quote_sent()
    quote_id = sent.payload().quote_id
    app.handle_event(sent)
    app.handle_event(portal_event("viewed", quote_id=quote_id))
    app.handle_event(portal_event("downloaded", quote_id=quote_id))
    app.handle_event(signature_event("completed", quote_id))
    app.handle_event(signature_event("declined", "q-other"))
    app.dispatch_due()
    said = {str(m["Subject"]): "selon vos préférences utilisateur" in parts(m)[1]
            for m in read_maildir(app.cfg.mail_sink_dir)}
    assert len(said) == 6, said  # send, view, download, confirmation, signed copy, decline
    assert {subject for subject, says in said.items() if says} == {
        "Devis DV-2026-0042 consulté par Zoé Lefèvre", "Devis DV-2026-0042 téléchargé par Zoé Lefèvre"}
