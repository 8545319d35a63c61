"""directory, documents, actions, idempotency

Deals, products, equipment; optional lines, documents, totals kept on the quote row, version
contents, declines; invoices and orders; tasks; idempotency keys; the tenant's OTP channel,
extra VAT rates and branding. Existing quotes get their totals and last version filled in.

Every change to an existing table is a plain ADD COLUMN / CREATE INDEX with constant
defaults, so SQLite alters in place: a batch rebuild of ``quotes`` would DROP it, which
its foreign keys (versions, history, links) forbid while rows exist.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-29 05:05:07.813012

"""
from typing import Sequence, Union

from decimal import ROUND_HALF_UP, Decimal

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision: str = '0002'
down_revision: Union[str, Sequence[str], None] = '0001'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table('deals',
    sa.Column('tenant', sa.String(length=64), nullable=False),
    sa.Column('id', sa.String(length=64), nullable=False),
    sa.Column('account_id', sa.String(length=64), nullable=False),
    sa.Column('contact_id', sa.String(length=64), nullable=False),
    sa.Column('assignee_id', sa.String(length=64), nullable=False),
    sa.Column('title', sa.String(length=300), nullable=False),
    sa.PrimaryKeyConstraint('tenant', 'id')
    )
    op.create_table('equipment',
    sa.Column('tenant', sa.String(length=64), nullable=False),
    sa.Column('id', sa.String(length=64), nullable=False),
    sa.Column('account_id', sa.String(length=64), nullable=False),
    sa.Column('product_id', sa.String(length=64), nullable=False),
    sa.Column('serial_number', sa.String(length=100), nullable=False),
    sa.Column('install_date', sa.Date(), nullable=True),
    sa.Column('warranty_end', sa.Date(), nullable=True),
    sa.PrimaryKeyConstraint('tenant', 'id')
    )
    with op.batch_alter_table('equipment', schema=None) as batch_op:
        batch_op.create_index('ix_equipment_tenant_account', ['tenant', 'account_id'], unique=False)

    op.create_table('idempotency_keys',
    sa.Column('tenant', sa.String(length=64), nullable=False),
    sa.Column('key', sa.String(length=128), nullable=False),
    sa.Column('operation', sa.String(length=32), nullable=False),
    sa.Column('request_sha256', sa.String(length=64), nullable=False),
    sa.Column('result', sa.JSON(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('tenant', 'key')
    )
    with op.batch_alter_table('idempotency_keys', schema=None) as batch_op:
        batch_op.create_index('ix_idempotency_keys_created', ['created_at'], unique=False)

    op.create_table('products',
    sa.Column('tenant', sa.String(length=64), nullable=False),
    sa.Column('id', sa.String(length=64), nullable=False),
    sa.Column('reference', sa.String(length=64), nullable=False),
    sa.Column('label', sa.String(length=2000), nullable=False),
    sa.Column('unit_price', sa.String(length=24), nullable=False),
    sa.Column('vat_rate', sa.String(length=8), nullable=False),
    sa.Column('unit', sa.String(length=20), nullable=False),
    sa.PrimaryKeyConstraint('tenant', 'id'),
    sa.UniqueConstraint('tenant', 'reference', name='uq_products_tenant_reference')
    )
    op.create_table('sales_documents',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('tenant', sa.String(length=64), nullable=False),
    sa.Column('kind', sa.String(length=8), nullable=False),
    sa.Column('number', sa.String(length=32), nullable=False),
    sa.Column('quote_id', sa.String(length=36), nullable=False),
    sa.Column('quote_number', sa.String(length=32), nullable=False),
    sa.Column('account_id', sa.String(length=64), nullable=False),
    sa.Column('contact_id', sa.String(length=64), nullable=False),
    sa.Column('assignee_id', sa.String(length=64), nullable=False),
    sa.Column('title', sa.String(length=300), nullable=False),
    sa.Column('lines', sa.JSON(), nullable=False),
    sa.Column('total_ttc_cents', sa.BigInteger(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['quote_id'], ['quotes.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('tenant', 'number', name='uq_sales_documents_tenant_number')
    )
    with op.batch_alter_table('sales_documents', schema=None) as batch_op:
        batch_op.create_index('ix_sales_documents_quote', ['quote_id'], unique=False)

    op.create_table('tasks',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('tenant', sa.String(length=64), nullable=False),
    sa.Column('quote_id', sa.String(length=36), nullable=False),
    sa.Column('title', sa.String(length=300), nullable=False),
    sa.Column('due_date', sa.Date(), nullable=True),
    sa.Column('assignee_id', sa.String(length=64), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['quote_id'], ['quotes.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('tasks', schema=None) as batch_op:
        batch_op.create_index('ix_tasks_quote', ['quote_id'], unique=False)

    with op.batch_alter_table('quote_versions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('content', sa.JSON(), nullable=True))

    with op.batch_alter_table('quotes', schema=None) as batch_op:
        batch_op.add_column(sa.Column('deal_id', sa.String(length=64), server_default='', nullable=False))
        batch_op.add_column(sa.Column('optional_lines', sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column('documents', sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column('total_ht_cents', sa.BigInteger(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('total_vat_cents', sa.BigInteger(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('total_ttc_cents', sa.BigInteger(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('last_version', sa.Integer(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('unsent_changes', sa.Boolean(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('decline', sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column('updated_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.create_index('ix_quotes_status_valid_until', ['status', 'valid_until'], unique=False)
        batch_op.create_index('ix_quotes_tenant_account', ['tenant', 'account_id', 'created_at', 'id'], unique=False)
        batch_op.create_index('ix_quotes_tenant_assignee', ['tenant', 'assignee_id', 'created_at', 'id'], unique=False)
        batch_op.create_index('ix_quotes_tenant_deal', ['tenant', 'deal_id', 'created_at', 'id'], unique=False)
        batch_op.create_index('ix_quotes_tenant_status', ['tenant', 'status', 'created_at', 'id'], unique=False)

    with op.batch_alter_table('settings', schema=None) as batch_op:
        batch_op.add_column(sa.Column('signature_otp', sa.String(length=8), server_default='', nullable=False))
        batch_op.add_column(sa.Column('extra_vat_rates', sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column('branding', sa.JSON(), nullable=True))

    _fill_existing_quotes()


def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table('settings', schema=None) as batch_op:
        batch_op.drop_column('branding')
        batch_op.drop_column('extra_vat_rates')
        batch_op.drop_column('signature_otp')

    with op.batch_alter_table('quotes', schema=None) as batch_op:
        batch_op.drop_index('ix_quotes_tenant_status')
        batch_op.drop_index('ix_quotes_tenant_deal')
        batch_op.drop_index('ix_quotes_tenant_assignee')
        batch_op.drop_index('ix_quotes_tenant_account')
        batch_op.drop_index('ix_quotes_status_valid_until')
        batch_op.drop_column('updated_at')
        batch_op.drop_column('decline')
        batch_op.drop_column('unsent_changes')
        batch_op.drop_column('last_version')
        batch_op.drop_column('total_ttc_cents')
        batch_op.drop_column('total_vat_cents')
        batch_op.drop_column('total_ht_cents')
        batch_op.drop_column('documents')
        batch_op.drop_column('optional_lines')
        batch_op.drop_column('deal_id')

    with op.batch_alter_table('quote_versions', schema=None) as batch_op:
        batch_op.drop_column('content')

    with op.batch_alter_table('tasks', schema=None) as batch_op:
        batch_op.drop_index('ix_tasks_quote')

    op.drop_table('tasks')
    with op.batch_alter_table('sales_documents', schema=None) as batch_op:
        batch_op.drop_index('ix_sales_documents_quote')

    op.drop_table('sales_documents')
    op.drop_table('products')
    with op.batch_alter_table('idempotency_keys', schema=None) as batch_op:
        batch_op.drop_index('ix_idempotency_keys_created')

    op.drop_table('idempotency_keys')
    with op.batch_alter_table('equipment', schema=None) as batch_op:
        batch_op.drop_index('ix_equipment_tenant_account')

    op.drop_table('equipment')
    op.drop_table('deals')


def _cents(value: Decimal) -> int:
    return int(value.quantize(Decimal('0.01'), rounding=ROUND_HALF_UP) * 100)


def _fill_existing_quotes() -> None:
    """Totals as the domain computes them (rounded per line, VAT once per rate) and the last version sent."""
    bind = op.get_bind()
    quotes = sa.table('quotes', sa.column('id', sa.String), sa.column('lines', sa.JSON),
                      sa.column('total_ht_cents', sa.BigInteger), sa.column('total_vat_cents', sa.BigInteger),
                      sa.column('total_ttc_cents', sa.BigInteger), sa.column('last_version', sa.Integer))
    versions = sa.table('quote_versions', sa.column('quote_id', sa.String), sa.column('number', sa.Integer))
    for row in bind.execute(sa.select(quotes.c.id, quotes.c.lines)).all():
        bases: dict[Decimal, Decimal] = {}
        for line in row.lines or []:
            gross = Decimal(line['quantity']) * Decimal(line['unit_price'])
            total = (gross - gross * Decimal(line.get('discount_percent', '0')) / 100).quantize(
                Decimal('0.01'), rounding=ROUND_HALF_UP)
            bases[Decimal(line['vat_rate'])] = bases.get(Decimal(line['vat_rate']), Decimal(0)) + total
        ht = sum(bases.values(), Decimal(0))
        vat = sum(((base * rate / 100).quantize(Decimal('0.01'), rounding=ROUND_HALF_UP)
                   for rate, base in bases.items()), Decimal(0))
        last = bind.execute(sa.select(sa.func.max(versions.c.number)).where(versions.c.quote_id == row.id)).scalar()
        bind.execute(sa.update(quotes).where(quotes.c.id == row.id).values(
            total_ht_cents=_cents(ht), total_vat_cents=_cents(vat), total_ttc_cents=_cents(ht + vat),
            last_version=last or 0))
