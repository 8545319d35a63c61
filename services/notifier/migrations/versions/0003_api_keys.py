"""api keys, delivery trace context

This service's own copy of the keys quotes issues, fed by apikey.created / apikey.revoked
(inbox dedup), looked up by hash on every gRPC call. Each delivery keeps the traceparent of
the event that caused it, so its send span joins that trace.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-29 09:20:00

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa

from quoteflow.apikeys import create_api_keys_table, drop_api_keys_table


# revision identifiers, used by Alembic.
revision: str = '0003'
down_revision: Union[str, Sequence[str], None] = '0002'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Upgrade schema."""
    create_api_keys_table(op)

    op.add_column('deliveries', sa.Column('traceparent', sa.String(length=64), server_default='', nullable=False))


def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table('deliveries', schema=None) as batch_op:
        batch_op.drop_column('traceparent')

    drop_api_keys_table(op)
