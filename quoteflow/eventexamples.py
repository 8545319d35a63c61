"""One example of each event, as docs/events.md shows it: the payload a real flow carries, every field filled.

The examples tell one story: Réseaux Dupont SARL sends quote DV-2026-00042 to Boulangerie Lefèvre, the client
reads it, downloads it and signs it; the notifier mails the salesperson; an operator creates and revokes an API
key. The withdrawal and the status changes are of the same quote. A test checks each example against its schema.
"""
from __future__ import annotations

import hashlib

from google.protobuf.message import Message

from quoteflow.v1 import common_pb2, events_pb2

TENANT = "acme"
QUOTE_ID = "6f1c2a7e-3b9d-4c52-9e0a-1d2b3c4d5e6f"
NUMBER = "DV-2026-00042"
REQUEST_ID = "0b7d4c1e-8f2a-4e39-a6d5-2c9e7f1b3a84"


def _sha256(name: str) -> str:
    """A stand-in SHA-256 of a named file: 64 hex digits, as real ones."""
    return hashlib.sha256(name.encode()).hexdigest()


PDF, SIGNED_PDF, PROOF, PROOF_JSON = (_sha256(n) for n in ("quote.pdf", "signed.pdf", "proof.pdf", "proof.json"))
EVIDENCE, TOKEN, API_KEY = (_sha256(n) for n in ("evidence", "link token", "api key"))
UA = "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0"

CONTACT = common_pb2.Party(id="ct-1", name="Chloé Lefèvre", email="chloe@boulangerie-lefevre.fr",
                           phone="+33 6 12 34 56 78")
ASSIGNEE = common_pb2.Party(id="u-1", name="Antoine Martin", email="antoine.martin@reseaux-dupont.fr",
                            phone="+33 6 98 76 54 32")
NEW_ASSIGNEE = common_pb2.Party(id="u-2", name="Béatrice Roux", email="beatrice.roux@reseaux-dupont.fr",
                                phone="+33 6 11 22 33 44")

SNAPSHOT = common_pb2.QuoteSnapshot(
    quote_id=QUOTE_ID, number=NUMBER, title="Réseau du magasin", version=2, issued_on="2026-11-29",
    valid_until="2026-12-29",
    company=common_pb2.Company(name="Réseaux Dupont SARL", address="12 rue des Lilas\n69003 Lyon",
                               siret="123 456 789 00012", vat_number="FR12 123456789"),
    account=common_pb2.Party(id="acc-1", name="Boulangerie Lefèvre", address="3 place du Marché\n69002 Lyon"),
    contact=CONTACT, assignee=ASSIGNEE,
    lines=[common_pb2.QuoteLine(description="Commutateur PoE 24 ports", product_ref="SW-24P", quantity="2",
                                unit="pièce", unit_price="500.00", discount_percent="10", vat_rate="20",
                                total_ht="900.00"),
           common_pb2.QuoteLine(description="Pose et configuration", quantity="1.5", unit="jour",
                                unit_price="620.00", discount_percent="0", vat_rate="20", total_ht="930.00")],
    totals=common_pb2.Totals(total_ht="1830.00", total_vat="366.00", total_ttc="2196.00", currency="EUR",
                             vat=[common_pb2.VatAmount(rate="20", base_ht="1830.00", vat="366.00")]),
    terms="Acompte de 30 % à la commande.",
    optional_lines=[common_pb2.QuoteLine(description="Onduleur 1500 VA", quantity="1", unit="pièce",
                                         unit_price="340.00", discount_percent="0", vat_rate="20",
                                         total_ht="340.00")],
    documents=[common_pb2.Attachment(name="fiche-technique.pdf", content_type="application/pdf",
                                     sha256=_sha256("fiche-technique.pdf"), size=184320)],
    branding=common_pb2.Branding(logo_sha256=_sha256("logo.png"), logo_content_type="image/png", color="#1f3a5f"))

