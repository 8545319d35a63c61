"""version sends

A relance (the same version sent again) overwrote the version's ``sent_at`` and
``recipient_email``. They are the first send again; the latest send has its own columns,
with the number of sends. Existing versions are repaired from their links: each send
stored exactly one link (``quote_links.created_at`` is the send's time), so the first
link of a version is its first send and the overwritten values were its latest.

Plain ADD COLUMN with constant defaults, so SQLite alters in place (see 0002).

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-30 10:00:00

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision: str = '0004'
down_revision: Union[str, Sequence[str], None] = '0003'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

_LINKS_OF_VERSION = ("FROM quote_links l WHERE l.quote_id = quote_versions.quote_id "
                     "AND l.version = quote_versions.number")


def upgrade() -> None:
    """Upgrade schema."""
    with op.batch_alter_table('quote_versions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('last_sent_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('last_recipient_email', sa.String(length=320), server_default='',
                                      nullable=False))
        batch_op.add_column(sa.Column('send_count', sa.Integer(), server_default='1', nullable=False))
    op.execute(f"UPDATE quote_versions SET last_sent_at = sent_at, last_recipient_email = recipient_email, "
               f"send_count = (SELECT count(*) {_LINKS_OF_VERSION})")
    op.execute("UPDATE quote_versions SET send_count = 1 WHERE send_count < 1")
    op.execute(f"UPDATE quote_versions SET sent_at = (SELECT min(l.created_at) {_LINKS_OF_VERSION}), "
               f"recipient_email = (SELECT l.recipient_email {_LINKS_OF_VERSION} "
               "ORDER BY l.created_at, l.token_sha256 LIMIT 1) WHERE send_count > 1")


def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table('quote_versions', schema=None) as batch_op:
        batch_op.drop_column('send_count')
        batch_op.drop_column('last_recipient_email')
        batch_op.drop_column('last_sent_at')
