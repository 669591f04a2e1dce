from datetime import datetime

from sqlalchemy import JSON, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, UTCDateTime, utcnow


class Inspection(Base):
    """One completed inspection; defects and measurements are stored as given.

    defects: {code: count}; measurements: {characteristic: value}.
    """

    __tablename__ = "inspections"

    id: Mapped[int] = mapped_column(primary_key=True)
    lot_id: Mapped[int] = mapped_column(ForeignKey("lots.id"), index=True)
    kind: Mapped[str] = mapped_column(String(10))
    sample_size: Mapped[int]
    performed_at: Mapped[datetime] = mapped_column(UTCDateTime())
    inspector: Mapped[str] = mapped_column(String(200))
    lab: Mapped[str | None] = mapped_column(String(200), default=None)
    report_number: Mapped[str | None] = mapped_column(String(100), default=None)
    confirms: Mapped[bool] = mapped_column(default=False)
    defects: Mapped[dict[str, int]] = mapped_column(JSON)
    measurements: Mapped[dict[str, float]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
