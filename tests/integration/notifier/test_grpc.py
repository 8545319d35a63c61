"""NotifierService over a real gRPC server built by the kernel, with a test tenant's API key."""
import uuid

import grpc
import pytest

from quoteflow.auth import KeyRing, hash_key, new_key
from quoteflow.decimals import HOW_TO_WRITE
from quoteflow.grpcserver import build_server
from quoteflow.v1 import common_pb2, notifier_pb2, notifier_pb2_grpc, quotes_pb2
from services.notifier.bootstrap import bootstrap
from services.notifier.entrypoints.grpc_api import SERVICE_NAME, NotifierServicer, register


@pytest.fixture
def served(cfg, tenant):
    app = bootstrap(cfg)
    key, other_key = new_key(), new_key()
    other_tenant = f"other-{uuid.uuid4().hex[:8]}"
    keyring = KeyRing({hash_key(key): tenant, hash_key(other_key): other_tenant})
    server, port, _ = build_server("127.0.0.1:0", [register(NotifierServicer(app))], [SERVICE_NAME], keyring)
    server.start()
    channel = grpc.insecure_channel(f"127.0.0.1:{port}")
    stub = notifier_pb2_grpc.NotifierServiceStub(channel)
    yield app, stub, [("authorization", f"Bearer {key}")], [("authorization", f"Bearer {other_key}")]
    channel.close()
    server.stop(0).wait()
    app.engine.dispose()


def test_preview_renders_the_send_template_with_the_link(served):
    _, stub, auth, _ = served
    link = "http://127.0.0.1:8080/d/tok"
    preview = stub.PreviewEmail(notifier_pb2.PreviewEmailRequest(
        template="quote_send", variables={"quote_number": "DV-7", "recipient_name": "Zoé <b>", "link_url": link}),
        metadata=auth)
    assert preview.subject == "Votre devis DV-7"
    assert "Bonjour Zoé <b>," in preview.body_text and f"Accéder au document : {link}" in preview.body_text
    assert "Zoé &lt;b&gt;" in preview.body_html and f'href="{link}"' in preview.body_html


def test_preview_of_an_unknown_template_is_not_found_naming_it(served):
    _, stub, auth, _ = served
    with pytest.raises(grpc.RpcError) as caught:
        stub.PreviewEmail(notifier_pb2.PreviewEmailRequest(template="nope"), metadata=auth)
    assert caught.value.code() == grpc.StatusCode.NOT_FOUND and "'nope'" in caught.value.details()


def test_calls_without_a_key_are_unauthenticated(served):
    _, stub, _, _ = served
    with pytest.raises(grpc.RpcError) as caught:
        stub.GetPreferences(notifier_pb2.GetPreferencesRequest(user_id="u1"))
    assert caught.value.code() == grpc.StatusCode.UNAUTHENTICATED


def test_preferences_round_trip_per_tenant(served):
    _, stub, auth, other = served
    user = f"user-{uuid.uuid4().hex[:6]}"
    default = stub.GetPreferences(notifier_pb2.GetPreferencesRequest(user_id=user), metadata=auth)
    assert (default.on_view_email, default.on_view_sms, default.on_download_email, default.on_download_sms) == (
        True, False, True, False)
    saved = stub.SetPreferences(notifier_pb2.Preferences(user_id=user, on_view_email=False, on_view_sms=True,
                                                         on_download_email=True, on_download_sms=True),
                                metadata=auth)
    again = stub.GetPreferences(notifier_pb2.GetPreferencesRequest(user_id=user), metadata=auth)
    assert saved == again and again.on_view_sms and not again.on_view_email
    theirs = stub.GetPreferences(notifier_pb2.GetPreferencesRequest(user_id=user), metadata=other)
    assert theirs.on_view_email and not theirs.on_view_sms
    with pytest.raises(grpc.RpcError) as caught:
        stub.GetPreferences(notifier_pb2.GetPreferencesRequest(user_id=""), metadata=auth)
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT


