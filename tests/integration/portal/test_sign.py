"""Signing, the one-time code and declining, through a real gRPC server standing in for the signature service."""
from __future__ import annotations

import base64
import re
import struct
import zlib

from quoteflow.errors import FailedPrecondition, InvalidArgument
from services.portal.adapters.signature import GrpcSigner
from services.portal.domain.model import csrf_token, token_hash

SAFARI = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 Version/17.4 Mobile Safari/604.1"


def png(width=40, height=20) -> bytes:
    """A real (tiny) PNG: a dark stroke on white, as a canvas would give."""
    rows = b"".join(b"\x00" + b"".join(b"\x1d\x24\x30\xff" if y == x // 2 else b"\xff\xff\xff\x00"
                                       for x in range(width)) for y in range(height))

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 6, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))


def form_fields(html: str, action: str) -> dict:
    form = re.search(rf'<form method="post" action="[^"]+/{action}".*?</form>', html, re.S).group(0)
    return {name: value for name, value in re.findall(r'<input type="hidden"[^>]*name="([^"]+)" value="([^"]*)"', form)}


def post(world, token, route="sign", **form):
    return world.client.post(f"/d/{token}/{route}", data=form, headers={"User-Agent": SAFARI},
                             environ_base={"REMOTE_ADDR": "192.0.2.44"})


def csrf_of(world, token):
    return form_fields(world.page(token), "sign")["csrf_token"]


def test_sign_calls_the_signature_service_and_shows_signed(world):
    sent = world.send(signature_requested=True)
    response = post(world, sent["token"], csrf_token=csrf_of(world, sent["token"]), consent="on",
                    signer_name="  Zoé   Bérénice-Lætitia ")
    assert response.status_code == 303
    assert response.headers["Location"].startswith(f"/d/{sent['token']}")

    [request] = world.servicer.requests
    assert request.tenant_id == world.tenant
    assert request.quote_id == sent["quote_id"]
    assert request.version == 1
    assert request.document_sha256 == sent["pdf_sha256"]
    assert request.signer_name == "Zoé Bérénice-Lætitia"
    assert request.consent is True
    assert request.consent_text.replace("\u202f", " ").replace("\u00a0", " ") == (
        f"En signant, j'accepte le devis n° {sent['number']} d'un montant de 1 447,46 € TTC.")
    assert request.ip == "192.0.2.44"
    assert request.user_agent == SAFARI
    assert request.signer_email == "zoe@example.fr"
    assert request.otp_code == "" and request.signature_png == b""

    page = world.text(world.client.get(response.headers["Location"]).get_data(as_text=True))
    assert "Merci, votre signature a bien été enregistrée." in page
    assert "Devis signé par Zoé Bérénice-Lætitia le 6 mars 2025 à 10:30" in page
    assert "En signant" not in page and "Refuser le devis" not in page

    csrf = csrf_token(world.config.secret_key, token_hash(sent["token"]))
    again = post(world, sent["token"], csrf_token=csrf, consent="on", signer_name="Zoé B")
    assert again.status_code == 409
    assert "Ce devis a déjà été signé." in world.text(again.get_data(as_text=True))
    assert len(world.servicer.requests) == 1


def test_a_drawn_signature_goes_to_the_signature_service_as_png_bytes(world):
    sent = world.send()
    drawn = png()
    response = post(world, sent["token"], csrf_token=csrf_of(world, sent["token"]), consent="on",
                    signer_name="Zoé Bérénice",
                    signature_png="data:image/png;base64," + base64.b64encode(drawn).decode())
    assert response.status_code == 303
    assert world.servicer.requests[0].signature_png == drawn


def test_a_drawing_that_is_not_a_png_is_refused_and_never_echoed(world):
    sent = world.send()
    bogus = "data:image/png;base64," + base64.b64encode(b"<svg onload=alert(1)>").decode()
    for value in (bogus, "javascript:alert(1)", "data:text/html;base64,PHNjcmlwdD4="):
        response = post(world, sent["token"], csrf_token=csrf_of(world, sent["token"]), consent="on",
                        signer_name="Zoé Bérénice", signature_png=value)
        assert response.status_code == 400
        html = response.get_data(as_text=True)
        assert "Le dessin de votre signature n'a pas pu être lu" in world.text(html)
        assert 'name="signature_png" value=""' in html
    assert world.servicer.requests == []


def test_missing_consent_or_name_reshows_the_form_with_what_was_typed(world):
    sent = world.send()
    csrf = csrf_of(world, sent["token"])
    response = post(world, sent["token"], csrf_token=csrf, signer_name="Zoé <b>B</b>")
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    text = world.text(html)
    assert "Veuillez cocher la case pour accepter le devis." in text
    assert 'value="Zoé &lt;b&gt;B&lt;/b&gt;"' in html
    assert 'role="alert"' in html and 'aria-invalid="true"' in html
    response = post(world, sent["token"], csrf_token=csrf, consent="on", signer_name=" ")
    assert response.status_code == 400
    assert "Veuillez saisir vos nom et prénom." in world.text(response.get_data(as_text=True))
    assert 'id="consent" name="consent" value="on" required checked' in response.get_data(as_text=True)
    assert world.servicer.requests == []


