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

from quoteflow.db import add_kernel_tables

metadata = MetaData()
outbox, inbox = add_kernel_tables(metadata)

settings = Table(
    "settings", metadata,
    Column("tenant", String(64), primary_key=True),
    Column("esignature_enabled", Boolean, nullable=False, default=False),
    Column("company", JSON, nullable=False),
    Column("default_validity_days", Integer, nullable=False, default=30),
    Column("default_terms", Text, nullable=False, default=""),
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
    UniqueConstraint("tenant", "number", name="uq_quotes_tenant_number"),
    Index("ix_quotes_tenant_created", "tenant", "created_at", "id"),
)

quote_versions = Table(
    "quote_versions", metadata,
    Column("quote_id", String(36), ForeignKey("quotes.id"), primary_key=True),
    Column("number", Integer, primary_key=True),
    Column("content_sha256", String(64), nullable=False),
    Column("pdf_sha256", String(64), nullable=False),
    Column("sent_at", DateTime(timezone=True), nullable=False),
    Column("recipient_email", String(320), nullable=False),
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
