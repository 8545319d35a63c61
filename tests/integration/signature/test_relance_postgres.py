"""On PostgreSQL: a relance recorded while the signer's steps extend the same chain loses nothing."""
import pytest

from quoteflow.v1 import signature_pb2
from services.signature.domain import evidence
from tests.integration.signature.support import AUTH, make_config, outbox
from tests.integration.signature.test_postgres import together
from tests.integration.signature.test_relance import Quote
from tests.support.backends import private_databases

pytestmark = pytest.mark.postgres


@pytest.fixture
def cfg(tmp_path):
    with private_databases(["signature"], prefix="qf_sig") as urls:
        yield make_config(tmp_path, urls["signature"])


def test_a_relance_and_simultaneous_opens_all_land_in_one_chain(app, grpc_stub, consume, blobs, tenant, clock):
    q = Quote(consume, blobs, tenant, clock)
    q.send()

    def opened(i):
        return grpc_stub.RecordOpened(signature_pb2.RecordOpenedRequest(
            tenant_id=tenant, quote_id=q.id, version=1, ip=f"198.51.100.{i}", user_agent="Firefox"),
            metadata=AUTH).recorded

    results = together([q.send] + [lambda i=i: opened(i) for i in range(6)])
    with app.uow() as uow:
        [request] = uow.requests.for_quote(tenant, q.id)
    steps = [e.step for e in request.evidence]
    evidence.verify_chain(request.evidence, request.evidence_sha256)
    assert steps.count("sent_again") == 1 and steps[0] == "sent"
    assert steps.count("opened") == sum(1 for r in results[1:] if r is True)
    assert len(outbox(app, "signature.requested")) == 1
