"""Ids PostgreSQL cannot take (a NUL, too long) are INVALID_ARGUMENT naming the field, on every NotifierService
method that looks one up or stores one, before any query: never INTERNAL. On PostgreSQL, where they failed."""
import uuid
from dataclasses import replace

import grpc
import pytest
from google.rpc import error_details_pb2, status_pb2

from quoteflow.auth import KeyRing, hash_key, new_key
from quoteflow.grpcserver import build_server
from quoteflow.v1 import notifier_pb2, notifier_pb2_grpc
from services.notifier.bootstrap import bootstrap
from services.notifier.entrypoints.grpc_api import SERVICE_NAME, NotifierServicer, register
from tests.support.backends import private_databases

LINK = '<a href="{{ link_url }}">Accéder au document</a>'
NUL, LONG = "u\x00", "u" * 101


@pytest.fixture(scope="module")
def postgres_stub(tmp_path_factory):
    from tests.support.notifier import make_config

    cfg = make_config(tmp_path_factory.mktemp("notifier"))
    with private_databases(["notifier"]) as urls:
        app = bootstrap(replace(cfg, common=replace(cfg.common, database_url=urls["notifier"])))
        key = new_key()
        server, port, _ = build_server("127.0.0.1:0", [register(NotifierServicer(app))], [SERVICE_NAME],
                                       KeyRing({hash_key(key): f"t-{uuid.uuid4().hex[:8]}"}))
        server.start()
        channel = grpc.insecure_channel(f"127.0.0.1:{port}")
        yield notifier_pb2_grpc.NotifierServiceStub(channel), [("authorization", f"Bearer {key}")]
        channel.close()
        server.stop(0).wait()
        app.engine.dispose()


def violations(error: grpc.RpcError) -> dict[str, str]:
    status = status_pb2.Status.FromString(dict(error.trailing_metadata())["grpc-status-details-bin"])
    found = {}
    for detail in status.details:
        request = error_details_pb2.BadRequest()
        if detail.Unpack(request):
            found.update({v.field: v.description for v in request.field_violations})
    return found


def content(**parts):
    return notifier_pb2.TemplateContent(**{"subject": "Devis", "text": "{{ link_url }}", "html": LINK, **parts})


CALLS = {
    "SetPreferences user_id too long": ("SetPreferences", notifier_pb2.Preferences(user_id=LONG), "user_id",
                                        "at most 64 characters"),
    "SetPreferences user_id NUL": ("SetPreferences", notifier_pb2.Preferences(user_id=NUL), "user_id", "printable"),
    "GetPreferences user_id NUL": ("GetPreferences", notifier_pb2.GetPreferencesRequest(user_id=NUL), "user_id",
                                   "printable"),
    "GetPreferences user_id too long": ("GetPreferences", notifier_pb2.GetPreferencesRequest(user_id=LONG), "user_id",
                                        "at most 64"),
    "ListDeliveries quote_id NUL": ("ListDeliveries", notifier_pb2.ListDeliveriesRequest(quote_id="q\x00"),
                                    "quote_id", "printable"),
    "GetTemplate name NUL": ("GetTemplate", notifier_pb2.GetTemplateRequest(name="quote_send\x00"), "name",
                             "printable"),
    "ListTemplateVersions name NUL": ("ListTemplateVersions",
                                      notifier_pb2.ListTemplateVersionsRequest(name="quote_send\x00"), "name",
                                      "printable"),
    "PreviewEmail template NUL": ("PreviewEmail", notifier_pb2.PreviewEmailRequest(template="quote_send\x00"),
                                  "template", "printable"),
    "PreviewEmail quote_id NUL": ("PreviewEmail", notifier_pb2.PreviewEmailRequest(template="quote_send",
                                                                                  quote_id="q\x00"),
                                  "quote_id", "printable"),
    "SaveTemplate name NUL": ("SaveTemplate", notifier_pb2.SaveTemplateRequest(name="promo\x00", base="quote_send",
                                                                              content=content()), "name", "printable"),
    "SaveTemplate text NUL": ("SaveTemplate", notifier_pb2.SaveTemplateRequest(
        name="promo", base="quote_send", content=content(text="Bonjour\n{{ link_url }}\x00")), "text",
        "ligne 2 : caractère nul"),
}


@pytest.mark.parametrize("name", CALLS)
def test_an_id_postgresql_cannot_take_is_invalid_argument_naming_the_field(postgres_stub, name):
    stub, auth = postgres_stub
    method, request, field, why = CALLS[name]
    with pytest.raises(grpc.RpcError) as caught:
        getattr(stub, method)(request, metadata=auth)
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT, caught.value.details()
    assert why in violations(caught.value)[field]


def test_good_ids_still_work_and_surrounding_spaces_are_still_trimmed(postgres_stub):
    stub, auth = postgres_stub
    user = "u" * 64
    stub.SetPreferences(notifier_pb2.Preferences(user_id=f" {user} ", on_view_sms=True), metadata=auth)
    assert stub.GetPreferences(notifier_pb2.GetPreferencesRequest(user_id=user), metadata=auth).on_view_sms
    assert stub.ListDeliveries(notifier_pb2.ListDeliveriesRequest(quote_id="q-é-1"), metadata=auth).deliveries == []
    with pytest.raises(grpc.RpcError) as caught:
        stub.GetTemplate(notifier_pb2.GetTemplateRequest(name="modele_inexistant"), metadata=auth)
    assert caught.value.code() == grpc.StatusCode.NOT_FOUND and "modele_inexistant" in caught.value.details()
    with pytest.raises(grpc.RpcError) as caught:
        stub.PreviewEmail(notifier_pb2.PreviewEmailRequest(template="modele_inexistant"), metadata=auth)
    assert caught.value.code() == grpc.StatusCode.NOT_FOUND and "modele_inexistant" in caught.value.details()
