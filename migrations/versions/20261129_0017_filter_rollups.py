"""rollups by decided day and month, by supplier and week, by lot-number prefix and week;
received months

lot_period_totals / lot_period_reasons: rows by calendar month too (days = 31, from the rows
by day), so that long received ranges read months for totals and reasons (weeks only for the
weekly series).
lot_decided_totals / lot_decided_reasons: as lot_period_totals, by the day and calendar month
each lot was last decided (lots never decided are not counted), the totals with the week it
was received, so that decided ranges read whole months and days and only the lots of
partial days.
lot_supplier_weeks / lot_supplier_week_reasons: per supplier and week received, so that a
supplier's summary reads its weeks instead of its lots. lot_prefix_weeks /
lot_prefix_week_reasons: per first 8 characters of the lot number and week received (the
reasons not by week), so that a short prefix (q=TR or q=TR-202: 84,000 of 1,000,000 seeded
lots) reads the rows of the 8-character prefixes it starts (LIKE, served by the primary key
in the "C" collation) instead of its lots. Filled
here from the lots.

Revision ID: 0017
Revises: 0015
Create Date: 2026-11-29 07:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from app.dashboard.rollup import bump_version, rebuild_filter_rollups, rebuild_received_months

revision: str = "0017"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_TABLES = (
    "lot_decided_totals",
    "lot_decided_reasons",
    "lot_supplier_weeks",
    "lot_supplier_week_reasons",
    "lot_prefix_weeks",
    "lot_prefix_week_reasons",
)
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


def _bucket() -> list[sa.Column[object]]:
    return [
        sa.Column("product", sa.String(length=40), nullable=False),
        sa.Column("ordered_as", sa.String(length=40), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("disposition", sa.String(length=30), nullable=False),
    ]


def _sums(with_sums: bool) -> list[sa.Column[object]]:
    return [
        sa.Column(name, sa.BigInteger(), nullable=False)
        for name in _SUMS[: None if with_sums else 1]
    ]


def upgrade() -> None:
    bind = op.get_bind()
    bucket = ("product", "ordered_as", "status", "disposition")
    # Byte order on PostgreSQL, so that the primary key serves LIKE 'prefix%'.
    collation = "C" if bind.dialect.name == "postgresql" else None
    for name, reasons in (("lot_decided_totals", False), ("lot_decided_reasons", True)):
        op.create_table(
            name,
            sa.Column("days", sa.SmallInteger(), autoincrement=False, nullable=False),
            sa.Column("period", sa.Date(), nullable=False),
            *_bucket(),
            *([sa.Column("code", sa.String(length=60), nullable=False)] if reasons else []),
            *([] if reasons else [sa.Column("week", sa.Date(), nullable=False)]),
            *_sums(not reasons),
            sa.PrimaryKeyConstraint(
                "days",
                "period",
                *bucket,
                *(["code"] if reasons else ["week"]),
                name=op.f(f"pk_{name}"),
            ),
        )
    for leading, column_type, tables in (
        ("supplier_id", sa.Integer(), "supplier"),
        ("prefix", sa.String(length=8, collation=collation), "prefix"),
    ):
        for name, reasons in ((f"lot_{tables}_weeks", False), (f"lot_{tables}_week_reasons", True)):
            by_week = not reasons or tables == "supplier"  # prefix reasons: every week at once
            op.create_table(
                name,
                sa.Column(leading, column_type, autoincrement=False, nullable=False),
                *([sa.Column("week", sa.Date(), nullable=False)] if by_week else []),
                *_bucket(),
                *([sa.Column("code", sa.String(length=60), nullable=False)] if reasons else []),
                *_sums(not reasons),
                sa.PrimaryKeyConstraint(
                    leading,
                    *(["week"] if by_week else []),
                    *bucket,
                    *(["code"] if reasons else []),
                    name=op.f(f"pk_{name}"),
                ),
            )
    rebuild_received_months(bind)
    rebuild_filter_rollups(bind)
    bump_version(bind)
    if bind.dialect.name == "postgresql":  # the planner's row estimates, at once
        for name in (*_TABLES, "lot_period_totals", "lot_period_reasons"):
            bind.exec_driver_sql(f"ANALYZE {name}")


def downgrade() -> None:
    for name in ("lot_period_totals", "lot_period_reasons"):
        op.execute(sa.text(f"DELETE FROM {name} WHERE days = 31"))  # noqa: S608 - constant
    for name in reversed(_TABLES):
        op.drop_table(name)