EXAMPLES: dict[str, Message] = {
    "quote.sent": events_pb2.QuoteSent(
        quote_id=QUOTE_ID, number=NUMBER, version=2, kind="send", recipient=CONTACT, assignee=ASSIGNEE,
        link_token_sha256=TOKEN, expires_at="2026-12-29T23:00:00.000000Z", pdf_sha256=PDF,
        signature_requested=True, snapshot=SNAPSHOT, subject=f"Devis {NUMBER} – Réseau du magasin",
        body="Bonjour Chloé,\n\nVeuillez trouver notre proposition.\n\nAntoine Martin", attach_pdf=True,
        template="quote_signature_request", signature_otp="sms",
        sealed_link_url="AbPq3v9TzX0uK7mNw2Yr8sLdE5hJcG1fB4aQ6iOeUtVyZx-_RkWnMpSlDjHgFq2Ex9ZcVb"),
    "quote.assignee_changed": events_pb2.QuoteAssigneeChanged(
        quote_id=QUOTE_ID, number=NUMBER, assignee=NEW_ASSIGNEE, previous_assignee_id=ASSIGNEE.id,
        changed_at="2026-11-29T14:20:00.000000Z"),
    "quote.status_changed": events_pb2.QuoteStatusChanged(
        quote_id=QUOTE_ID, number=NUMBER, previous_status="Envoyé", status="Retiré", cause="withdrawn",
        changed_at="2026-11-30T09:15:00.000000Z", version=2, actor="crm"),
    "quote.withdrawn": events_pb2.QuoteWithdrawn(
        quote_id=QUOTE_ID, number=NUMBER, version=2, reason="Erreur sur le prix de la pose : nouvelle version",
        withdrawn_at="2026-11-30T09:15:00.000000Z", actor="crm"),
    "portal.quote_viewed": events_pb2.QuoteViewed(
        quote_id=QUOTE_ID, number=NUMBER, version=2, recipient_email=CONTACT.email, ip="203.0.113.42",
        user_agent=UA, at="2026-11-29T10:12:31.402118Z", assignee=ASSIGNEE),
    "portal.quote_downloaded": events_pb2.QuoteDownloaded(
        quote_id=QUOTE_ID, number=NUMBER, version=2, recipient_email=CONTACT.email, ip="203.0.113.42",
        user_agent=UA, at="2026-11-29T10:13:05.118730Z", assignee=ASSIGNEE, pdf_sha256=PDF),
    "signature.requested": events_pb2.SignatureRequested(
        request_id=REQUEST_ID, quote_id=QUOTE_ID, version=2, signer_email=CONTACT.email, document_sha256=PDF),
    "signature.completed": events_pb2.SignatureCompleted(
        request_id=REQUEST_ID, quote_id=QUOTE_ID, number=NUMBER, version=2, signer_name="Chloé Lefèvre",
        signer_email=CONTACT.email, signed_at="2026-11-29T10:21:47.530912Z", document_sha256=PDF,
        evidence_sha256=EVIDENCE, assignee=ASSIGNEE, ip="203.0.113.42", signed_pdf_sha256=SIGNED_PDF,
        proof_sha256=PROOF, signer_contact_id=CONTACT.id, proof_json_sha256=PROOF_JSON),
    "signature.declined": events_pb2.SignatureDeclined(
        request_id=REQUEST_ID, quote_id=QUOTE_ID, number=NUMBER, version=2, signer_name="Chloé Lefèvre",
        signer_email=CONTACT.email, reason="Le budget est reporté au printemps.",
        declined_at="2026-11-29T10:21:47.530912Z", evidence_sha256=EVIDENCE, assignee=ASSIGNEE,
        ip="203.0.113.42"),
    "signature.code_requested": events_pb2.SignatureCodeRequested(
        request_id=REQUEST_ID, quote_id=QUOTE_ID, number=NUMBER, channel="sms", recipient=CONTACT,
        expires_at="2026-11-29T10:29:02.004417Z", assignee=ASSIGNEE,
        sealed_code=bytes.fromhex("8f3a61c2d0b94e7a15c6f2e8a9d3b07c4e1f62a8d5b9c03e7f14a6d2c8e5b91f")),
    "notification.sent": events_pb2.NotificationSent(
        delivery_id="5c2e9a7b-1d4f-4b8e-9c3a-7e6f2d1b0a95", quote_id=QUOTE_ID, channel="email",
        recipient=ASSIGNEE.email, template="signature_confirmation",
        cause_event_id="a3d9e1c7-6b2f-4e58-8d4a-0f7c9b2e6d13",
        at="2026-11-29T10:21:49.880213Z", subject=f"Devis {NUMBER} signé par Chloé Lefèvre"),
    "notification.failed": events_pb2.NotificationFailed(
        delivery_id="9e4b2d6a-3c8f-4a17-b5e2-1f9d7c3a8b60", quote_id=QUOTE_ID, channel="sms",
        recipient=ASSIGNEE.phone, template="quote_viewed", cause_event_id="c7f1a9e3-2d6b-4c85-9a4e-3b8d0f6c2e71",
        at="2026-11-29T10:45:12.310954Z", error="Vonage: 'Invalid To number' (status 3)", attempts=5),
    "apikey.created": events_pb2.ApiKeyCreated(
        key_id="ak_5e1f9c3a7b2d4e60", tenant=TENANT, sha256=API_KEY, prefix="qf_7Hc2xQ9",
        label="CRM production", created_at="2026-11-29T08:00:00.000000Z"),
    "apikey.revoked": events_pb2.ApiKeyRevoked(
        key_id="ak_5e1f9c3a7b2d4e60", tenant=TENANT, sha256=API_KEY, revoked_at="2026-12-01T17:30:00.000000Z"),
}
