"""One-time code problems, with the real signature service behind the portal (over gRPC).

A problem with a code is said on the code field of the page sent back, which keeps its form, and says
what to do next; the quote can still be declined, and signed with a good code. Only a request that is
really closed (signed, declined, superseded, expired) is the 409 page.
"""
from __future__ import annotations

import html as html_lib
import re
from dataclasses import replace

import pytest

from quoteflow.auth import KeyRing
from quoteflow.envelope import Envelope
from quoteflow.errors import FailedPrecondition, InvalidArgument, ResourceExhausted
from quoteflow.grpcserver import build_server
from quoteflow.v1 import events_pb2, signature_pb2, signature_pb2_grpc
from services.portal.adapters.signature import GrpcSigner
from services.portal.handlers import CODE_PROBLEMS, code_problem
from services.portal.i18n import catalogue
from services.signature.bootstrap import bootstrap
from services.signature.domain import commands
from services.signature.entrypoints.consumer import make_handler
from services.signature.entrypoints.grpc_api import SignatureServicer
from tests.integration.portal.world import World
from tests.integration.signature.support import SERVICE_KEY, Clock, make_config, outbox, quote_pdf, sent_code

WRONG_4 = "Code incorrect : il vous reste 4 essais."
LOCKED = "Trop d'essais avec ce code : demandez-en un nouveau."
EXPIRED = "Ce code a expiré : demandez-en un nouveau."
USED_UP = "Vous avez demandé trop de codes pour ce devis : contactez votre interlocuteur commercial."
NOT_SENT = "Ce code n'est plus valable : demandez-en un nouveau."
CLOSED = "Ce devis ne peut plus être signé ni refusé"


class Stack:
    """The portal (World) and the real signature service sharing one blob folder; both hear each send."""

    def __init__(self, tmp_path):
        self.clock = Clock()  # the signature service's time; the portal keeps the real one
        config = make_config(tmp_path / "signature")
        config = replace(config, common=replace(config.common, blob_dir=tmp_path / "portal" / "blobs"))
        self.signature = bootstrap(config, clock=self.clock)
        self.server, port, _ = build_server(
            "127.0.0.1:0",
            [lambda s: signature_pb2_grpc.add_SignatureServiceServicer_to_server(SignatureServicer(self.signature), s)],
            [signature_pb2.DESCRIPTOR.services_by_name["SignatureService"].full_name], KeyRing({}, SERVICE_KEY))
        self.server.start()
        self.world = World(tmp_path / "portal", signer=GrpcSigner(f"127.0.0.1:{port}", SERVICE_KEY, timeout=10))
        self.to_signature = make_handler(self.signature)

    def close(self):
        self.world.close()
        self.server.stop(0).wait()
        self.signature.engine.dispose()

    def send(self, **kw) -> dict:
        sent = self.world.send(pdf=kw.pop("pdf", None) or quote_pdf(), **kw)
        self.to_signature(sent["envelope"])
        return sent

    def last_code(self) -> str:
        return sent_code(self.signature, outbox(self.signature, "signature.code_requested")[-1])

    # --- as the client's browser ----------------------------------------------------------------

    def fields(self, token: str) -> dict:
        form = re.search(r'<form method="post" action="[^"]+/sign".*?</form>', self.world.page(token), re.S).group(0)
        return dict(re.findall(r'<input type="hidden"[^>]*name="([^"]+)" value="([^"]*)"', form))

    def post(self, token: str, route: str = "sign", **form):
        fields = self.fields(token)
        data = {"csrf_token": fields["csrf_token"], "vue": fields["vue"], "signer_name": "Zoé Bérénice",
                "consent": "on", **form}
        return self.world.post(f"/d/{token}/{route}", data)

    def ask_code(self, token: str):
        return self.post(token, action="code")

    def sign(self, token: str, code: str):
        return self.post(token, action="sign", otp_code=code)


@pytest.fixture
def stack(tmp_path):
    s = Stack(tmp_path)
    yield s
    s.close()


def newer_version(sent: dict, pdf_sha256: str) -> Envelope:
    """The quote.sent of the next version of ``sent``, for the signature service only."""
    payload = events_pb2.QuoteSent()
    payload.CopyFrom(sent["envelope"].payload())
    payload.version, payload.pdf_sha256 = sent["version"] + 1, pdf_sha256
    return Envelope.wrap(payload, source="quoteflow/quotes", subject=f"quote/{sent['quote_id']}",
                         tenant=sent["envelope"].tenant)