def test_list_deliveries_is_scoped_to_the_callers_tenant(served, quote_sent):
    app, stub, auth, other = served
    envelope = quote_sent()
    quote_id = envelope.payload().quote_id
    app.handle_event(envelope)
    app.dispatch_due()
    [delivery] = stub.ListDeliveries(notifier_pb2.ListDeliveriesRequest(quote_id=quote_id), metadata=auth).deliveries
    assert (delivery.channel, delivery.recipient, delivery.status, delivery.template) == (
        "email", "zoe@client.example", "sent", "quote_send")
    assert delivery.event_id == envelope.id and delivery.attempts == 1 and delivery.sent_at.endswith("Z")
    assert delivery.subject == "Votre devis DV-2026-0042 – Acme & Fils"
    assert not stub.ListDeliveries(notifier_pb2.ListDeliveriesRequest(quote_id=quote_id), metadata=other).deliveries


def bad_request(error) -> dict:
    from google.rpc import error_details_pb2
    from grpc_status import rpc_status

    status = rpc_status.from_call(error)
    detail = error_details_pb2.BadRequest()
    status.details[0].Unpack(detail)
    return {v.field: v.description for v in detail.field_violations}


def test_templates_listed_read_saved_versioned_and_reverted(served):
    _, stub, auth, other = served
    listed = stub.ListTemplates(notifier_pb2.ListTemplatesRequest(), metadata=auth).templates
    assert [t.name for t in listed][:3] == ["quote_send", "quote_relance", "quote_signature_request"]
    send = next(t for t in listed if t.name == "quote_send")
    assert send.version == 0 and send.title == "Envoi du devis" and not send.customized
    assert {v.name for v in send.variables if v.required} == {"link_url"}
    assert "Accéder au document : {{ link_url }}" in send.content.text
    content = notifier_pb2.TemplateContent(subject="Devis {{ quote_number }}", text="Lien : {{ link_url }}",
                                           html='<a href="{{ link_url }}">Accéder au document</a>')
    saved = stub.SaveTemplate(notifier_pb2.SaveTemplateRequest(name="quote_send", content=content,
                                                               saved_by="Chloé"), metadata=auth)
    assert (saved.version, saved.saved_by, saved.customized) == (1, "Chloé", True) and saved.saved_at
    stub.SaveTemplate(notifier_pb2.SaveTemplateRequest(name="quote_send", content=send.content,
                                                       expected_version=1), metadata=auth)
    versions = stub.ListTemplateVersions(notifier_pb2.ListTemplateVersionsRequest(name="quote_send"),
                                         metadata=auth).versions
    assert [(v.version, v.subject) for v in versions][1] == (1, "Devis {{ quote_number }}")
    old = stub.GetTemplate(notifier_pb2.GetTemplateRequest(name="quote_send", version=1), metadata=auth)
    reverted = stub.SaveTemplate(notifier_pb2.SaveTemplateRequest(name="quote_send", content=old.content),
                                 metadata=auth)
    assert reverted.version == 3 and reverted.content == content
    theirs = stub.GetTemplate(notifier_pb2.GetTemplateRequest(name="quote_send"), metadata=other)
    assert theirs.version == 0
    with pytest.raises(grpc.RpcError) as caught:
        stub.SaveTemplate(notifier_pb2.SaveTemplateRequest(name="quote_send", content=content,
                                                           expected_version=1), metadata=auth)
    assert caught.value.code() == grpc.StatusCode.ABORTED


def test_saving_a_send_template_without_the_link_is_invalid_argument_saying_why(served):
    _, stub, auth, _ = served
    content = notifier_pb2.TemplateContent(subject="Devis", text="Bonjour, voici le devis.",
                                           html='<a href="{{ link_url }}">Accéder au document</a>')
    with pytest.raises(grpc.RpcError) as caught:
        stub.SaveTemplate(notifier_pb2.SaveTemplateRequest(name="quote_relance", content=content), metadata=auth)
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    violations = bad_request(caught.value)
    assert list(violations) == ["text"] and "Accéder au document" in violations["text"]
    assert "text:" in caught.value.details()
    content.text = "Bonjour {{ prenom }}\n{{ link_url }}"
    with pytest.raises(grpc.RpcError) as caught:
        stub.SaveTemplate(notifier_pb2.SaveTemplateRequest(name="quote_relance", content=content), metadata=auth)
    assert bad_request(caught.value)["text"].startswith("ligne 1 : variable inconnue « prenom »")


