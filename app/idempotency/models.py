from datetime import datetime

from sqlalchemy import LargeBinary, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, UTCDateTime, utcnow


class IdempotencyRecord(Base):
    """A POST made with an Idempotency-Key, and the response it got.

    The row is claimed (committed, no response yet) before the request runs, with a
    lease: until ``lease_expires_at`` a twin is answered 409, after it a retry may take
    the key over. The response is written in the same transaction as the request's own
    writes, on condition that the lease is still this request's (``lease_token``), so a
    write is committed only together with the answer a retry will replay.
    """

    __tablename__ = "idempotency_records"
    __table_args__ = (UniqueConstraint("scope", "key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    scope: Mapped[str] = mapped_column(String(64))  # digest of the API key that sent it
    key: Mapped[str] = mapped_column(String(255))
    fingerprint: Mapped[str] = mapped_column(String(64))
    method: Mapped[str] = mapped_column(String(10))
    path: Mapped[str] = mapped_column(String(2000))
    status_code: Mapped[int | None] = mapped_column(default=None)
    content_type: Mapped[str | None] = mapped_column(String(200), default=None)
    location: Mapped[str | None] = mapped_column(String(2000), default=None)
    response_body: Mapped[bytes | None] = mapped_column(LargeBinary, default=None)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
    lease_token: Mapped[str | None] = mapped_column(String(32), default=None)
    # None on rows claimed before leases existed: their write committed, their answer may
    # not have; they are never taken over, only purged.
    lease_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
