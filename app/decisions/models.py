from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, UTCDateTime, utcnow


class DecisionEvent(Base):
    """A lot's decision each time its status, disposition or quantities changed. Never edited."""

    __tablename__ = "decision_events"
    __table_args__ = (Index("ix_decision_events_lot_id_id", "lot_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    lot_id: Mapped[int] = mapped_column(ForeignKey("lots.id"))
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    trigger: Mapped[str] = mapped_column(String(100))
    actor: Mapped[str] = mapped_column(String(100))
    status: Mapped[str] = mapped_column(String(20))
    disposition: Mapped[str] = mapped_column(String(30))
    reasons: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    allowed_uses: Mapped[list[str]] = mapped_column(JSON)
    quantities: Mapped[dict[str, int]] = mapped_column(JSON)
    policy_version: Mapped[str] = mapped_column(String(40))


class Concession(Base):
    """An admin's documented permission to use a lot for some uses until a time."""

    __tablename__ = "concessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    lot_id: Mapped[int] = mapped_column(ForeignKey("lots.id"), index=True)
    reason: Mapped[str] = mapped_column(String(2000))
    legal_basis: Mapped[str] = mapped_column(String(500))
    allowed_uses: Mapped[list[str]] = mapped_column(JSON)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    granted_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class SourceQuality(Base):
    """Switching-rule state of one supplier for one product (ISO 2859-1 clause 9)."""

    __tablename__ = "source_quality"

    supplier_id: Mapped[int] = mapped_column(ForeignKey("suppliers.id"), primary_key=True)
    product: Mapped[str] = mapped_column(String(40), primary_key=True)
    severity: Mapped[str] = mapped_column(String(20), default="normal")
    discontinued: Mapped[bool] = mapped_column(default=False)
    consecutive_accepted: Mapped[int] = mapped_column(default=0)
    not_accepted_on_tightened: Mapped[int] = mapped_column(default=0)
    recent: Mapped[list[bool]] = mapped_column(JSON, default=list)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class Reinstatement(Base):
    __tablename__ = "reinstatements"

    id: Mapped[int] = mapped_column(primary_key=True)
    supplier_id: Mapped[int] = mapped_column(ForeignKey("suppliers.id"), index=True)
    product: Mapped[str] = mapped_column(String(40))
    reason: Mapped[str] = mapped_column(String(2000))
    granted_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
