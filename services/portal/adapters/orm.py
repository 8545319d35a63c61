"""The portal's own tables: access links, the sent versions they show, confirmed views, failed link lookups,
and the kernel's outbox/inbox.

Schema changes go through Alembic (``services/portal/migrations``): one revision per change.
"""
from __future__ import annotations

from sqlalchemy import (JSON, BigInteger, Boolean, Column, DateTime, Double, Index, Integer, MetaData, String, Table,
                        Text, false)

from quoteflow.db import add_kernel_tables

metadata = MetaData()

links = Table(
    "links",
    metadata,
    Column("token_sha256", String(64), primary_key=True),
    Column("tenant", String(100), nullable=False),
    Column("quote_id", String(100), nullable=False),
    Column("version", Integer, nullable=False),
    Column("recipient", JSON, nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=True),
    Column("superseded", Boolean, nullable=False, default=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("revoked", Boolean, nullable=False, default=False, server_default=false()),
    Column("code_channel", String(10), nullable=False, default="", server_default=""),
    Column("code_sent_to", Text, nullable=False, default="", server_default=""),
    Column("code_expires_at", DateTime(timezone=True), nullable=True),
)
Index("links_quote", links.c.tenant, links.c.quote_id)

versions = Table(
    "versions",
    metadata,
    Column("tenant", String(100), primary_key=True),
    Column("quote_id", String(100), primary_key=True),
    Column("version", Integer, primary_key=True),
    Column("number", String(100), nullable=False),
    Column("snapshot", JSON, nullable=False),
    Column("pdf_sha256", String(64), nullable=False),
    Column("signature_requested", Boolean, nullable=False, default=False),
    Column("assignee", JSON, nullable=False),
    Column("status", String(20), nullable=False, default="open"),
    Column("signer_name", Text, nullable=False, default=""),
    Column("signed_at", DateTime(timezone=True), nullable=True),
    Column("signed_pdf_sha256", String(64), nullable=False, default=""),
    Column("signature_otp", String(10), nullable=False, default="", server_default=""),
    Column("declined_at", DateTime(timezone=True), nullable=True),
    Column("decline_reason", Text, nullable=False, default="", server_default=""),
    Column("decliner_name", Text, nullable=False, default="", server_default=""),
)

# One row per confirmed page view: a view id counts once, whatever confirms it first.
views = Table(
    "views",
    metadata,
    Column("view_id", String(64), primary_key=True),
    Column("token_sha256", String(64), nullable=False),
    Column("trigger", String(20), nullable=False),
    Column("confirmed_at", DateTime(timezone=True), nullable=False),
)

# One row per failed link lookup (an unknown or malformed token) by client (its address; an IPv6 client's /64),
# so that every worker and replica counts the same guesses (services/portal/adapters/failed_lookups.py).
# Rows older than the guess window are deleted as failures come.
failed_lookups = Table(
    "failed_lookups",
    metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    Column("client", String(100), nullable=False),
    Column("failed_at", Double, nullable=False),  # seconds since the epoch
)
Index("failed_lookups_client", failed_lookups.c.client, failed_lookups.c.failed_at)
Index("failed_lookups_failed_at", failed_lookups.c.failed_at)

outbox, inbox = add_kernel_tables(metadata)
