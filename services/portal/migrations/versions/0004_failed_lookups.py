"""failed link lookups, counted by every worker and replica together

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-30 09:00:00

One row per failed link lookup by client (services/portal/adapters/failed_lookups.py); rows older than the
guess window (PORTAL_FAILED_LOOKUP_WINDOW) are deleted as failures come, so the table stays small.
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
    op.create_table('failed_lookups',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('client', sa.String(length=100), nullable=False),
    sa.Column('failed_at', sa.Double(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('failed_lookups', schema=None) as batch_op:
        batch_op.create_index('failed_lookups_client', ['client', 'failed_at'], unique=False)
        batch_op.create_index('failed_lookups_failed_at', ['failed_at'], unique=False)


def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table('failed_lookups', schema=None) as batch_op:
        batch_op.drop_index('failed_lookups_failed_at')
        batch_op.drop_index('failed_lookups_client')

    op.drop_table('failed_lookups')
