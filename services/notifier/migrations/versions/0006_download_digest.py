"""download digest

Downloads follow the rule of views: the first one told at once, the next ones within the window
gathered into one digest. Their windows and gathered downloads have tables of their own, shaped
as the views' ones.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-08 04:40:00

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision: str = '0006'
down_revision: Union[str, Sequence[str], None] = '0005'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table('download_windows',
    sa.Column('tenant', sa.String(length=100), nullable=False),
    sa.Column('quote_id', sa.String(length=64), nullable=False),
    sa.Column('closes_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('pending', sa.Integer(), nullable=False),
    sa.Column('number', sa.String(length=64), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('assignee_id', sa.String(length=100), nullable=False),
    sa.Column('assignee_name', sa.String(length=200), nullable=False),
    sa.Column('assignee_email', sa.String(length=320), nullable=False),
    sa.Column('assignee_phone', sa.String(length=40), nullable=False),
    sa.PrimaryKeyConstraint('tenant', 'quote_id')
    )
    with op.batch_alter_table('download_windows', schema=None) as batch_op:
        batch_op.create_index('ix_download_windows_due', ['pending', 'closes_at'], unique=False)

    op.create_table('digest_downloads',
    sa.Column('tenant', sa.String(length=100), nullable=False),
    sa.Column('event_id', sa.String(length=64), nullable=False),
    sa.Column('quote_id', sa.String(length=64), nullable=False),
    sa.Column('viewer_email', sa.String(length=320), nullable=False),
    sa.Column('ip', sa.String(length=64), nullable=False),
    sa.Column('user_agent', sa.String(length=500), nullable=False),
    sa.Column('at', sa.String(length=40), nullable=False),
    sa.PrimaryKeyConstraint('tenant', 'event_id')
    )
    with op.batch_alter_table('digest_downloads', schema=None) as batch_op:
        batch_op.create_index('ix_digest_downloads_quote', ['tenant', 'quote_id'], unique=False)


def downgrade() -> None:
    """Downgrade schema (downloads waiting for their digest are dropped)."""
    with op.batch_alter_table('digest_downloads', schema=None) as batch_op:
        batch_op.drop_index('ix_digest_downloads_quote')
    op.drop_table('digest_downloads')
    with op.batch_alter_table('download_windows', schema=None) as batch_op:
        batch_op.drop_index('ix_download_windows_due')
    op.drop_table('download_windows')
