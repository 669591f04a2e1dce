from datetime import datetime
from decimal import Decimal

from sqlalchemy import CheckConstraint, ForeignKey, Index, Numeric, String
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, UTCDateTime, utcnow


class ReturnAuthorisation(Base):
    """A return to the supplier (RMA) of units of one lot.

    ``version`` is bumped by every transition (ETag / If-Match). The per-state
    timestamps are when the transition happened, as reported by the client.
    """

    __tablename__ = "return_authorisations"
    __table_args__ = (
        CheckConstraint("quantity > 0", name="quantity_positive"),
        CheckConstraint("claim_amount IS NULL OR claim_amount >= 0", name="claim_not_negative"),
        CheckConstraint(
            "state IN ('open', 'cancelled') OR carrier_reference IS NOT NULL",
            name="shipped_has_carrier_reference",
        ),
        Index("ix_return_authorisations_lot_id_state", "lot_id", "state"),
        Index("ix_return_authorisations_supplier_id_id", "supplier_id", "id"),
        Index("ix_return_authorisations_state_id", "state", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    lot_id: Mapped[int] = mapped_column(ForeignKey("lots.id"))
    # The lot's supplier, kept on the row so lists filter by supplier without a join.
    supplier_id: Mapped[int] = mapped_column(ForeignKey("suppliers.id"))
    quantity: Mapped[int]
    # Open returns may wait for a carrier; from shipped on it is required (the service
    # answers 422, the CHECK constraint above stops any other writer).
    carrier_reference: Mapped[str | None] = mapped_column(String(200), default=None)
    claim_kind: Mapped[str | None] = mapped_column(String(20), default=None)
    claim_amount: Mapped[Decimal | None] = mapped_column(Numeric(14, 2), default=None)
    claim_currency: Mapped[str | None] = mapped_column(String(3), default=None)
    state: Mapped[str] = mapped_column(String(30), default="open")
    version: Mapped[int] = mapped_column(default=1)
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime())
    shipped_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    received_by_supplier_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    created_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class ReturnTransition(Base):
    """One state change of a return authorisation. Never edited."""

    __tablename__ = "return_transitions"
    __table_args__ = (Index("ix_return_transitions_return_id_id", "return_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    return_id: Mapped[int] = mapped_column(ForeignKey("return_authorisations.id"))
    from_state: Mapped[str | None] = mapped_column(String(30))
    to_state: Mapped[str] = mapped_column(String(30))
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    note: Mapped[str | None] = mapped_column(String(2000), default=None)
    actor: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
