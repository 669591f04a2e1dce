from datetime import date, datetime

from sqlalchemy import Date, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, UTCDateTime, utcnow


class Certificate(Base):
    __tablename__ = "certificates"
    # Outside alerts name certificates by number, notified body and NIOSH approval.
    __table_args__ = (
        Index("ix_certificates_number", "number"),
        Index("ix_certificates_notified_body_number", "notified_body_number"),
        Index("ix_certificates_niosh_approval_number", "niosh_approval_number"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    lot_id: Mapped[int] = mapped_column(ForeignKey("lots.id"), index=True)
    type: Mapped[str] = mapped_column(String(40))
    number: Mapped[str] = mapped_column(String(100))
    issuer: Mapped[str] = mapped_column(String(200))
    issuer_country: Mapped[str | None] = mapped_column(String(2), default=None)
    notified_body_number: Mapped[str | None] = mapped_column(String(4), default=None)
    niosh_approval_number: Mapped[str | None] = mapped_column(String(12), default=None)
    standard: Mapped[str | None] = mapped_column(String(100), default=None)
    product_scope: Mapped[str | None] = mapped_column(String(500), default=None)
    valid_from: Mapped[date | None] = mapped_column(Date, default=None)
    valid_until: Mapped[date | None] = mapped_column(Date, default=None)
    file_sha256: Mapped[str | None] = mapped_column(String(64), default=None)
    verification: Mapped[str] = mapped_column(String(20), default="unverified")
    verified_by: Mapped[str | None] = mapped_column(String(200), default=None)
    verified_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    verification_method: Mapped[str | None] = mapped_column(String(200), default=None)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    version: Mapped[int] = mapped_column(default=1, server_default="1")
