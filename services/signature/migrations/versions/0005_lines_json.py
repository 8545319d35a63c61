"""lines json

The frozen lines and totals of the version a request was opened for (canonical JSON), whose SHA-256 the request's
first evidence entry holds: the proof file shows what was bought. NULL for requests opened before.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-08 05:30:00

"""
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision: str = '0005'
down_revision: Union[str, Sequence[str], None] = '0004'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Upgrade schema."""
    with op.batch_alter_table('signature_requests') as batch:
        batch.add_column(sa.Column('lines_json', sa.Text(), nullable=True))


def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table('signature_requests') as batch:
        batch.drop_column('lines_json')
