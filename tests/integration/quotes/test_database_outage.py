"""The quotes database out of reach: callers get UNAVAILABLE (retry), never INTERNAL, and the next call works."""
import grpc
import pytest
from sqlalchemy import create_engine, text

from quoteflow.v1 import quotes_pb2
from tests.support.backends import POSTGRES_ADMIN_URL


def _admin(sql: str) -> None:
    admin = create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(sql))
    admin.dispose()


@pytest.mark.postgres
@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_a_database_outage_answers_unavailable_then_recovers(service, database_url):
    app, crm = service
    crm = crm("tenant-a")
    crm.ListQuotes(quotes_pb2.ListQuotesRequest(page_size=5))  # the pool now holds a live connection
    name = database_url.rsplit("/", 1)[1]
    _admin(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false')
    _admin(f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}'")
    try:
        with pytest.raises(grpc.RpcError) as refused:
            crm.ListQuotes(quotes_pb2.ListQuotesRequest(page_size=5))
        print("database refused connections ->", refused.value.code().name, refused.value.details())
        assert refused.value.code() == grpc.StatusCode.UNAVAILABLE
        assert "retry" in refused.value.details()
    finally:
        _admin(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true')
    assert crm.ListQuotes(quotes_pb2.ListQuotesRequest(page_size=5)) is not None
