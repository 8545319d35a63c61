"""A relance (the same version sent again) joins the open request: one evidence chain, first send included."""
import json
import uuid
from datetime import timedelta
from io import BytesIO

import grpc
import pypdf

from quoteflow.envelope import Envelope, rfc3339
from quoteflow.v1 import common_pb2, events_pb2, signature_pb2
from services.signature.domain import evidence, model
from tests.integration.signature.support import AUTH, error_of, outbox, quote_pdf, sent_code, sign_request

ZOE = common_pb2.Party(id="contact-7", name="Zoë Lœwy", email="zoe@client.fr", phone="+33 6 11 11 11 11")
PAUL = common_pb2.Party(id="contact-8", name="Paul Martin", email="paul@client.fr", phone="+33 6 22 22 22 22")


class Quote:
    """One quote's quote.sent events as the quotes service publishes them: a version keeps its PDF."""

    def __init__(self, consume, blobs, tenant, clock):
        self.consume, self.blobs, self.tenant, self.clock = consume, blobs, tenant, clock
        self.id = f"q-{uuid.uuid4().hex[:8]}"
        self.pdfs: dict[int, str] = {}
        self.expires_at = rfc3339(clock() + timedelta(days=30))

    def send(self, version: int = 1, *, to: common_pb2.Party = ZOE, signature_requested: bool = True,
             otp: str = "") -> Envelope:
        fresh = version not in self.pdfs
        if fresh:
            self.pdfs[version] = self.blobs.put(quote_pdf(f"Devis {self.id} v{version}"))
        payload = events_pb2.QuoteSent(
            quote_id=self.id, number="DV-2026-00042", version=version, kind="send" if fresh else "relance",
            recipient=to, assignee=common_pb2.Party(id="user-3", name="Hélène", email="helene@vendeur.fr"),
            pdf_sha256=self.pdfs[version], signature_requested=signature_requested, expires_at=self.expires_at,
            signature_otp=otp if signature_requested else "",
            snapshot=common_pb2.QuoteSnapshot(quote_id=self.id, number="DV-2026-00042", version=version,
                                              totals=common_pb2.Totals(total_ttc="1234.56", currency="EUR")))
        envelope = Envelope.wrap(payload, source="quoteflow/quotes", subject=f"quote/{self.id}", tenant=self.tenant)
        self.consume(envelope)
        return envelope


def quote(consume, blobs, tenant, clock) -> Quote:
    return Quote(consume, blobs, tenant, clock)


def requests_of(app, q: Quote) -> list[model.SignatureRequest]:
    with app.uow() as uow:
        return uow.requests.for_quote(q.tenant, q.id)


def only_request(app, q: Quote) -> model.SignatureRequest:
    [request] = requests_of(app, q)
    evidence.verify_chain(request.evidence, request.evidence_sha256)
    return request


def code_request(sent: Envelope) -> signature_pb2.RequestCodeRequest:
    p = sent.payload()
    return signature_pb2.RequestCodeRequest(tenant_id=sent.tenant, quote_id=p.quote_id, version=p.version,
                                            ip="203.0.113.9", user_agent="Firefox")


def test_a_relance_to_the_same_signer_joins_the_open_request(app, consume, blobs, tenant, clock):
    q = quote(consume, blobs, tenant, clock)
    first = q.send()
    clock.advance(days=3)
    again = q.send()
    request = only_request(app, q)
    assert request.status == model.OPEN and request.signer.email == "zoe@client.fr"
    assert [e.step for e in request.evidence] == ["sent", "sent_again"]
    sent, relance = request.evidence
    assert sent.data["event_id"] == first.id and relance.data["event_id"] == again.id
    assert relance.data["recipient"]["email"] == "zoe@client.fr" and relance.data["signature_requested"] is True
    assert relance.data["document_sha256"] == request.document_sha256 and "previous_signer" not in relance.data
    assert relance.at > sent.at
    assert rfc3339(request.expires_at) == q.expires_at and "expires_at" not in relance.data
    assert len(outbox(app, "signature.requested")) == 1  # the request was opened once

    consume(again)  # a redelivered relance is in the inbox: nothing twice
    assert [e.step for e in only_request(app, q).evidence] == ["sent", "sent_again"]


