"""rollups by received day and week

Totals and reason counts per received day and per received week (UTC, weeks from
Monday), product, ordered_as, status and disposition, so that summaries filtered by a
received range read whole weeks and days from here and only the lots of partial days at
the ends (app/dashboard/periods.py). Filled here from the lots already stored.

Revision ID: 0014
Revises: 0007
Create Date: 2026-11-29 04:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from app.dashboard.rollup import bump_version, rebuild_period_rollups

revision: str = "0014"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_KEYS = ("days", "period", "product", "ordered_as", "status", "disposition")
_SUMS = (
    "lots",
    "units",
    "distributed",
    "site_returned",
    "site_destroyed",
    "site_consumed",
    "returned_to_supplier",
    "to_recall",
    "to_return",
    "releasable",
)


def _key_columns() -> list[sa.Column[object]]:
    return [
        sa.Column("days", sa.SmallInteger(), autoincrement=False, nullable=False),
        sa.Column("period", sa.Date(), nullable=False),
        sa.Column("product", sa.String(length=40), nullable=False),
        sa.Column("ordered_as", sa.String(length=40), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("disposition", sa.String(length=30), nullable=False),
    ]


def upgrade() -> None:
    op.create_table(
        "lot_period_totals",
        *_key_columns(),
        sa.Column("week", sa.Date(), nullable=False),
        *(sa.Column(name, sa.BigInteger(), nullable=False) for name in _SUMS),
        sa.PrimaryKeyConstraint(*_KEYS, "week", name=op.f("pk_lot_period_totals")),
    )
    op.create_table(
        "lot_period_reasons",
        *_key_columns(),
        sa.Column("code", sa.String(length=60), nullable=False),
        sa.Column("week", sa.Date(), nullable=False),
        sa.Column("lots", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint(*_KEYS, "code", "week", name=op.f("pk_lot_period_reasons")),
    )
    rebuild_period_rollups(op.get_bind())
    bump_version(op.get_bind())


def downgrade() -> None:
    op.drop_table("lot_period_reasons")
    op.drop_table("lot_period_totals")
