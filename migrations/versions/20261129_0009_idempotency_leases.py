"""idempotency keys claimed with a lease

A request claims its Idempotency-Key before it runs, for a lease (LOTGATE_IDEMPOTENCY_
LEASE_SECONDS); its answer is stored in the same transaction as its writes, on condition
that the lease (lease_token) is still its own. Rows claimed before this revision keep
lease_expires_at NULL: their write may have committed without their answer, so they are
never taken over, only purged when their retention ends.

Revision ID: 0009
Revises: 0007
Create Date: 2026-11-29 04:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("idempotency_records") as batch:
        batch.add_column(sa.Column("lease_token", sa.String(length=32), nullable=True))
        batch.add_column(sa.Column("lease_expires_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("idempotency_records") as batch:
        batch.drop_column("lease_expires_at")
        batch.drop_column("lease_token")
