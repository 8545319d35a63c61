"""no link tokens kept

A quote's link (``<portal>/d/<token>``) is a capability to open, sign or decline the quote;
quotes and the portal keep only its SHA-256. The notifier kept it in clear: in the read model
of sent quotes (``sent_quotes.variables``, for previews) and in every email it had sent or
given up on (``deliveries.payload``). This revision takes the tokens out of what is over,
as the service now does when a delivery ends (quoteflow/links.py: ``/d/h:``
and the first 12 hex digits of the token's SHA-256, which finds the portal's link row):

- ``sent_quotes.variables``: ``link_url`` removed (a preview shows where the link will go);
- ``deliveries`` sent or failed: the draft's subject and bodies without tokens; an SMS's
  text likewise; a whole message queued before drafts (0004), whose bodies may be encoded,
  wiped; ``deliveries.subject`` of every row, and the notifier's own events in ``outbox``.

Emails still queued keep their link: it goes out with them and is taken out afterwards.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01 09:00:00

"""
import json
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa

from quoteflow.links import without_links


# revision identifiers, used by Alembic.
revision: str = '0005'
down_revision: Union[str, Sequence[str], None] = '0004'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

_BATCH = 500
_sent_quotes = sa.table('sent_quotes', sa.column('tenant', sa.String), sa.column('quote_id', sa.String),
                        sa.column('version', sa.Integer), sa.column('variables', sa.Text))
_deliveries = sa.table('deliveries', sa.column('id', sa.String), sa.column('channel', sa.String),
                       sa.column('status', sa.String), sa.column('subject', sa.String),
                       sa.column('payload', sa.LargeBinary), sa.column('payload_format', sa.String))
_outbox = sa.table('outbox', sa.column('id', sa.Integer), sa.column('body', sa.Text))


def _draft_without_links(payload: bytes) -> bytes:
    try:
        doc = json.loads(payload.decode('utf-8'))
        for part in ('subject', 'text', 'html'):
            doc[part] = without_links(doc.get(part) or '')
    except (ValueError, TypeError, AttributeError):
        return b''
    return json.dumps(doc, ensure_ascii=False, separators=(',', ':')).encode('utf-8')


def _payload_kept(row) -> bytes:
    payload = bytes(row.payload or b'')
    if row.status not in ('sent', 'failed') or not payload:
        return payload
    if row.payload_format == 'draft':
        return _draft_without_links(payload)
    if row.channel == 'email':
        return b''
    return without_links(payload.decode('utf-8', 'replace')).encode('utf-8')


def _in_batches(conn, query, key):
    """The rows of ``query`` in batches ordered by ``key``, so a large table is never read at once."""
    last = None
    while True:
        page = query if last is None else query.where(key > last)
        rows = conn.execute(page.order_by(key).limit(_BATCH)).all()
        if not rows:
            return
        yield from rows
        last = getattr(rows[-1], key.name)


def upgrade() -> None:
    """Upgrade schema."""
    conn = op.get_bind()
    for row in conn.execute(sa.select(_sent_quotes).where(_sent_quotes.c.variables.like('%link_url%'))).all():
        variables = json.loads(row.variables or '{}')
        if variables.pop('link_url', None) is not None:
            conn.execute(_sent_quotes.update().where(
                _sent_quotes.c.tenant == row.tenant, _sent_quotes.c.quote_id == row.quote_id,
                _sent_quotes.c.version == row.version).values(variables=json.dumps(variables, ensure_ascii=False)))
    for row in _in_batches(conn, sa.select(_deliveries), _deliveries.c.id):
        subject, payload = without_links(row.subject or ''), _payload_kept(row)
        if subject != (row.subject or '') or payload != bytes(row.payload or b''):
            conn.execute(_deliveries.update().where(_deliveries.c.id == row.id).values(
                subject=subject, payload=payload))
    for row in _in_batches(conn, sa.select(_outbox).where(_outbox.c.body.like('%/d/%')), _outbox.c.id):
        body = without_links(row.body)
        if body != row.body:
            conn.execute(_outbox.update().where(_outbox.c.id == row.id).values(body=body))


def downgrade() -> None:
    """Downgrade schema (nothing to undo: the tokens are gone for good, as they should be)."""
