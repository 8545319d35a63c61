"""Arbitrary input never ends in an internal error nor in a partial write (hypothesis, on a SQLite file)."""
import uuid

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from quoteflow.errors import DomainError
from services.quotes import handlers
from services.quotes.adapters import orm
from services.quotes.bootstrap import bootstrap
from services.quotes.domain import commands, model
from tests.integration.quotes.conftest import make_config

TEXT = st.text(st.characters(codec="utf-8"), max_size=80) | st.sampled_from(
    ["", " ", "\x00", "acc", "ct", "u", "20", "5,5", "1e9", "NaN", "-0", "0.001", "1" * 70, "DV-2026-00001"])


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    folder = tmp_path_factory.mktemp("fuzz")
    app = bootstrap(make_config(f"sqlite:///{folder / 'quotes.db'}", folder, {}),
                    pdf=lambda snapshot, **_: b"%PDF-1.4 fake")
    app.handle(commands.UpsertAccount(tenant="t", id="acc", name="Compte"))
    app.handle(commands.UpsertContact(tenant="t", id="ct", account_id="acc", name="C", email="c@example.fr"))
    app.handle(commands.UpsertUser(tenant="t", id="u", name="U", email="u@example.fr"))
    yield app
    app.engine.dispose()


def rows(app, table) -> int:
    with app.engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(table)).scalar_one()


lines = st.lists(st.builds(commands.LineInput, description=TEXT, quantity=TEXT, unit_price=TEXT, vat_rate=TEXT,
                           unit=TEXT, discount_percent=TEXT, product_ref=TEXT), max_size=3).map(tuple)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(account=TEXT, contact=TEXT, assignee=TEXT, title=TEXT, valid_until=TEXT, deal=TEXT, terms=TEXT,
       lines=lines, options=lines, key=TEXT)
def test_create_quote_answers_a_domain_error_or_writes_one_whole_quote(app, account, contact, assignee, title,
                                                                         valid_until, deal, terms, lines, options,
                                                                         key):
    before = (rows(app, orm.quotes), rows(app, orm.quote_history), rows(app, orm.counters))
    command = commands.CreateQuote(tenant="t", account_id=account, contact_id=contact, assignee_id=assignee,
                                   title=title, lines=lines, valid_until=valid_until, terms=terms, deal_id=deal,
                                   optional_lines=options, idempotency_key=key and key + uuid.uuid4().hex)
    try:
        quote = app.handle(command)
    except DomainError:
        assert (rows(app, orm.quotes), rows(app, orm.quote_history), rows(app, orm.counters)) == before
        return
    assert rows(app, orm.quotes) == before[0] + 1
    assert app.query(handlers.get_quote, "t", quote.id).number == quote.number


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_every_other_command_answers_a_domain_error_or_succeeds(app, data):
    quote = app.handle(commands.CreateQuote(tenant="t", account_id="acc", contact_id="ct", assignee_id="u",
                                            lines=(commands.LineInput("x", "1", "1", "20"),)))
    quote_id = data.draw(st.sampled_from([quote.id, "nope", "\x00"]) | TEXT)
    command = data.draw(st.sampled_from([
        commands.UpdateQuote(tenant="t", quote_id=quote_id, fields=tuple(data.draw(st.lists(
            st.sampled_from(commands.EDITABLE) | TEXT, max_size=3))), title=data.draw(TEXT),
            lines=data.draw(lines), valid_until=data.draw(TEXT), contact_id=data.draw(TEXT),
            assignee_id=data.draw(TEXT), deal_id=data.draw(TEXT)),
        commands.SendQuote(tenant="t", quote_id=quote_id, recipient_contact_id=data.draw(TEXT),
                           subject=data.draw(TEXT), body=data.draw(TEXT), template=data.draw(TEXT),
                           request_signature=data.draw(st.booleans()), idempotency_key=data.draw(TEXT)),
        commands.AddDocument(tenant="t", quote_id=quote_id, name=data.draw(TEXT),
                             content=data.draw(st.binary(max_size=40))),
        commands.RemoveDocument(tenant="t", quote_id=quote_id, sha256=data.draw(TEXT)),
        commands.CreateTask(tenant="t", quote_id=quote_id, title=data.draw(TEXT), due_date=data.draw(TEXT),
                            assignee_id=data.draw(TEXT), description=data.draw(TEXT)),
        commands.CreateSalesDocument(tenant="t", quote_id=quote_id, kind=data.draw(st.sampled_from(
            ["invoice", "order", "quote"]))),
        commands.UpsertProduct(tenant="t", id=data.draw(TEXT), reference=data.draw(TEXT), label=data.draw(TEXT),
                               unit_price=data.draw(TEXT), vat_rate=data.draw(TEXT), unit=data.draw(TEXT)),
        commands.UpsertEquipment(tenant="t", id=data.draw(TEXT), account_id=data.draw(TEXT),
                                 product_id=data.draw(TEXT), install_date=data.draw(TEXT),
                                 warranty_end=data.draw(TEXT)),
        commands.UpdateSettings(tenant="t2", esignature_enabled=True, company_name=data.draw(TEXT),
                                siret=data.draw(TEXT), vat_number=data.draw(TEXT), color=data.draw(TEXT),
                                signature_otp=data.draw(TEXT), extra_vat_rates=(data.draw(TEXT),),
                                default_validity_days=data.draw(st.integers(-5, 5000)),
                                logo=data.draw(st.binary(max_size=40))),
    ]))
    try:
        app.handle(command)
    except DomainError:
        pass
    query = model.ListQuery(tenant="t", text=data.draw(TEXT), order_by=data.draw(
        st.sampled_from(["-created_at", "total_ttc"]) | TEXT), status=data.draw(TEXT | st.just("")))
    try:
        app.query(handlers.list_quotes, query)
    except DomainError:
        pass
