"""The three gRPC services in-process over real gRPC, each on its own SQLite file, with two tenants' keys.

Keys are resolved as in production: the static keys, the service key, then each service's ``api_keys``
table (quotes' record, signature's and notifier's copies fed by quotes' ``apikey.*`` events), where one
key was issued and then revoked.

Every method is called generically (``Stack.call``) from the generated descriptors, so a method added
to a .proto is reached without editing this file.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, replace
from pathlib import Path

import grpc
from google.protobuf import descriptor, message_factory
from sqlalchemy import MetaData, select

from quoteflow.apikeys import KEY_EVENTS, KeyIssuer
from quoteflow.auth import KeyRing, hash_key, new_key
from quoteflow.config import CommonConfig
from quoteflow.envelope import Envelope
from quoteflow.grpcserver import build_server
from quoteflow.v1 import common_pb2, notifier_pb2_grpc, quotes_pb2, quotes_pb2_grpc, signature_pb2_grpc
from tests.integration.quotes.support import violations
from tests.support.contract import contract_methods, grpc_modules

TENANT_A, TENANT_B = "tenant-a", "tenant-b"
SERVICE_KEY = "security-service-key-" + "s" * 20
GRPC_MODULES = grpc_modules()  # a service added to proto/ and not served below fails every test of it


def all_methods() -> list[descriptor.MethodDescriptor]:
    """Every method of every service declared in quoteflow/v1/*_pb2.py that defines services."""
    return contract_methods()


def method_name(method: descriptor.MethodDescriptor) -> str:
    return f"{method.containing_service.name}/{method.name}"


@dataclass
class Answer:
    code: grpc.StatusCode
    details: str
    response: object | None
    violations: dict[str, str]


def _common(service: str, root: Path, api_keys: str) -> CommonConfig:
    return CommonConfig(service=service, database_url=f"sqlite:///{root / (service + '.db')}",
                        broker_url="memory://", blob_dir=root / f"blobs-{service}", api_keys=api_keys,
                        service_key=SERVICE_KEY, max_attempts=3)


class Stack:
    """quotes, signature and notifier with their real bootstrap, gRPC servers and kernel interceptor."""

    def __init__(self, root: Path, *, fake_pdf: bool = False):
        from services.notifier.bootstrap import bootstrap as notifier_bootstrap
        from services.notifier.config import NotifierConfig
        from services.notifier.entrypoints.grpc_api import NotifierServicer
        from services.quotes.adapters import orm as quotes_orm
        from services.quotes.bootstrap import bootstrap as quotes_bootstrap
        from services.quotes.config import Config as QuotesConfig
        from services.quotes.entrypoints.grpc_api import QuoteServicer
        from services.signature.bootstrap import bootstrap as signature_bootstrap
        from services.signature.config import Config as SignatureConfig
        from services.signature.entrypoints.consumer import make_handler
        from services.signature.entrypoints.grpc_api import SignatureServicer

        root.mkdir(parents=True, exist_ok=True)
        self.keys = {TENANT_A: new_key(), TENANT_B: new_key()}
        self.unknown_key = new_key()  # never issued
        api_keys = ",".join(f"{t}:{hash_key(k)}" for t, k in self.keys.items())

        quotes_cfg = QuotesConfig(common=_common("quotes", root, api_keys), grpc_address="127.0.0.1:0",
                                  portal_base_url="https://devis.example.fr", link_secret="security-link-secret")
        pdf = (lambda snapshot, **_: b"%PDF-1.7\n" + snapshot.number.encode() + b"\n%%EOF\n") if fake_pdf else None
        self.quotes = quotes_bootstrap(quotes_cfg, pdf=pdf)
        self.signature = signature_bootstrap(replace(SignatureConfig(common=_common("signature", root, api_keys)),
                                                     key_dir=root / "signature-keys"))
        self.notifier = notifier_bootstrap(replace(NotifierConfig(common=_common("notifier", root, api_keys)),
                                                   mail_sink_dir=root / "mail", sms_log=root / "sms.log",
                                                   retry_base_seconds=0.01, sweep_seconds=0.5))
        self.signature_consume = make_handler(self.signature)
        self.apps = {"QuoteService": self.quotes, "SignatureService": self.signature,
                     "NotifierService": self.notifier}
        self.key_issuer = KeyIssuer(self.quotes.engine, quotes_orm.api_keys, quotes_orm.outbox, quotes_orm.inbox)
        revoked, self.revoked_key = self.key_issuer.create(TENANT_A, "revoked by the security run")
        self.key_issuer.revoke(revoked.key_id)
        for envelope in self.outbox("QuoteService"):  # what the broker carries from quotes to the copies
            if envelope.type in KEY_EVENTS:
                self.signature.keys.apply(envelope)
                self.notifier.keys.apply(envelope)
        key_stores = {"QuoteService": self.key_issuer, "SignatureService": self.signature.keys,
                      "NotifierService": self.notifier.keys}
        registrations = {
            "QuoteService": lambda s: quotes_pb2_grpc.add_QuoteServiceServicer_to_server(QuoteServicer(self.quotes), s),
            "SignatureService": lambda s: signature_pb2_grpc.add_SignatureServiceServicer_to_server(
                SignatureServicer(self.signature), s),
            "NotifierService": lambda s: notifier_pb2_grpc.add_NotifierServiceServicer_to_server(
                NotifierServicer(self.notifier), s),
        }
        self.servers, self.channels, self._reflected = {}, {}, {}
        for name, register in registrations.items():
            full = next(s.full_name for m in GRPC_MODULES for s in m.DESCRIPTOR.services_by_name.values()
                        if s.name == name)
            server, port, _ = build_server("127.0.0.1:0", [register], [full],
                                           KeyRing.from_config(api_keys, SERVICE_KEY, key_stores[name]), max_workers=4)
            server.start()
            self.servers[name] = server
            self.channels[name] = grpc.insecure_channel(
                f"127.0.0.1:{port}", options=[("grpc.max_receive_message_length", 32 * 1024 * 1024),
                                              ("grpc.max_send_message_length", 32 * 1024 * 1024)])

    def close(self) -> None:
        for channel in self.channels.values():
            channel.close()
        for server in self.servers.values():
            server.stop(0).wait()
        for app in self.apps.values():
            app.engine.dispose()

    # --- calling ---------------------------------------------------------------------------------

    def bearer(self, who: str) -> tuple:
        key = {"service": SERVICE_KEY, "revoked": self.revoked_key, "unknown": self.unknown_key}.get(who) \
            or self.keys[who]
        return (("authorization", f"Bearer {key}"),)

    def call(self, method: descriptor.MethodDescriptor, request, metadata: tuple = ()) -> Answer:
        response_class = message_factory.GetMessageClass(method.output_type)
        stub = self.channels[method.containing_service.name].unary_unary(
            f"/{method.containing_service.full_name}/{method.name}",
            request_serializer=lambda m: m.SerializeToString(), response_deserializer=response_class.FromString)
        try:
            return Answer(grpc.StatusCode.OK, "", stub(request, metadata=metadata, timeout=60), {})
        except grpc.RpcError as error:
            return Answer(error.code(), error.details() or "", None, violations(error))

    # --- the databases -------------------------------------------------------------------------------

    def _tables(self, name: str) -> list:
        if name not in self._reflected:
            meta = MetaData()
            meta.reflect(self.apps[name].engine)
            self._reflected[name] = sorted(meta.sorted_tables, key=lambda t: t.name)
        return self._reflected[name]

    def snapshot(self, *services: str) -> dict[str, str]:
        """A digest of every row of every table of each service's database (all three by default)."""
        digests = {}
        for name in services or self.apps:
            h = hashlib.sha256()
            with self.apps[name].engine.connect() as conn:
                for table in self._tables(name):
                    h.update(table.name.encode())
                    for row in sorted(repr(tuple(r)) for r in conn.execute(select(table))):
                        h.update(row.encode())
            digests[name] = h.hexdigest()
        return digests

    # --- what exists in each tenant ------------------------------------------------------------------

    def seed_quotes(self, tenant: str) -> dict:
        """A directory, a product, equipment, two quotes (one sent with a signature asked) for ``tenant``."""
        md = self.bearer(tenant)
        stub = quotes_pb2_grpc.QuoteServiceStub(self.channels["QuoteService"])
        p = tenant[-1]
        stub.UpdateSettings(quotes_pb2.Settings(esignature_enabled=True, default_validity_days=30,
                                                company=common_pb2.Company(name=f"Société {p}")), metadata=md)
        stub.UpsertAccount(quotes_pb2.Account(id=f"acc-{p}", name=f"Compte {p}"), metadata=md)
        stub.UpsertContact(quotes_pb2.Contact(id=f"ct-{p}", account_id=f"acc-{p}", name=f"Contact {p}",
                                              email=f"contact-{p}@client.example"), metadata=md)
        stub.UpsertUser(quotes_pb2.User(id=f"u-{p}", name=f"Vendeur {p}", email=f"u-{p}@vendeur.example"),
                        metadata=md)
        stub.UpsertDeal(quotes_pb2.Deal(id=f"deal-{p}", account_id=f"acc-{p}", contact_id=f"ct-{p}",
                                        assignee_id=f"u-{p}", title=f"Affaire {p}"), metadata=md)
        stub.UpsertProduct(quotes_pb2.Product(id=f"prod-{p}", reference=f"REF-{p}", label="Chaudière",
                                              unit_price="1000.00", vat_rate="20", unit="u"), metadata=md)
        stub.UpsertEquipment(quotes_pb2.Equipment(id=f"eq-{p}", account_id=f"acc-{p}", product_id=f"prod-{p}",
                                                  serial_number=f"SN-{p}"), metadata=md)
        line = common_pb2.QuoteLine(description="Audit", quantity="2", unit_price="617.28", vat_rate="20")
        draft = stub.CreateQuote(quotes_pb2.CreateQuoteRequest(account_id=f"acc-{p}", contact_id=f"ct-{p}",
                                                               assignee_id=f"u-{p}", lines=[line]), metadata=md)
        sent = stub.CreateQuote(quotes_pb2.CreateQuoteRequest(account_id=f"acc-{p}", contact_id=f"ct-{p}",
                                                              assignee_id=f"u-{p}", lines=[line]), metadata=md)
        stub.AddDocument(quotes_pb2.AddDocumentRequest(quote_id=sent.id, name="plan.pdf",
                                                       content=b"%PDF-1.4\n1 0 obj<<>>endobj\n%%EOF\n"), metadata=md)
        answer = stub.SendQuote(quotes_pb2.SendQuoteRequest(quote_id=sent.id, request_signature=True), metadata=md)
        task = stub.CreateTask(quotes_pb2.CreateTaskRequest(quote_id=sent.id, title="Rappeler", due_date="2030-01-01"),
                               metadata=md)
        invoice = stub.CreateInvoice(quotes_pb2.CreateFromQuoteRequest(quote_id=sent.id), metadata=md)
        sent_event = next(e for e in self.outbox("QuoteService") if e.type == "quote.sent"
                          and e.tenant == tenant and e.payload().quote_id == sent.id)
        return {"tenant": tenant, "draft": draft.id, "sent": sent.id, "pdf_sha256": answer.pdf_sha256,
                "task": task.id, "invoice": invoice.id, "sent_event": sent_event,
                "ids": [f"acc-{p}", f"ct-{p}", f"u-{p}", f"deal-{p}", f"prod-{p}", f"eq-{p}", draft.id, sent.id,
                        task.id, invoice.id, answer.pdf_sha256]}

    def deliver_to_signature_and_notifier(self, envelope: Envelope) -> None:
        """What the broker does with a quote.sent: the signature request opens, the notifier learns the quote."""
        self.signature_consume(envelope)
        self.notifier.handle_event(envelope)

    def outbox(self, service: str) -> list[Envelope]:
        engine = self.apps[service].engine
        meta = MetaData()
        meta.reflect(engine, only=["outbox"])
        with engine.connect() as conn:
            rows = conn.execute(select(meta.tables["outbox"].c.body)).scalars().all()
        return [Envelope.from_json(body) for body in rows]