def test_invalid_argument_from_signature_is_a_400_with_the_form(world):
    sent = world.send()
    world.servicer.refuse["Sign"] = InvalidArgument({"signer_name": "must not be empty"})
    response = post(world, sent["token"], csrf_token=csrf_of(world, sent["token"]), consent="on",
                    signer_name="Zoé Bérénice")
    assert response.status_code == 400
    text = world.text(response.get_data(as_text=True))
    assert "Veuillez saisir vos nom et prénom." in text
    assert "Signer" in text
    assert len(world.servicer.requests) == 1


def test_failed_precondition_from_signature_is_a_409(world):
    sent = world.send()
    world.servicer.refuse["Sign"] = FailedPrecondition("document hash does not match the open request")
    response = post(world, sent["token"], csrf_token=csrf_of(world, sent["token"]), consent="on",
                    signer_name="Zoé Bérénice")
    assert response.status_code == 409
    assert "ne peut plus être signé" in world.text(response.get_data(as_text=True))
    page = world.text(world.page(sent["token"]))
    assert "Devis signé" not in page


def test_signature_service_down_is_a_503_and_nothing_is_signed(make_world):
    world = make_world(signer=GrpcSigner("127.0.0.1:1", "k", timeout=1))
    sent = world.send()
    response = post(world, sent["token"], csrf_token=csrf_of(world, sent["token"]), consent="on",
                    signer_name="Zoé Bérénice")
    assert response.status_code == 503
    assert "Rien n'a été enregistré" in world.text(response.get_data(as_text=True))
    assert "Devis signé" not in world.text(world.page(sent["token"]))


# --- one-time code --------------------------------------------------------------------------

def test_one_time_code_is_asked_for_then_typed(world):
    sent = world.send(signature_otp="email")
    html = world.page(sent["token"])
    text = world.text(html)
    assert "Pour signer, demandez un code à usage unique : il vous sera envoyé par email." in text
    assert 'name="otp_code"' not in html and ">Signer</button>" not in html
    assert re.search(r'<button type="submit" name="action" value="code"[^>]*formnovalidate>Recevoir un code<', html)

    fields = form_fields(html, "sign")
    response = post(world, sent["token"], csrf_token=fields["csrf_token"], vue=fields["vue"],
                    signer_name="Zoé Bérénice", consent="on", action="code")
    assert response.status_code == 200
    [asked] = world.servicer.calls["RequestCode"]
    assert asked.tenant_id == world.tenant and asked.quote_id == sent["quote_id"] and asked.version == 1
    assert asked.ip == "192.0.2.44" and asked.user_agent == SAFARI
    html = response.get_data(as_text=True)
    assert "Un code vous a été envoyé par email à z***@example.fr. Il est valable jusqu'à" in world.text(html)
    assert 'value="Zoé Bérénice"' in html and "checked" in html  # what was typed is kept
    assert 'autocomplete="one-time-code"' in html
    # The signing button comes first in the form, so Enter in the code field signs.
    assert html.index(">Signer</button>") < html.index(">Recevoir un nouveau code</button>")
    # The code request survives a reload of the page.
    assert 'name="otp_code"' in world.page(sent["token"])

    missing = post(world, sent["token"], csrf_token=fields["csrf_token"], signer_name="Zoé Bérénice",
                   consent="on", action="sign")
    assert missing.status_code == 400
    assert "Saisissez le code reçu" in world.text(missing.get_data(as_text=True))
    assert world.servicer.requests == []

    world.servicer.refuse["Sign"] = InvalidArgument({"otp_code": "code does not match"})
    wrong = post(world, sent["token"], csrf_token=fields["csrf_token"], signer_name="Zoé Bérénice",
                 consent="on", otp_code="000000", action="sign")
    assert wrong.status_code == 400
    assert "Le code saisi n'est pas valide ou a expiré" in world.text(wrong.get_data(as_text=True))
    del world.servicer.refuse["Sign"]

    signed = post(world, sent["token"], csrf_token=fields["csrf_token"], signer_name="Zoé Bérénice",
                  consent="on", otp_code=" 482 913 ", action="sign")
    assert signed.status_code == 303
    assert world.servicer.requests[-1].otp_code == "482913"


def test_too_many_codes_is_a_429(world):
    import grpc

    sent = world.send(signature_otp="sms")
    assert "il vous sera envoyé par SMS" in world.text(world.page(sent["token"]))

    world.servicer.refuse["RequestCode"] = grpc.StatusCode.RESOURCE_EXHAUSTED
    response = post(world, sent["token"], csrf_token=csrf_of(world, sent["token"]), action="code")
    assert response.status_code == 429
    assert "Trop de demandes" in world.text(response.get_data(as_text=True))


