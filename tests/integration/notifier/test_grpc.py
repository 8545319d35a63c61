"""NotifierService over a real gRPC server built by the kernel, with a test tenant's API key."""
import uuid

import grpc
import pytest

from quoteflow.auth import KeyRing, hash_key, new_key
from quoteflow.grpcserver import build_server
from quoteflow.v1 import notifier_pb2, notifier_pb2_grpc
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


def test_preview_of_an_unknown_template_is_invalid_argument(served):
    _, stub, auth, _ = served
    with pytest.raises(grpc.RpcError) as caught:
        stub.PreviewEmail(notifier_pb2.PreviewEmailRequest(template="nope"), metadata=auth)
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT


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
