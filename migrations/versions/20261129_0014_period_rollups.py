"""rollups by received day and week; lots.reason_codes

Totals and reason counts per received day and per received week (UTC, weeks from
Monday), product, ordered_as, status and disposition, so that summaries filtered by a
received range read whole weeks and days from here and only the lots of partial days at
the ends (app/dashboard/periods.py). Filled here from the lots already stored.

lots.reason_codes: the warning and critical reason codes of each lot, sorted and
comma-separated (app.dashboard.rollup.reason_code_text), so that summaries read from the
lots count reasons without parsing each lot's JSON; filled here from the reasons.

Revision ID: 0014
Revises: 0012
Create Date: 2026-11-29 04:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from app.dashboard.rollup import bump_version, rebuild_period_rollups

revision: str = "0014"
down_revision: str | None = "0012"
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


# The same text as app.dashboard.rollup.reason_code_text, computed by the database.
_CODES = {
    "postgresql": """
        UPDATE lots SET reason_codes = codes.text FROM (
            SELECT lots.id, string_agg(DISTINCT (e ->> 'code') COLLATE "C", ','
                                       ORDER BY (e ->> 'code') COLLATE "C") AS text
            FROM lots, json_array_elements(lots.reasons) AS e
            WHERE e ->> 'severity' IN ('warning', 'critical')
            GROUP BY lots.id
        ) AS codes
        WHERE lots.id = codes.id
    """,
    "sqlite": """
        UPDATE lots SET reason_codes = coalesce((
            SELECT group_concat(code, ',') FROM (
                SELECT DISTINCT json_extract(e.value, '$.code') AS code
                FROM json_each(lots.reasons) AS e
                WHERE json_extract(e.value, '$.severity') IN ('warning', 'critical')
                ORDER BY code
            )
        ), '')
    """,
}


def upgrade() -> None:
    with op.batch_alter_table("lots", schema=None) as batch_op:
        batch_op.add_column(sa.Column("reason_codes", sa.Text(), server_default="", nullable=False))
    bind = op.get_bind()
    bind.exec_driver_sql(_CODES[bind.dialect.name])
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
    with op.batch_alter_table("lots", schema=None) as batch_op:
        batch_op.drop_column("reason_codes")
    op.drop_table("lot_period_reasons")
    op.drop_table("lot_period_totals")
