"""The quotes database schema (SQLAlchemy Core tables; the domain stays unaware of them)."""
from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from quoteflow.apikeys import add_api_keys_table
from quoteflow.db import add_kernel_tables

metadata = MetaData()
outbox, inbox = add_kernel_tables(metadata)
api_keys = add_api_keys_table(metadata)  # see quoteflow.apikeys

settings = Table(
    "settings", metadata,
    Column("tenant", String(64), primary_key=True),
    Column("esignature_enabled", Boolean, nullable=False, default=False),
    Column("company", JSON, nullable=False),
    Column("default_validity_days", Integer, nullable=False, default=30),
    Column("default_terms", Text, nullable=False, default=""),
    Column("signature_otp", String(8), nullable=False, default="", server_default=""),
    Column("extra_vat_rates", JSON, nullable=True),  # ["8.5", "13"]
    Column("branding", JSON, nullable=True),         # logo_sha256, logo_content_type, color
)

accounts = Table(
    "accounts", metadata,
    Column("tenant", String(64), primary_key=True),
    Column("id", String(64), primary_key=True),
    Column("name", String(200), nullable=False),
    Column("address", Text, nullable=False, default=""),
)

contacts = Table(
    "contacts", metadata,
    Column("tenant", String(64), primary_key=True),
    Column("id", String(64), primary_key=True),
    Column("account_id", String(64), nullable=False),
    Column("name", String(200), nullable=False),
    Column("email", String(320), nullable=False),
    Column("phone", String(40), nullable=False, default=""),
)

users = Table(
    "users", metadata,
    Column("tenant", String(64), primary_key=True),
    Column("id", String(64), primary_key=True),
    Column("name", String(200), nullable=False),
    Column("email", String(320), nullable=False),
    Column("mobile", String(40), nullable=False, default=""),
)

counters = Table(
    "counters", metadata,
    Column("tenant", String(64), primary_key=True),
    Column("series", String(8), primary_key=True),
    Column("year", Integer, primary_key=True),
    Column("value", Integer, nullable=False),
)

quotes = Table(
    "quotes", metadata,
    Column("id", String(36), primary_key=True),
    Column("tenant", String(64), nullable=False),
    Column("number", String(32), nullable=False),
    Column("status", String(16), nullable=False),
    Column("account_id", String(64), nullable=False),
    Column("contact_id", String(64), nullable=False),
    Column("assignee_id", String(64), nullable=False),
    Column("title", String(300), nullable=False),
    Column("lines", JSON, nullable=False),
    Column("valid_until", Date, nullable=False),
    Column("terms", Text, nullable=False, default=""),
    Column("created_at", DateTime(timezone=True), nullable=False),
    # Counters kept on the row so a list never counts views with COUNT(*).
    Column("view_count", Integer, nullable=False, default=0),
    Column("download_count", Integer, nullable=False, default=0),
    Column("last_viewed_at", DateTime(timezone=True), nullable=True),
    Column("signature", JSON, nullable=True),
    Column("deal_id", String(64), nullable=False, default="", server_default=""),
    Column("optional_lines", JSON, nullable=True),
    Column("documents", JSON, nullable=True),
    # Totals kept on the row for the list and its sort (the detail recomputes them from the lines).
    # In cents: exact on SQLite too (which has no decimal type).
    Column("total_ht_cents", BigInteger, nullable=False, default=0, server_default="0"),
    Column("total_vat_cents", BigInteger, nullable=False, default=0, server_default="0"),
    Column("total_ttc_cents", BigInteger, nullable=False, default=0, server_default="0"),
    Column("last_version", Integer, nullable=False, default=0, server_default="0"),
    Column("unsent_changes", Boolean, nullable=False, default=False, server_default="0"),
    Column("decline", JSON, nullable=True),
    Column("updated_at", DateTime(timezone=True), nullable=True),
    UniqueConstraint("tenant", "number", name="uq_quotes_tenant_number"),
    # The list: WHERE tenant = ? ORDER BY created_at DESC, id DESC LIMIT n (a backward scan of this index).
    Index("ix_quotes_tenant_created", "tenant", "created_at", "id"),
    Index("ix_quotes_tenant_status", "tenant", "status", "created_at", "id"),
    Index("ix_quotes_tenant_account", "tenant", "account_id", "created_at", "id"),
    Index("ix_quotes_tenant_assignee", "tenant", "assignee_id", "created_at", "id"),
    Index("ix_quotes_tenant_deal", "tenant", "deal_id", "created_at", "id"),
    # The expiry sweep: Envoyé quotes past their validity.
    Index("ix_quotes_status_valid_until", "status", "valid_until"),
)