def test_no_code_is_asked_for_when_the_tenant_does_not_require_one(world):
    sent = world.send(signature_otp="")
    response = post(world, sent["token"], csrf_token=csrf_of(world, sent["token"]), action="code")
    assert response.status_code == 409
    assert world.servicer.calls["RequestCode"] == []


# --- declining --------------------------------------------------------------------------------

def test_decline_with_a_reason_then_the_page_says_so(world):
    sent = world.send()
    fields = form_fields(world.page(sent["token"]), "refuser")
    reason = "Trop cher <b>pour nous</b>\r\nNous revenons vers vous en septembre."
    response = post(world, sent["token"], route="refuser", reason=reason, name="Zoé Bérénice", **fields)
    assert response.status_code == 303
    [declined] = world.servicer.calls["Decline"]
    assert declined.tenant_id == world.tenant and declined.quote_id == sent["quote_id"] and declined.version == 1
    assert declined.reason == "Trop cher <b>pour nous</b>\nNous revenons vers vous en septembre."
    assert declined.signer_name == "Zoé Bérénice" and declined.signer_email == "zoe@example.fr"
    assert declined.ip == "192.0.2.44" and declined.user_agent == SAFARI
    html = world.client.get(response.headers["Location"]).get_data(as_text=True)
    text = world.text(html)
    assert "Votre refus a bien été transmis." in text
    assert "Vous avez refusé ce devis le 7 mars 2025 à 09:15." in text
    assert "Motif : Trop cher <b>pour nous</b>" in text and "&lt;b&gt;pour nous&lt;/b&gt;" in html
    assert "Si vous changez d'avis" in text and "mailto:helene.martin@dupre.example" in html
    assert "Signer le devis" not in text and "Télécharger PDF" in text
    assert len(world.outbox("portal.quote_viewed")) == 1  # declining from the page is a person's view


def test_decline_needs_a_reason(world):
    sent = world.send()
    fields = form_fields(world.page(sent["token"]), "refuser")
    response = post(world, sent["token"], route="refuser", reason="  ", **fields)
    assert response.status_code == 400
    text = world.text(response.get_data(as_text=True))
    assert "Veuillez indiquer la raison de votre refus." in text
    assert world.servicer.calls["Decline"] == []


def test_signature_declined_event_marks_the_version_declined(world):
    sent = world.send()
    envelope = world.declined(sent, reason="Nous avons choisi un autre prestataire.")
    world.consume(envelope)  # redelivery: no-op
    text = world.text(world.page(sent["token"]))
    assert "Vous avez refusé ce devis le 15 juillet 2025 à 10:00." in text
    assert "Motif : Nous avons choisi un autre prestataire." in text
    assert "Signer le devis" not in text
    csrf = csrf_token(world.config.secret_key, token_hash(sent["token"]))
    refused = post(world, sent["token"], csrf_token=csrf, consent="on", signer_name="Zoé Bérénice")
    assert refused.status_code == 409
    assert "Ce devis a été refusé" in world.text(refused.get_data(as_text=True))


def test_a_signed_quote_cannot_be_declined_afterwards(world):
    sent = world.send()
    world.completed(sent)
    world.declined(sent, reason="trop tard")
    text = world.text(world.page(sent["token"]))
    assert "Devis signé par Zoé Bérénice" in text and "refusé" not in text


# --- the signed copy ------------------------------------------------------------------------

def test_signature_completed_event_marks_signed_and_offers_the_signed_copy(world):
    sealed = b"%PDF-1.7 sealed copy " + bytes(range(256))
    sent = world.send(number="DV-2026-00001")
    envelope = world.completed(sent, signed_pdf=sealed)
    world.consume(envelope)  # redelivery: no-op
    html = world.page(sent["token"])
    text = world.text(html)
    assert "Devis signé par Zoé Bérénice le 14 juillet 2025 à 18:05" in text
    assert "En signant" not in text
    assert "Pour toute question sur la suite" in text
    href = re.search(r'href="([^"]+)"[^>]*>Télécharger le devis signé<', html).group(1)
    response = world.get(href)
    assert response.status_code == 200 and response.get_data() == sealed
    assert response.headers["Content-Disposition"] == 'attachment; filename="Devis-DV-2026-00001-signe.pdf"'
    assert world.outbox("portal.quote_downloaded") == []  # the quote's download counter is the offer's


def test_signed_copy_not_yet_in_the_blob_store_says_so(world):
    sent = world.send()
    world.completed(sent)  # names a blob that is not there (yet)
    text = world.text(world.page(sent["token"]))
    assert "L'exemplaire signé est en cours de préparation" in text
    assert world.get(f"/d/{sent['token']}/pdf-signe").status_code == 503
    unsigned = world.send()
    assert world.get(f"/d/{unsigned['token']}/pdf-signe").status_code == 503