def test_the_proof_tells_the_whole_story_from_the_first_send(app, grpc_stub, consume, blobs, tenant, clock):
    q = quote(consume, blobs, tenant, clock)
    first = q.send()
    grpc_stub.RecordOpened(signature_pb2.RecordOpenedRequest(tenant_id=tenant, quote_id=q.id, version=1,
                                                             ip="198.51.100.4", user_agent="Safari"), metadata=AUTH)
    clock.advance(days=2)
    q.send()
    clock.advance(days=1, seconds=5)
    q.send()
    signed = grpc_stub.Sign(sign_request(first), metadata=AUTH)
    request = only_request(app, q)
    assert [e.step for e in request.evidence] == ["sent", "opened", "sent_again", "sent_again", "consented",
                                                  "signed"]
    assert signed.request_id == request.id and signed.evidence_sha256 == request.evidence_sha256
    assert request.signature.signer_contact_id == "contact-7"

    proof = grpc_stub.GetDocument(signature_pb2.GetDocumentRequest(tenant_id=tenant, request_id=request.id,
                                                                   kind="proof_json"), metadata=AUTH)
    chain = json.loads(proof.content)["evidence"]
    assert [e["step"] for e in chain] == [e.step for e in request.evidence]
    assert chain[0]["data"]["event_id"] == first.id
    pdf = grpc_stub.GetDocument(signature_pb2.GetDocumentRequest(tenant_id=tenant, request_id=request.id,
                                                                 kind="proof_pdf"), metadata=AUTH)
    text = " ".join(page.extract_text() for page in pypdf.PdfReader(BytesIO(pdf.content)).pages)
    assert text.count("(sent_again)") == 2 and "zoe@client.fr" in text
    [completed] = outbox(app, "signature.completed")
    assert completed.payload().evidence_sha256 == request.evidence_sha256


def test_a_relance_gives_a_fresh_budget_of_codes_and_keeps_the_validity(app, grpc_stub, consume, blobs, tenant,
                                                                         clock):
    q = quote(consume, blobs, tenant, clock)
    sent = q.send(otp="email")
    for left in (4, 3, 2, 1, 0):
        assert grpc_stub.RequestCode(code_request(sent), metadata=AUTH).codes_left == left
        clock.advance(seconds=31)
    used_up = error_of(lambda: grpc_stub.RequestCode(code_request(sent), metadata=AUTH))
    assert used_up.code() == grpc.StatusCode.FAILED_PRECONDITION and "5 codes" in used_up.details()

    q.send(otp="email")  # the salesperson relances: the client may ask for codes again
    response = grpc_stub.RequestCode(code_request(sent), metadata=AUTH)
    assert response.codes_left == 4 and response.masked_recipient == "z***@client.fr"
    code = sent_code(app, outbox(app, "signature.code_requested")[-1])
    assert grpc_stub.Sign(sign_request(sent, otp_code=code), metadata=AUTH).request_id
    request = only_request(app, q)
    steps = [e.step for e in request.evidence]
    assert steps == ["sent"] + ["code_sent"] * 5 + ["sent_again", "code_sent", "code_verified", "consented",
                                                     "signed"]
    assert [c.seq for c in request.codes] == [1, 2, 3, 4, 5, 6]


def test_validity_still_ends_the_request_after_a_relance(app, grpc_stub, consume, blobs, tenant, clock):
    q = quote(consume, blobs, tenant, clock)
    q.expires_at = rfc3339(clock() + timedelta(hours=1))
    sent = q.send()
    q.send()
    clock.advance(hours=2)
    error = error_of(lambda: grpc_stub.Sign(sign_request(sent), metadata=AUTH))
    assert error.code() == grpc.StatusCode.FAILED_PRECONDITION and "expired" in error.details()


def test_the_code_channel_follows_the_latest_send_and_the_chain_says_when_it_changed(app, consume, blobs, tenant,
                                                                                     clock):
    q = quote(consume, blobs, tenant, clock)
    q.send()
    q.send(otp="sms")
    request = only_request(app, q)
    assert request.otp_channel == "sms" and request.evidence[-1].data["otp_channel"] == "sms"
    assert request.code_recipient() == ("sms", "+33 6 11 11 11 11")


def test_a_relance_without_signature_is_recorded_and_changes_nothing_else(app, consume, blobs, tenant, clock):
    q = quote(consume, blobs, tenant, clock)
    q.send(otp="email")
    q.send(to=PAUL, signature_requested=False)
    request = only_request(app, q)
    assert request.status == model.OPEN and request.signer.email == "zoe@client.fr"
    assert request.otp_channel == "email"
    last = request.evidence[-1]
    assert (last.step, last.data["signature_requested"], last.data["recipient"]["email"]) == (
        "sent_again", False, "paul@client.fr")
    q.send()
    assert [e.step for e in only_request(app, q).evidence] == ["sent", "sent_again", "sent_again"]


