"""archive revisions

The document timestamps extend-archive adds to stored signed PDFs and proof PDFs (PAdES B-LTA): one row per new
file, the newest served.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-08 05:00:00

"""
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision: str = '0004'
down_revision: Union[str, Sequence[str], None] = '0003'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table('archive_revisions',
    sa.Column('request_id', sa.String(length=36), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('previous_sha256', sa.String(length=64), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('extended_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['request_id'], ['signature_requests.id'], ),
    sa.PrimaryKeyConstraint('request_id', 'kind', 'seq')
    )


def downgrade() -> None:
    """Downgrade schema."""
    op.drop_table('archive_revisions')
