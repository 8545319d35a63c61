"""no clear links in the outbox

``quote.sent`` events carried the portal link (a capability: whoever has it can open, sign or decline the
quote) in clear, and published outbox rows are kept. New events carry it sealed for the notifier
(``sealed_link_url``). This blanks ``link_url`` in the rows already published; rows still waiting keep it,
so their email goes out with its link (the notifier reads the clear field of events from before).

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-29 17:40:00

"""
import json
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision: str = '0005'
down_revision: Union[str, Sequence[str], None] = '0004'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

_outbox = sa.table("outbox", sa.column("id", sa.BigInteger), sa.column("type", sa.String),
                   sa.column("body", sa.Text), sa.column("published_at", sa.DateTime(timezone=True)))


def upgrade() -> None:
    """Blank the clear link of every published quote.sent."""
    conn = op.get_bind()
    rows = conn.execute(sa.select(_outbox.c.id, _outbox.c.body).where(
        _outbox.c.type == "quote.sent", _outbox.c.published_at.is_not(None))).all()
    for row_id, body in rows:
        event = json.loads(body)
        data = event.get("data")
        if isinstance(data, dict) and data.get("link_url"):
            data["link_url"] = ""
            conn.execute(sa.update(_outbox).where(_outbox.c.id == row_id).values(body=json.dumps(event, ensure_ascii=False, separators=(",", ":"))))


def downgrade() -> None:
    """Nothing: a blanked link cannot be given back (only its hash was ever meant to be kept)."""