def test_preview_with_the_real_quotes_data(served, quote_sent):
    app, stub, auth, other = served
    envelope = quote_sent()
    app.handle_event(envelope)
    request = notifier_pb2.PreviewEmailRequest(template="quote_relance", quote_id=envelope.payload().quote_id,
                                               variables={"recipient_name": "M. Paul"})
    preview = stub.PreviewEmail(request, metadata=auth)
    assert preview.quote_known and preview.template == "quote_relance" and not preview.missing_variables
    assert preview.subject == "Relance : votre devis DV-2026-0042 – Acme & Fils"
    assert preview.body_text.startswith("Bonjour M. Paul,") and envelope.payload().link_url not in preview.body_html
    assert "Accéder au document : [lien personnel créé à l'envoi]" in preview.body_text  # a relance makes a new one
    elsewhere = stub.PreviewEmail(request, metadata=other)  # another tenant does not see this quote
    assert not elsewhere.quote_known and "quote_number" in elsewhere.missing_variables
    assert "Accéder au document : [lien personnel créé à l'envoi]" in elsewhere.body_text
    sms = stub.PreviewEmail(notifier_pb2.PreviewEmailRequest(template="signature_code", fill_samples=True),
                            metadata=auth)
    assert "482913" in sms.sms_text


def test_the_send_screen_previews_a_quote_never_sent_from_what_getquote_returns(served, quote_sent):
    app, stub, auth, _ = served
    app.handle_event(quote_sent())  # another quote of this tenant, sent before: its company name is known
    draft = quotes_pb2.Quote(id="q-draft", number="DV-2026-00002", status="Brouillon", title="Fenêtres PVC",
                             valid_until="2026-05-31",
                             totals=common_pb2.Totals(total_ht="1000.00", total_ttc="1200.00", currency="EUR"))
    request = notifier_pb2.PreviewEmailRequest(
        template="quote_send", quote_id="q-draft", quote=draft,
        variables={"recipient_name": "Hélène Gaëtan-Müller", "assignee_name": "Jérôme Œuvre"})
    preview = stub.PreviewEmail(request, metadata=auth)
    assert not preview.quote_known
    assert preview.subject == "Votre devis DV-2026-00002 – Acme & Fils"
    assert ("Nous avons le plaisir de vous transmettre notre devis DV-2026-00002 « Fenêtres PVC », d'un montant "
            "de 1\u202f200,00\u00a0€ TTC.\nIl est valable jusqu'au 31 mai 2026.") in preview.body_text
    assert "Accéder au document : [lien personnel créé à l'envoi]" in preview.body_text
    assert "[lien personnel créé à l&#39;envoi]" in preview.body_html
    assert "Cordialement,\nJérôme Œuvre\nAcme & Fils" in preview.body_text
    assert set(preview.missing_variables) <= {"account_name", "recipient_email", "assignee_email", "assignee_phone"}


def test_a_previewed_quote_whose_totals_are_not_in_the_wire_form_is_refused_naming_them(served):
    _, stub, auth, _ = served
    draft = quotes_pb2.Quote(id="q-draft", number="DV-2026-00002",
                             totals=common_pb2.Totals(total_ht="1000.00", total_ttc="1 200,00", currency="EUR"))
    with pytest.raises(grpc.RpcError) as caught:
        stub.PreviewEmail(notifier_pb2.PreviewEmailRequest(template="quote_send", quote=draft), metadata=auth)
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert bad_request(caught.value) == {"quote.totals.total_ttc": f"'1 200,00' has a comma: {HOW_TO_WRITE}"}


def test_deliveries_carry_their_times(served, quote_sent):
    app, stub, auth, _ = served
    envelope = quote_sent()
    app.handle_event(envelope)
    [queued] = stub.ListDeliveries(notifier_pb2.ListDeliveriesRequest(quote_id=envelope.payload().quote_id),
                                   metadata=auth).deliveries
    assert queued.status == "queued" and queued.next_attempt_at and not queued.last_attempt_at
    app.dispatch_due()
    [sent] = stub.ListDeliveries(notifier_pb2.ListDeliveriesRequest(quote_id=envelope.payload().quote_id),
                                 metadata=auth).deliveries
    assert sent.status == "sent" and sent.last_attempt_at and sent.sent_at and not sent.next_attempt_at
    assert sent.quote_id == envelope.payload().quote_id