def code_error(response) -> str:
    """The message on the code field of the page sent back, which must still hold the signing form."""
    html = response.get_data(as_text=True)
    assert 'action="' in html and re.search(r'name="signer_name"[^>]* value="Zoé Bérénice"', html), "the form is gone"
    assert re.search(r'id="otp_code"[^>]*aria-invalid="true" aria-describedby="otp_code-error"', html)
    found = re.search(r'<p class="field-error" id="otp_code-error">([^<]*)</p>', html)
    assert found, "no problem on the code field"
    return html_lib.unescape(found.group(1))


def wrong(code: str) -> str:
    return f"{(int(code) + 1) % 10 ** 6:06d}"


def test_a_wrong_code_says_how_many_attempts_are_left_then_the_right_one_is_locked(stack):
    sent = stack.send(signature_otp="email")
    token = sent["token"]
    assert stack.ask_code(token).status_code == 200
    code = stack.last_code()

    response = stack.sign(token, wrong(code))
    assert response.status_code == 400 and code_error(response) == WRONG_4
    assert [code_error(stack.sign(token, wrong(code))) for _ in range(3)] == [
        "Code incorrect : il vous reste 3 essais.", "Code incorrect : il vous reste 2 essais.",
        "Code incorrect : il vous reste 1 essai."]
    assert code_error(stack.sign(token, wrong(code))) == LOCKED
    response = stack.sign(token, code)  # the right code, after five wrong ones
    assert response.status_code == 400 and code_error(response) == LOCKED

    stack.clock.advance(seconds=30)
    assert stack.ask_code(token).status_code == 200
    signed = stack.sign(token, stack.last_code())
    assert signed.status_code == 303 and "signe=1" in signed.headers["Location"]


def test_an_expired_code_says_to_ask_for_a_new_one(stack):
    sent = stack.send(signature_otp="sms")
    token = sent["token"]
    stack.ask_code(token)
    code = stack.last_code()
    stack.clock.advance(minutes=10)
    response = stack.sign(token, code)
    assert response.status_code == 400 and code_error(response) == EXPIRED
    assert stack.ask_code(token).status_code == 200
    assert stack.sign(token, stack.last_code()).status_code == 303


def test_a_code_asked_too_soon_says_how_long_to_wait_and_keeps_the_form(stack):
    sent = stack.send(signature_otp="email")
    token = sent["token"]
    stack.ask_code(token)
    response = stack.ask_code(token)
    assert response.status_code == 400
    message = code_error(response)
    wait = re.fullmatch(r"Un code vient de vous être envoyé : patientez (\d+) secondes avant d'en demander un autre\.",
                        message)
    assert wait and 1 <= int(wait.group(1)) <= 30, message
    assert "Patientez quelques minutes" not in stack.world.text(response.get_data(as_text=True))
    assert stack.sign(token, stack.last_code()).status_code == 303  # the code sent first still signs


def test_no_more_codes_says_to_contact_the_salesperson_only_when_none_can_be_had(stack):
    sent = stack.send(signature_otp="email")
    token = sent["token"]
    for _ in range(5):
        assert stack.ask_code(token).status_code == 200
        stack.clock.advance(seconds=30)
    response = stack.ask_code(token)
    assert response.status_code == 400 and code_error(response) == USED_UP

    fifth = stack.last_code()
    assert [code_error(stack.sign(token, wrong(fifth))) for _ in range(4)][0] == WRONG_4
    assert code_error(stack.sign(token, wrong(fifth))) == USED_UP   # last attempt of the last code
    assert code_error(stack.sign(token, fifth)) == USED_UP

    declined = stack.post(token, route="refuser", reason="Nous ne pouvons plus signer en ligne.")
    assert declined.status_code == 303  # the quote can still be declined


def test_the_last_code_still_signs_after_codes_are_used_up(stack):
    sent = stack.send(signature_otp="email")
    token = sent["token"]
    for _ in range(5):
        stack.ask_code(token)
        stack.clock.advance(seconds=30)
    assert code_error(stack.ask_code(token)) == USED_UP
    assert stack.sign(token, stack.last_code()).status_code == 303


