from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, UTCDateTime, utcnow


class Distribution(Base):
    __tablename__ = "distributions"
    __table_args__ = (
        CheckConstraint("quantity > 0", name="quantity_positive"),
        Index("ix_distributions_lot_destination", "lot_id", "destination"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    lot_id: Mapped[int] = mapped_column(ForeignKey("lots.id"))
    destination: Mapped[str] = mapped_column(String(200))
    quantity: Mapped[int]
    shipped_at: Mapped[datetime] = mapped_column(UTCDateTime())
    # NULL only on rows recorded before distributions named their use (migration 0010).
    intended_use: Mapped[str | None] = mapped_column(String(40), default=None)
    override_reason: Mapped[str | None] = mapped_column(String(2000), default=None)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class SiteReturn(Base):
    """Units a destination sent back, destroyed or consumed."""

    __tablename__ = "site_returns"
    __table_args__ = (
        CheckConstraint("quantity > 0", name="quantity_positive"),
        Index("ix_site_returns_lot_destination", "lot_id", "destination"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    lot_id: Mapped[int] = mapped_column(ForeignKey("lots.id"))
    destination: Mapped[str] = mapped_column(String(200))
    quantity: Mapped[int]
    outcome: Mapped[str] = mapped_column(String(20))
    reported_at: Mapped[datetime] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
