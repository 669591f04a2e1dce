"""returns and recalls: return authorisations, transitions, recall acknowledgements

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25 13:40:08.305554
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "recall_acknowledgements",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("lot_id", sa.Integer(), nullable=False),
        sa.Column("destination", sa.String(length=200), nullable=False),
        sa.Column("acknowledged_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("contact", sa.String(length=200), nullable=False),
        sa.Column("lot_status", sa.String(length=20), nullable=False),
        sa.Column("recorded_by", sa.String(length=100), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["lot_id"], ["lots.id"], name=op.f("fk_recall_acknowledgements_lot_id_lots")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_recall_acknowledgements")),
    )
    with op.batch_alter_table("recall_acknowledgements", schema=None) as batch_op:
        batch_op.create_index(
            "ix_recall_acknowledgements_lot_destination", ["lot_id", "destination"], unique=False
        )

    op.create_table(
        "return_authorisations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("lot_id", sa.Integer(), nullable=False),
        sa.Column("supplier_id", sa.Integer(), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("carrier_reference", sa.String(length=200), nullable=False),
        sa.Column("claim_kind", sa.String(length=20), nullable=True),
        sa.Column("claim_amount", sa.Numeric(precision=14, scale=2), nullable=True),
        sa.Column("claim_currency", sa.String(length=3), nullable=True),
        sa.Column("state", sa.String(length=30), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("opened_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("shipped_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("received_by_supplier_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("cancelled_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_by", sa.String(length=100), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "claim_amount IS NULL OR claim_amount >= 0",
            name=op.f("ck_return_authorisations_claim_not_negative"),
        ),
        sa.CheckConstraint("quantity > 0", name=op.f("ck_return_authorisations_quantity_positive")),
        sa.ForeignKeyConstraint(
            ["lot_id"], ["lots.id"], name=op.f("fk_return_authorisations_lot_id_lots")
        ),
        sa.ForeignKeyConstraint(
            ["supplier_id"],
            ["suppliers.id"],
            name=op.f("fk_return_authorisations_supplier_id_suppliers"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_return_authorisations")),
    )
    with op.batch_alter_table("return_authorisations", schema=None) as batch_op:
        batch_op.create_index(
            "ix_return_authorisations_lot_id_state", ["lot_id", "state"], unique=False
        )
        batch_op.create_index("ix_return_authorisations_state_id", ["state", "id"], unique=False)
        batch_op.create_index(
            "ix_return_authorisations_supplier_id_id", ["supplier_id", "id"], unique=False
        )

    op.create_table(
        "return_transitions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("return_id", sa.Integer(), nullable=False),
        sa.Column("from_state", sa.String(length=30), nullable=True),
        sa.Column("to_state", sa.String(length=30), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("note", sa.String(length=2000), nullable=True),
        sa.Column("actor", sa.String(length=100), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["return_id"],
            ["return_authorisations.id"],
            name=op.f("fk_return_transitions_return_id_return_authorisations"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_return_transitions")),
    )
    with op.batch_alter_table("return_transitions", schema=None) as batch_op:
        batch_op.create_index(
            "ix_return_transitions_return_id_id", ["return_id", "id"], unique=False
        )

    with op.batch_alter_table("lots", schema=None) as batch_op:
        batch_op.create_index("ix_lots_status_id", ["status", "id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("lots", schema=None) as batch_op:
        batch_op.drop_index("ix_lots_status_id")

    with op.batch_alter_table("return_transitions", schema=None) as batch_op:
        batch_op.drop_index("ix_return_transitions_return_id_id")

    op.drop_table("return_transitions")
    with op.batch_alter_table("return_authorisations", schema=None) as batch_op:
        batch_op.drop_index("ix_return_authorisations_supplier_id_id")
        batch_op.drop_index("ix_return_authorisations_state_id")
        batch_op.drop_index("ix_return_authorisations_lot_id_state")

    op.drop_table("return_authorisations")
    with op.batch_alter_table("recall_acknowledgements", schema=None) as batch_op:
        batch_op.drop_index("ix_recall_acknowledgements_lot_destination")

    op.drop_table("recall_acknowledgements")
