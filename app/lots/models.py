from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    String,
    Text,
    UniqueConstraint,
    false,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column
from sqlalchemy.sql.elements import TextClause

from app.db import Base, UTCDateTime, utcnow
from app.quality.statuses import UNDER_RECALL

# Lots under recall with units still at sites: the recall list reads these few (about 1,000
# of 1,000,000 seeded lots) through a partial index. The query and the index share this very
# text, as a planner proves a partial index usable only from the same clause with constants
# (bound parameters would not do). A change to the core's UNDER_RECALL needs a migration
# that rebuilds the index.
_RECALL_STATUSES = ", ".join(f"'{status.value}'" for status in UNDER_RECALL)
UNDER_RECALL_SQL = (
    f"status IN ({_RECALL_STATUSES})"
    " AND distributed - site_returned - site_destroyed - site_consumed > 0"
)


def under_recall_clause() -> TextClause:
    return text(UNDER_RECALL_SQL)


class Lot(Base):
    """An incoming lot, with running quantity counters and its current decision.

    The counters are maintained under a row lock by every write that moves
    units, so reads (dashboards, exports) never have to sum movements.
    """

    __tablename__ = "lots"
    __table_args__ = (
        UniqueConstraint("supplier_id", "lot_number"),
        CheckConstraint("quantity > 0", name="quantity_positive"),
        CheckConstraint(
            "distributed >= 0 AND site_returned >= 0 AND site_destroyed >= 0"
            " AND site_consumed >= 0 AND returned_to_supplier >= 0",
            name="movements_not_negative",
        ),
        CheckConstraint(
            "quantity - distributed + site_returned - returned_to_supplier >= 0",
            name="on_hand_not_negative",
        ),
        CheckConstraint(
            "distributed - site_returned - site_destroyed - site_consumed >= 0",
            name="outstanding_not_negative",
        ),
        Index("ix_lots_received_at_id", "received_at", "id"),
        Index("ix_lots_source_received", "supplier_id", "product", "received_at"),
        Index("ix_lots_decision_valid_until", "decision_valid_until"),
        Index("ix_lots_status_id", "status", "id"),
        # Filtered, keyset-paged lists (GET /lots, dashboards): an equality prefix, then the
        # sort key and id, so a page is one index range read in order.
        Index("ix_lots_status_received", "status", "received_at", "id"),
        Index("ix_lots_product_status_received", "product", "status", "received_at", "id"),
        Index("ix_lots_supplier_received", "supplier_id", "received_at", "id"),
        Index("ix_lots_manufacturer_received", "manufacturer_id", "received_at", "id"),
        Index("ix_lots_decided_at_id", "decided_at", "id"),
        Index(
            "ix_lots_under_recall",
            "id",
            postgresql_where=text(UNDER_RECALL_SQL),
            sqlite_where=text(UNDER_RECALL_SQL),
        ),
        # Lot number prefix search (q=): LIKE 'abc%' needs the pattern opclass on PostgreSQL.
        Index(
            "ix_lots_lot_number_prefix",
            "lot_number",
            postgresql_ops={"lot_number": "varchar_pattern_ops"},
        ),
        # Outside alerts name lots by GTIN and batch (app/signals/matching.py).
        Index("ix_lots_gtin_batch", "gtin", "batch"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    lot_number: Mapped[str] = mapped_column(String(100))
    supplier_id: Mapped[int] = mapped_column(ForeignKey("suppliers.id"))
    manufacturer_id: Mapped[int | None] = mapped_column(ForeignKey("suppliers.id"), default=None)
    product: Mapped[str] = mapped_column(String(40))
    ordered_as: Mapped[str] = mapped_column(String(40))
    quantity: Mapped[int]
    unit: Mapped[str] = mapped_column(String(20), default="pieces")
    received_at: Mapped[datetime] = mapped_column(UTCDateTime())
    purchase_order: Mapped[str | None] = mapped_column(String(100), default=None)
    ear_loops: Mapped[bool] = mapped_column(default=False, server_default=false())
    model: Mapped[str | None] = mapped_column(String(200), default=None)
    batch: Mapped[str | None] = mapped_column(String(100), default=None)
    gtin: Mapped[str | None] = mapped_column(String(14), default=None)
    expiry: Mapped[date | None] = mapped_column(Date, default=None)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    distributed: Mapped[int] = mapped_column(default=0)
    site_returned: Mapped[int] = mapped_column(default=0)
    site_destroyed: Mapped[int] = mapped_column(default=0)
    site_consumed: Mapped[int] = mapped_column(default=0)
    returned_to_supplier: Mapped[int] = mapped_column(default=0)

    status: Mapped[str] = mapped_column(String(20), default="on_hold")
    disposition: Mapped[str] = mapped_column(String(30), default="hold")
    to_recall: Mapped[int] = mapped_column(default=0)
    to_return: Mapped[int] = mapped_column(default=0)
    releasable: Mapped[int] = mapped_column(default=0)
    reasons: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    # The codes of the warning and critical reasons (app.dashboard.rollup.reason_code_text),
    # so that dashboards count reasons without parsing every lot's JSON.
    reason_codes: Mapped[str] = mapped_column(Text, default="", server_default="")
    allowed_uses: Mapped[list[str]] = mapped_column(JSON, default=list)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    policy_version: Mapped[str | None] = mapped_column(String(40), default=None)
    # Until when the stored decision holds without new facts (a concession's expiry).
    decision_valid_until: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)

    # Switching rules: the severity in force for this source when the lot arrived, whether
    # the source was discontinued then, and the original inspection's verdict once known.
    severity: Mapped[str] = mapped_column(String(20), default="normal", server_default="normal")
    supplier_discontinued: Mapped[bool] = mapped_column(default=False, server_default=false())
    inspection_accepted: Mapped[bool | None] = mapped_column(default=None)

    @property
    def on_hand(self) -> int:
        return self.quantity - self.distributed + self.site_returned - self.returned_to_supplier

    @property
    def outstanding_at_sites(self) -> int:
        return self.distributed - self.site_returned - self.site_destroyed - self.site_consumed
