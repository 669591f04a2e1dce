from datetime import datetime

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, UTCDateTime, utcnow


class RecallAcknowledgement(Base):
    """A destination confirmed it received the recall notice for a lot. Never edited;
    a later acknowledgement (e.g. after the failure is confirmed) is a new row."""

    __tablename__ = "recall_acknowledgements"
    __table_args__ = (Index("ix_recall_acknowledgements_lot_destination", "lot_id", "destination"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    lot_id: Mapped[int] = mapped_column(ForeignKey("lots.id"))
    destination: Mapped[str] = mapped_column(String(200))
    acknowledged_at: Mapped[datetime] = mapped_column(UTCDateTime())
    contact: Mapped[str] = mapped_column(String(200))
    lot_status: Mapped[str] = mapped_column(String(20))
    recorded_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
