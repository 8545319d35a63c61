"""api keys

quotes is the system of record: `quoteflow apikey create` / `revoke` write here and
publish apikey.created / apikey.revoked through the outbox in the same transaction.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-29 09:20:00

"""
from typing import Sequence, Union

from alembic import op

from quoteflow.apikeys import create_api_keys_table, drop_api_keys_table


# revision identifiers, used by Alembic.
revision: str = '0003'
down_revision: Union[str, Sequence[str], None] = '0002'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Upgrade schema."""
    create_api_keys_table(op)


def downgrade() -> None:
    """Downgrade schema."""
    drop_api_keys_table(op)
