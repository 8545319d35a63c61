"""delivery drafts

An email delivery may be queued as a draft (subject, bodies, the attachment's blob SHA-256)
and made into its MIME message when it is sent: the consumer's transaction stays a small
insert. Rows queued before this revision keep their ready message ('message').

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-29 10:15:00

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision: str = '0004'
down_revision: Union[str, Sequence[str], None] = '0003'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Upgrade schema."""
    op.add_column('deliveries', sa.Column('payload_format', sa.String(length=10), server_default='message',
                                          nullable=False))


def downgrade() -> None:
    """Downgrade schema (drafts still queued would be sent as they are: send them first)."""
    with op.batch_alter_table('deliveries', schema=None) as batch_op:
        batch_op.drop_column('payload_format')