def test_a_relance_to_another_contact_readdresses_the_same_request(app, grpc_stub, consume, blobs, tenant, clock):
    q = quote(consume, blobs, tenant, clock)
    first = q.send(otp="email")
    clock.advance(days=4)
    q.send(to=PAUL, otp="email")
    request = only_request(app, q)
    assert request.signer == model.Party(id="contact-8", name="Paul Martin", email="paul@client.fr",
                                         phone="+33 6 22 22 22 22")
    relance = request.evidence[-1]
    assert relance.data["previous_signer"]["email"] == "zoe@client.fr"
    assert relance.data["recipient"]["email"] == "paul@client.fr"
    requested = [e.payload() for e in outbox(app, "signature.requested")]
    assert [(r.request_id, r.signer_email) for r in requested] == [(request.id, "zoe@client.fr"),
                                                                   (request.id, "paul@client.fr")]
    response = grpc_stub.RequestCode(code_request(first), metadata=AUTH)
    assert response.masked_recipient == "p***@client.fr"  # codes go to whom the request is addressed now

    code = sent_code(app, outbox(app, "signature.code_requested")[-1])
    signed = grpc_stub.Sign(sign_request(first, signer_name="Paul Martin", signer_email="paul@client.fr",
                                         otp_code=code), metadata=AUTH)
    request = only_request(app, q)
    assert signed.request_id == request.id and request.signature.signer_contact_id == "contact-8"
    assert [e.step for e in request.evidence] == ["sent", "sent_again", "code_sent", "code_verified",
                                                  "consented", "signed"]


def test_the_first_addressee_signing_through_their_own_link_is_still_identified(app, grpc_stub, consume, blobs,
                                                                                tenant, clock):
    q = quote(consume, blobs, tenant, clock)
    first = q.send()
    q.send(to=PAUL)
    grpc_stub.Sign(sign_request(first, signer_email="zoe@client.fr"), metadata=AUTH)
    request = only_request(app, q)
    assert (request.signature.signer_email, request.signature.signer_contact_id) == ("zoe@client.fr", "contact-7")
    stranger = quote(consume, blobs, tenant, clock)
    sent = stranger.send()
    grpc_stub.Sign(sign_request(sent, signer_email="someone@else.fr"), metadata=AUTH)
    assert only_request(app, stranger).signature.signer_contact_id == ""


def test_a_newer_version_still_supersedes_and_a_late_relance_of_the_older_one_opens_nothing(app, consume, blobs,
                                                                                             tenant, clock):
    q = quote(consume, blobs, tenant, clock)
    q.send(1)
    q.send(1)
    late = q.send(2)
    v2, v1 = requests_of(app, q)
    assert (v1.version, v1.status, [e.step for e in v1.evidence]) == (1, model.SUPERSEDED,
                                                                      ["sent", "sent_again", "superseded"])
    assert (v2.version, v2.status) == (2, model.OPEN)
    q.send(1)  # a relance of version 1 delivered after version 2
    assert [(r.version, r.status, len(r.evidence)) for r in requests_of(app, q)] == [
        (2, model.OPEN, 1), (1, model.SUPERSEDED, 3)]
    q.send(2)
    assert [e.step for e in requests_of(app, q)[0].evidence] == ["sent", "sent_again"]
    assert late.payload().version == 2


def test_a_relance_after_the_signature_opens_nothing(app, grpc_stub, consume, blobs, tenant, clock):
    q = quote(consume, blobs, tenant, clock)
    sent = q.send()
    grpc_stub.Sign(sign_request(sent), metadata=AUTH)
    before = only_request(app, q).evidence_sha256
    q.send()  # crossed the signature on its way
    request = only_request(app, q)
    assert request.status == model.SIGNED and request.evidence_sha256 == before
    assert len(outbox(app, "signature.requested")) == 1


def test_older_data_with_a_request_per_send_joins_the_open_one(app, grpc_stub, consume, blobs, tenant, clock):
    """Before relances joined the open request, each one superseded it and opened another."""
    q = quote(consume, blobs, tenant, clock)
    q.send()
    with app.uow() as uow:
        [old] = uow.requests.for_quote(tenant, q.id)
        assert uow.requests.mark_superseded(old, old.supersede(clock(), 1))
        clock.advance(seconds=1)
        newer = model.SignatureRequest.open(
            id=str(uuid.uuid4()), tenant=tenant, quote_id=q.id, number=old.number, version=1,
            document_sha256=old.document_sha256, signer=old.signer, assignee=old.assignee,
            amount_ttc=old.amount_ttc, currency=old.currency, at=clock(), expires_at=old.expires_at)
        uow.requests.add(newer)
        uow.commit()
    sent = q.send()
    statuses = {r.id: (r.status, [e.step for e in r.evidence]) for r in requests_of(app, q)}
    assert statuses == {old.id: (model.SUPERSEDED, ["sent", "superseded"]),
                        newer.id: (model.OPEN, ["sent", "sent_again"])}
    assert grpc_stub.Sign(sign_request(sent), metadata=AUTH).request_id == newer.id
