"""distributions name their intended use; a return's carrier reference may wait for shipping

- distributions.intended_use: what the units are for (one of the catalogue's uses). New
  distributions must name it (the API requires it); rows recorded before stay NULL
  ("not recorded"): the use they served was never written down, and guessing one from the
  lot's allowed uses would invent a fact.
- return_authorisations.carrier_reference becomes nullable: a return is opened before the
  carrier is booked; it is required when the return moves to shipped (checked by the API,
  and by a CHECK constraint so that no other writer can ship one without it).

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-29 04:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


SHIPPED_HAS_CARRIER = "state IN ('open', 'cancelled') OR carrier_reference IS NOT NULL"


def upgrade() -> None:
    with op.batch_alter_table("distributions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("intended_use", sa.String(length=40), nullable=True))
    with op.batch_alter_table("return_authorisations", schema=None) as batch_op:
        batch_op.alter_column(
            "carrier_reference", existing_type=sa.String(length=200), nullable=True
        )
        batch_op.create_check_constraint(
            op.f("ck_return_authorisations_shipped_has_carrier_reference"), SHIPPED_HAS_CARRIER
        )


def downgrade() -> None:
    # Returns opened without a carrier reference get an explicit placeholder back.
    op.execute(
        "UPDATE return_authorisations SET carrier_reference = 'not recorded' "
        "WHERE carrier_reference IS NULL"
    )
    with op.batch_alter_table("return_authorisations", schema=None) as batch_op:
        batch_op.drop_constraint(
            op.f("ck_return_authorisations_shipped_has_carrier_reference"), type_="check"
        )
        batch_op.alter_column(
            "carrier_reference", existing_type=sa.String(length=200), nullable=False
        )
    with op.batch_alter_table("distributions", schema=None) as batch_op:
        batch_op.drop_column("intended_use")
