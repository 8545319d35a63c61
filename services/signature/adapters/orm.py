"""The signature database schema (SQLAlchemy Core tables; the domain stays unaware of them)."""
from __future__ import annotations

from sqlalchemy import JSON, Column, DateTime, ForeignKey, Index, Integer, MetaData, String, Table, Text

from quoteflow.apikeys import add_api_keys_table
from quoteflow.db import add_kernel_tables

metadata = MetaData()
outbox, inbox = add_kernel_tables(metadata)
api_keys = add_api_keys_table(metadata)  # see quoteflow.apikeys

requests = Table(
    "signature_requests", metadata,
    Column("id", String(36), primary_key=True),
    Column("tenant", String(64), nullable=False),
    Column("quote_id", String(64), nullable=False),
    Column("number", String(64), nullable=False),
    Column("version", Integer, nullable=False),
    Column("document_sha256", String(64), nullable=False),
    Column("signer", JSON, nullable=False),
    Column("assignee", JSON, nullable=False),
    Column("amount_ttc", String(32), nullable=False),
    Column("currency", String(3), nullable=False),
    Column("consent_text", Text, nullable=False),
    Column("status", String(16), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    # Filled once, by the one signature that wins.
    Column("signed_at", DateTime(timezone=True), nullable=True),
    Column("signer_name", String(200), nullable=False, default=""),
    Column("signer_email", String(320), nullable=False, default=""),
    Column("signer_contact_id", String(64), nullable=False, default=""),
    Column("signed_ip", String(64), nullable=False, default=""),
    Column("signed_user_agent", Text, nullable=False, default=""),
    Column("signed_consent_text", Text, nullable=False, default=""),
    Column("evidence_sha256", String(64), nullable=False, default=""),
    Column("signed_pdf_sha256", String(64), nullable=False, default=""),
    Column("proof_sha256", String(64), nullable=False, default=""),          # the sealed proof PDF
    # Added by revision 0002: expiry, one-time code, drawn signature, JSON proof, decline.
    Column("expires_at", DateTime(timezone=True), nullable=True),
    Column("otp_channel", String(8), nullable=False, default="", server_default=""),
    Column("signature_png_sha256", String(64), nullable=False, default="", server_default=""),
    Column("proof_json_sha256", String(64), nullable=False, default="", server_default=""),
    Column("declined_at", DateTime(timezone=True), nullable=True),
    Column("decline_reason", Text, nullable=False, default="", server_default=""),
    Column("decliner_name", String(200), nullable=False, default="", server_default=""),
    Column("decliner_email", String(320), nullable=False, default="", server_default=""),
    Column("declined_ip", String(64), nullable=False, default="", server_default=""),
    Column("declined_user_agent", Text, nullable=False, default="", server_default=""),
    # Added by revision 0005: the frozen lines and totals sent (canonical JSON, domain/purchase.py), whose SHA-256
    # the first evidence entry holds; NULL for requests opened before.
    Column("lines_json", Text, nullable=True),
    Index("ix_signature_requests_quote", "tenant", "quote_id", "version"),
    Index("ix_signature_requests_signed_pdf", "signed_pdf_sha256"),
    Index("ix_signature_requests_proof", "proof_sha256"),
)

# Append-only: rows are inserted, never updated or deleted.
evidence = Table(
    "evidence", metadata,
    Column("request_id", String(36), ForeignKey("signature_requests.id"), primary_key=True),
    Column("seq", Integer, primary_key=True),
    Column("at", String(40), nullable=False),       # exactly the hashed RFC 3339 text
    Column("step", String(32), nullable=False),
    Column("ip", String(64), nullable=False),
    Column("user_agent", Text, nullable=False),
    Column("data_json", Text, nullable=False),      # canonical JSON, as hashed
    Column("prev_sha256", String(64), nullable=False),
    Column("sha256", String(64), nullable=False),
)

# One row per code sent; only a keyed hash of the code is kept (model.code_digest).
codes = Table(
    "signature_codes", metadata,
    Column("request_id", String(36), ForeignKey("signature_requests.id"), primary_key=True),
    Column("seq", Integer, primary_key=True),
    Column("channel", String(8), nullable=False),
    Column("recipient", String(320), nullable=False),
    Column("salt", String(64), nullable=False),
    Column("code_sha256", String(64), nullable=False),
    Column("issued_at", DateTime(timezone=True), nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=False),
    Column("attempts", Integer, nullable=False),
)

# One row per document timestamp added to a stored signed PDF or proof PDF after signing (extend-archive), written
# once its new file is in the blob store: the newest row of a document is the file served; a document without rows
# is served as sealed. Append-only. The file recorded at signing (signed_pdf_sha256, proof_sha256) stays a prefix
# of every later one.
archive_revisions = Table(
    "archive_revisions", metadata,
    Column("request_id", String(36), ForeignKey("signature_requests.id"), primary_key=True),
    Column("kind", String(16), primary_key=True),   # signed_pdf or proof_pdf
    Column("seq", Integer, primary_key=True),       # 1, 2, …: two runs extending the same file collide here
    Column("previous_sha256", String(64), nullable=False),
    Column("sha256", String(64), nullable=False),
    Column("extended_at", DateTime(timezone=True), nullable=False),
)
