"""a partial index on the lots under recall with units still at sites

The recall list (GET /api/v1/recalls and the Recalls page) read every suspect or rejected
lot to find the few with units outstanding: 1.2 s on 1,000,000 seeded lots (177,000 suspect
or rejected, 1,041 under recall). The predicate is app.lots.models.UNDER_RECALL_SQL as it
stands at this revision, written out so that the migration does not change with the code.

Revision ID: 0015
Revises: 0014
Create Date: 2026-11-29 06:15:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UNDER_RECALL_SQL = (
    "status IN ('suspect', 'rejected')"
    " AND distributed - site_returned - site_destroyed - site_consumed > 0"
)


def upgrade() -> None:
    op.create_index(
        "ix_lots_under_recall",
        "lots",
        ["id"],
        postgresql_where=sa.text(UNDER_RECALL_SQL),
        sqlite_where=sa.text(UNDER_RECALL_SQL),
    )


def downgrade() -> None:
    op.drop_index("ix_lots_under_recall", table_name="lots")