quote_versions = Table(
    "quote_versions", metadata,
    Column("quote_id", String(36), ForeignKey("quotes.id"), primary_key=True),
    Column("number", Integer, primary_key=True),
    Column("content_sha256", String(64), nullable=False),
    Column("pdf_sha256", String(64), nullable=False),
    Column("sent_at", DateTime(timezone=True), nullable=False),     # the first send; a relance keeps it
    Column("recipient_email", String(320), nullable=False),          # whom the first send went to
    Column("content", JSON, nullable=True),  # what was frozen: title, validity, terms, lines, options, documents
    # Added by revision 0004: the latest send (a relance) and how many sends of this version there were.
    Column("last_sent_at", DateTime(timezone=True), nullable=True),
    Column("last_recipient_email", String(320), nullable=False, default="", server_default=""),
    Column("send_count", Integer, nullable=False, default=1, server_default="1"),
)

quote_links = Table(
    "quote_links", metadata,
    Column("token_sha256", String(64), primary_key=True),
    Column("quote_id", String(36), ForeignKey("quotes.id"), nullable=False, index=True),
    Column("version", Integer, nullable=False),
    Column("recipient_email", String(320), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

quote_history = Table(
    "quote_history", metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    Column("quote_id", String(36), ForeignKey("quotes.id"), nullable=False),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("kind", String(32), nullable=False),
    Column("actor", String(320), nullable=False),
    Column("detail", Text, nullable=False, default=""),
    Index("ix_quote_history_quote", "quote_id", "at"),
)

deals = Table(
    "deals", metadata,
    Column("tenant", String(64), primary_key=True),
    Column("id", String(64), primary_key=True),
    Column("account_id", String(64), nullable=False),
    Column("contact_id", String(64), nullable=False, default=""),
    Column("assignee_id", String(64), nullable=False, default=""),
    Column("title", String(300), nullable=False),
)

products = Table(
    "products", metadata,
    Column("tenant", String(64), primary_key=True),
    Column("id", String(64), primary_key=True),
    Column("reference", String(64), nullable=False),
    Column("label", String(2000), nullable=False),
    Column("unit_price", String(24), nullable=False),  # decimal text, as in quote lines
    Column("vat_rate", String(8), nullable=False),
    Column("unit", String(20), nullable=False, default=""),
    UniqueConstraint("tenant", "reference", name="uq_products_tenant_reference"),
)

equipment = Table(
    "equipment", metadata,
    Column("tenant", String(64), primary_key=True),
    Column("id", String(64), primary_key=True),
    Column("account_id", String(64), nullable=False),
    Column("product_id", String(64), nullable=False),
    Column("serial_number", String(100), nullable=False, default=""),
    Column("install_date", Date, nullable=True),
    Column("warranty_end", Date, nullable=True),
    Index("ix_equipment_tenant_account", "tenant", "account_id"),
)

# Invoices (kind "invoice", FA-…) and sales orders (kind "order", CO-…) made from quotes.
sales_documents = Table(
    "sales_documents", metadata,
    Column("id", String(36), primary_key=True),
    Column("tenant", String(64), nullable=False),
    Column("kind", String(8), nullable=False),
    Column("number", String(32), nullable=False),
    Column("quote_id", String(36), ForeignKey("quotes.id"), nullable=False),
    Column("quote_number", String(32), nullable=False),
    Column("account_id", String(64), nullable=False),
    Column("contact_id", String(64), nullable=False),
    Column("assignee_id", String(64), nullable=False),
    Column("title", String(300), nullable=False),
    Column("lines", JSON, nullable=False),
    Column("total_ttc_cents", BigInteger, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    UniqueConstraint("tenant", "number", name="uq_sales_documents_tenant_number"),
    Index("ix_sales_documents_quote", "quote_id"),
)

tasks = Table(
    "tasks", metadata,
    Column("id", String(36), primary_key=True),
    Column("tenant", String(64), nullable=False),
    Column("quote_id", String(36), ForeignKey("quotes.id"), nullable=False),
    Column("title", String(300), nullable=False),
    Column("due_date", Date, nullable=True),
    Column("assignee_id", String(64), nullable=False),
    Column("description", Text, nullable=False, default=""),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Index("ix_tasks_quote", "quote_id"),
)

# The first result of each create/send call that carried an idempotency key.
idempotency_keys = Table(
    "idempotency_keys", metadata,
    Column("tenant", String(64), primary_key=True),
    Column("key", String(128), primary_key=True),
    Column("operation", String(32), nullable=False),
    Column("request_sha256", String(64), nullable=False),
    Column("result", JSON, nullable=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Index("ix_idempotency_keys_created", "created_at"),
)