def test_a_code_typed_after_a_reminder_is_no_409(stack):
    sent = stack.send(signature_otp="email")
    token, pdf = sent["token"], stack.world.blobs.get(sent["pdf_sha256"])
    stack.ask_code(token)
    code = stack.last_code()
    stack.send(quote_id=sent["quote_id"], version=1, number=sent["number"], pdf=pdf, signature_otp="email")
    response = stack.sign(token, code)
    if response.status_code == 400:  # the reminder opened a new request: the code sent before is void
        assert code_error(response) == NOT_SENT
        stack.clock.advance(seconds=30)
        assert stack.ask_code(token).status_code == 200
        response = stack.sign(token, stack.last_code())
    assert response.status_code == 303


def test_a_closed_request_keeps_the_409_page_and_says_why(stack):
    superseded = stack.send(signature_otp="email")
    stack.ask_code(superseded["token"])
    code = stack.last_code()
    stack.to_signature(newer_version(superseded, stack.world.blobs.put(quote_pdf())))  # the portal hears it later
    response = stack.sign(superseded["token"], code)
    assert response.status_code == 409
    text = stack.world.text(response.get_data(as_text=True))
    assert "Une version plus récente de ce devis vous a été envoyée" in text and CLOSED not in text

    declined = stack.send(signature_otp="email")
    stack.ask_code(declined["token"])
    code = stack.last_code()
    stack.signature.handle(commands.Decline(tenant=stack.world.tenant, quote_id=declined["quote_id"], version=1,
                                            reason="Trop cher"))
    response = stack.sign(declined["token"], code)
    assert response.status_code == 409
    text = stack.world.text(response.get_data(as_text=True))
    assert "Ce devis a été refusé : il ne peut plus être signé." in text and CLOSED not in text


# --- the mapping, with the recording stand-in ------------------------------------------------------

def test_every_code_problem_has_its_french_text():
    texts = catalogue("fr")
    for reason in CODE_PROBLEMS:
        for info in ({}, {"attempts_left": "1", "retry_after_seconds": "1", "digits": "6"},
                     {"attempts_left": "0", "codes_left": "0", "retry_after_seconds": "12", "digits": "6"},
                     {"attempts_left": "x" * 20, "retry_after_seconds": "-3"}):
            key, values = code_problem(reason, info)
            assert "{" not in texts(f"field.{key}", **values), (reason, info)
    assert code_problem("CODE_RESEND_TOO_SOON", {"retry_after_seconds": "12"}) == ("otp_wait",
                                                                                   {"retry_after_seconds": 12})
    assert code_problem("CODE_EXPIRED", {"codes_left": "2"}) == ("otp_expired", {})
    assert code_problem("CODE_EXPIRED", {"codes_left": "0"}) == ("otp_used_up", {})


def test_refusals_with_a_reason_from_a_stand_in_land_on_the_code_field(world):
    sent = world.send(signature_otp="email")
    token = sent["token"]
    html = world.page(token)
    form = re.search(r'<form method="post" action="[^"]+/sign".*?</form>', html, re.S).group(0)
    fields = dict(re.findall(r'<input type="hidden"[^>]*name="([^"]+)" value="([^"]*)"', form))

    def post(**data):
        return world.post(f"/d/{token}/sign", {"csrf_token": fields["csrf_token"], "signer_name": "Zoé Bérénice",
                                               "consent": "on", **data})

    assert post(action="code").status_code == 200
    world.servicer.refuse["RequestCode"] = ResourceExhausted("wait", reason="CODE_RESEND_TOO_SOON",
                                                             info={"retry_after_seconds": 1})
    assert code_error(post(action="code")) == ("Un code vient de vous être envoyé : patientez 1 seconde avant "
                                               "d'en demander un autre.")
    world.servicer.refuse["Sign"] = InvalidArgument({"otp_code": "wrong code: 1 attempt left"}, reason="CODE_WRONG",
                                                    info={"attempts_left": 1, "codes_left": 3})
    assert code_error(post(action="sign", otp_code="111111")) == "Code incorrect : il vous reste 1 essai."
    world.servicer.refuse["Sign"] = FailedPrecondition("no code", reason="CODE_NOT_SENT", info={"codes_left": 5})
    assert code_error(post(action="sign", otp_code="111111")) == NOT_SENT
    world.servicer.refuse["Sign"] = FailedPrecondition("quote expired", reason="REQUEST_EXPIRED")
    response = post(action="sign", otp_code="111111")
    assert response.status_code == 409
    assert "La validité de ce devis est dépassée" in world.text(response.get_data(as_text=True))
