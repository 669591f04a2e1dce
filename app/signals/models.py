"""Signals from outside the inspections: complaints from sites and alerts from elsewhere."""

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    CheckConstraint,
    Date,
    Float,
    ForeignKey,
    Index,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, UTCDateTime, utcnow


class Complaint(Base):
    """A site's report about units of a lot it received. Never edited."""

    __tablename__ = "complaints"
    __table_args__ = (
        CheckConstraint("units_affected >= 0", name="units_not_negative"),
        Index("ix_complaints_lot_id_id", "lot_id", "id"),
        Index("ix_complaints_reported_at_id", "reported_at", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    lot_id: Mapped[int] = mapped_column(ForeignKey("lots.id"))
    destination: Mapped[str] = mapped_column(String(200))
    category: Mapped[str] = mapped_column(String(40))
    units_affected: Mapped[int]
    reporter: Mapped[str] = mapped_column(String(200))
    text: Mapped[str] = mapped_column(String(4000))
    reported_at: Mapped[datetime] = mapped_column(UTCDateTime())
    recorded_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class Alert(Base):
    """A notice from a regulator, another country, a list or the news. Never edited."""

    __tablename__ = "alerts"

    id: Mapped[int] = mapped_column(primary_key=True)
    source: Mapped[str] = mapped_column(String(40))
    issuing_body: Mapped[str] = mapped_column(String(200))
    country: Mapped[str | None] = mapped_column(String(2), default=None)
    published_on: Mapped[date] = mapped_column(Date)
    url: Mapped[str | None] = mapped_column(String(2000), default=None)
    text: Mapped[str] = mapped_column(String(20000))
    reference: Mapped[str | None] = mapped_column(String(200), default=None)
    # What the notice names, as sent (lists of strings; gtins: [{"gtin", "batch"}]).
    names: Mapped[dict[str, Any]] = mapped_column(JSON)
    recorded_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    matched_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)


class AlertTerm(Base):
    """One identifier an alert names, normalised, so lots and certificates added later
    find the alerts that name them with an index lookup."""

    __tablename__ = "alert_terms"
    __table_args__ = (Index("ix_alert_terms_kind_value", "kind", "value"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    alert_id: Mapped[int] = mapped_column(ForeignKey("alerts.id"), index=True)
    kind: Mapped[str] = mapped_column(String(30))
    value: Mapped[str] = mapped_column(String(200))
    batch: Mapped[str | None] = mapped_column(String(100), default=None)


class AlertMatch(Base):
    """A lot an alert names: how, how sure, and what was done about it."""

    __tablename__ = "alert_matches"
    __table_args__ = (
        UniqueConstraint("alert_id", "lot_id"),
        Index("ix_alert_matches_lot_id", "lot_id"),
        Index("ix_alert_matches_state_id", "state", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    alert_id: Mapped[int] = mapped_column(ForeignKey("alerts.id"))
    lot_id: Mapped[int] = mapped_column(ForeignKey("lots.id"))
    strength: Mapped[str] = mapped_column(String(10))
    matched_by: Mapped[str] = mapped_column(String(30))
    matched_value: Mapped[str] = mapped_column(String(300))
    score: Mapped[float | None] = mapped_column(Float, default=None)
    state: Mapped[str] = mapped_column(String(20))
    decided_by: Mapped[str | None] = mapped_column(String(100), default=None)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    note: Mapped[str | None] = mapped_column(String(2000), default=None)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
