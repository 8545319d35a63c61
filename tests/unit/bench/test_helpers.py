"""Pure helpers of the benchmarks: reading the sign form and the view beacon, spotting the confirmation
mail, copying a quote's rows in SQL (the statements only; no timing, no server)."""
from __future__ import annotations

from sqlalchemy import JSON, Column, DateTime, Integer, MetaData, String, Table, Text, UniqueConstraint

from bench.growth_bench import clone_statements
from bench.portal_bench import beacon_of
from bench.signature_bench import is_confirmation, sign_form

PAGE = """<main data-view-url="/d/tok/vu" data-view-id="n0nce.5ig" data-csrf="c5rf&amp;1">
<form method="post" action="/d/tok/refuser"><input type="hidden" name="csrf_token" value="x"></form>
<form method="post" action="/d/tok/sign" class="sign">
  <input type="hidden" name="csrf_token" value="c5rf&amp;1">
  <input type="hidden" name="vue" value="n0nce.5ig">
  <input type="hidden" name="signature_png" id="signature_png">
  <label>Nom <input type="text" name="signer_name" autocomplete="name"></label>
  <input type="checkbox" name="consent" required>
  <button type="submit">Signer</button>
</form></main>"""


def test_the_sign_form_is_filled_as_a_person_would():
    action, fields = sign_form(PAGE, "Chloé Lefèvre")
    assert action == "/d/tok/sign"
    assert fields == {"csrf_token": "c5rf&1", "vue": "n0nce.5ig", "signature_png": "",
                      "signer_name": "Chloé Lefèvre", "consent": "on"}


def test_a_page_without_a_sign_form_says_so():
    try:
        sign_form("<form method='get' action='/x'></form>", "A")
    except LookupError as error:
        assert "sign form" in str(error)
    else:
        raise AssertionError("no LookupError")


def test_the_view_beacon_is_read_from_the_page():
    assert beacon_of(PAGE) == ("/d/tok/vu", {"csrf_token": "c5rf&amp;1", "vue": "n0nce.5ig"})
    assert beacon_of("<main>no beacon</main>") is None


def test_the_confirmation_mail_is_the_assignees_with_the_number():
    number = "DV-2026-00007"
    assert is_confirmation((1.0, ["antoine@example.com"], f"Devis {number} signé par Chloé – Accepté"),
                           number, "antoine@example.com")
    assert not is_confirmation((1.0, ["antoine@example.com"], f"Devis {number} consulté par Chloé"),
                               number, "antoine@example.com")
    assert not is_confirmation((1.0, ["chloe@example.fr"], f"Demande de signature électronique : devis {number}"),
                               number, "antoine@example.com")
    assert not is_confirmation((1.0, ["antoine@example.com"], "Devis DV-2026-00008 signé par Chloé"),
                               number, "antoine@example.com")


class Inspector:
    """What clone_statements reads of a database, from SQLAlchemy tables (as inspect(conn) gives it)."""

    def __init__(self, metadata: MetaData):
        self.tables = metadata.tables

    def get_table_names(self):
        return list(self.tables)

    def get_columns(self, name):
        return [{"name": c.name, "type": c.type, "default": None,
                 "autoincrement": c.primary_key and isinstance(c.type, Integer) and c.autoincrement is True}
                for c in self.tables[name].columns]

    def get_pk_constraint(self, name):
        return {"constrained_columns": [c.name for c in self.tables[name].primary_key.columns]}

    def get_unique_constraints(self, name):
        return [{"column_names": [c.name for c in u.columns]} for u in self.tables[name].constraints
                if isinstance(u, UniqueConstraint)]

    def get_indexes(self, name):
        return []


def test_copies_keep_the_template_rows_but_take_fresh_keys():
    md = MetaData()
    Table("quotes", md, Column("id", String(36), primary_key=True), Column("tenant", String(64)),
          Column("number", String(32)), Column("lines", JSON), Column("created_at", DateTime),
          UniqueConstraint("tenant", "number"))
    Table("quote_history", md, Column("id", Integer, primary_key=True, autoincrement=True),
          Column("quote_id", String(36)), Column("detail", Text))
    Table("links", md, Column("token_sha256", String(64), primary_key=True), Column("quote_id", String(100)),
          Column("version", Integer))
    Table("outbox", md, Column("id", Integer, primary_key=True), Column("body", Text))
    quotes, links, history = clone_statements(Inspector(md), "q-1", "gx-", 2, 49)
    assert quotes.startswith('INSERT INTO "quotes" ("id", "tenant", "number", "lines", "created_at") SELECT ')
    assert "'gx-' || g" in quotes and "'G-' || g" in quotes and "make_interval(secs => g)" in quotes
    assert "generate_series(2, 49) AS g WHERE \"id\" = 'q-1'" in quotes
    assert '"tenant"' in quotes.split("SELECT", 1)[1]  # the tenant is copied, not renamed
    assert history.startswith('INSERT INTO "quote_history" ("quote_id", "detail")')  # the serial numbers it
    assert "left(md5('token_sha256'" in links and ", 64)" in links and "\"quote_id\" = 'q-1'" in links
