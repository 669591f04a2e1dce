"""Running totals that dashboards read instead of scanning every lot.

Kept up to date by app.dashboard.rollup on every ORM write to a lot (in the same
transaction), rebuilt from the lots by ``rebuild_rollups`` after bulk loads.
"""

from datetime import date

from sqlalchemy import BigInteger, Date, SmallInteger, String
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base


class _Sums:
    """Lots and their unit counters summed (the names app.dashboard.rollup.SUMS lists)."""

    lots: Mapped[int] = mapped_column(BigInteger, default=0)
    units: Mapped[int] = mapped_column(BigInteger, default=0)
    distributed: Mapped[int] = mapped_column(BigInteger, default=0)
    site_returned: Mapped[int] = mapped_column(BigInteger, default=0)
    site_destroyed: Mapped[int] = mapped_column(BigInteger, default=0)
    site_consumed: Mapped[int] = mapped_column(BigInteger, default=0)
    returned_to_supplier: Mapped[int] = mapped_column(BigInteger, default=0)
    to_recall: Mapped[int] = mapped_column(BigInteger, default=0)
    to_return: Mapped[int] = mapped_column(BigInteger, default=0)
    releasable: Mapped[int] = mapped_column(BigInteger, default=0)


class LotTotals(_Sums, Base):
    """Per source (supplier, product), status and disposition: scorecards, supplier filters."""

    __tablename__ = "lot_totals"

    supplier_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    product: Mapped[str] = mapped_column(String(40), primary_key=True)
    status: Mapped[str] = mapped_column(String(20), primary_key=True)
    disposition: Mapped[str] = mapped_column(String(30), primary_key=True)


class LotProductTotals(_Sums, Base):
    """Per product, status and disposition: a hundred rows for the unfiltered summary."""

    __tablename__ = "lot_product_totals"

    product: Mapped[str] = mapped_column(String(40), primary_key=True)
    status: Mapped[str] = mapped_column(String(20), primary_key=True)
    disposition: Mapped[str] = mapped_column(String(30), primary_key=True)


class LotReasonTotals(Base):
    """How many lots carry each warning or critical reason code, per product/status/disposition."""

    __tablename__ = "lot_reason_totals"

    product: Mapped[str] = mapped_column(String(40), primary_key=True)
    status: Mapped[str] = mapped_column(String(20), primary_key=True)
    disposition: Mapped[str] = mapped_column(String(30), primary_key=True)
    code: Mapped[str] = mapped_column(String(60), primary_key=True)
    lots: Mapped[int] = mapped_column(BigInteger, default=0)


class LotWeekly(Base):
    """Lots per week received (Monday, UTC), product, status and disposition."""

    __tablename__ = "lot_weekly"

    week: Mapped[date] = mapped_column(Date, primary_key=True)
    product: Mapped[str] = mapped_column(String(40), primary_key=True)
    status: Mapped[str] = mapped_column(String(20), primary_key=True)
    disposition: Mapped[str] = mapped_column(String(30), primary_key=True)
    lots: Mapped[int] = mapped_column(BigInteger, default=0)


class DataVersion(Base):
    """A counter bumped by every transaction that changes lots, sources or suppliers.

    Bumped just before commit under the row's lock, so versions follow commit order: a
    reader that saw version n has seen every change committed with a version <= n. ETags
    are built from it. The row starts at the clock (microseconds), not at 1.
    """

    __tablename__ = "data_versions"

    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    value: Mapped[int] = mapped_column(BigInteger, default=0)


class LotPeriodTotals(_Sums, Base):
    """Per received day, week and calendar month (``days`` 1, 7 or 31; ``period`` its first
    day, UTC; weeks start on Monday), product, ordered_as, status and disposition: received
    ranges are read from whole weeks (the weekly series) or months (totals and reasons), then
    whole days, then the lots of a partial day. Rows by month are not by week received:
    their ``week`` is their ``period``."""

    __tablename__ = "lot_period_totals"

    days: Mapped[int] = mapped_column(SmallInteger, primary_key=True, autoincrement=False)
    period: Mapped[date] = mapped_column(Date, primary_key=True)
    product: Mapped[str] = mapped_column(String(40), primary_key=True)
    ordered_as: Mapped[str] = mapped_column(String(40), primary_key=True)
    status: Mapped[str] = mapped_column(String(20), primary_key=True)
    disposition: Mapped[str] = mapped_column(String(30), primary_key=True)
    # The Monday of period, for the weekly series; in the key (it adds nothing to it) so
    # that the rows upserted carry it.
    week: Mapped[date] = mapped_column(Date, primary_key=True)


class LotPeriodReasons(Base):
    """How many lots carry each warning or critical reason code, in the keys of
    LotPeriodTotals."""

    __tablename__ = "lot_period_reasons"

    days: Mapped[int] = mapped_column(SmallInteger, primary_key=True, autoincrement=False)
    period: Mapped[date] = mapped_column(Date, primary_key=True)
    product: Mapped[str] = mapped_column(String(40), primary_key=True)
    ordered_as: Mapped[str] = mapped_column(String(40), primary_key=True)
    status: Mapped[str] = mapped_column(String(20), primary_key=True)
    disposition: Mapped[str] = mapped_column(String(30), primary_key=True)
    code: Mapped[str] = mapped_column(String(60), primary_key=True)
    week: Mapped[date] = mapped_column(Date, primary_key=True)
    lots: Mapped[int] = mapped_column(BigInteger, default=0)


class LotDecidedTotals(_Sums, Base):
    """As LotPeriodTotals, by the day and calendar month the lots were last decided (``days``
    1 or 31, ``period`` its first day; lots never decided are not here) and the week they
    were received (``week``, for the weekly series): decided ranges read whole months, whole
    days and the lots of partial days."""

    __tablename__ = "lot_decided_totals"

    days: Mapped[int] = mapped_column(SmallInteger, primary_key=True, autoincrement=False)
    period: Mapped[date] = mapped_column(Date, primary_key=True)
    product: Mapped[str] = mapped_column(String(40), primary_key=True)
    ordered_as: Mapped[str] = mapped_column(String(40), primary_key=True)
    status: Mapped[str] = mapped_column(String(20), primary_key=True)
    disposition: Mapped[str] = mapped_column(String(30), primary_key=True)
    week: Mapped[date] = mapped_column(Date, primary_key=True)


class LotDecidedReasons(Base):
    """Reason code counts in the keys of LotDecidedTotals but the week received (which
    only the weekly series needs)."""

    __tablename__ = "lot_decided_reasons"

    days: Mapped[int] = mapped_column(SmallInteger, primary_key=True, autoincrement=False)
    period: Mapped[date] = mapped_column(Date, primary_key=True)
    product: Mapped[str] = mapped_column(String(40), primary_key=True)
    ordered_as: Mapped[str] = mapped_column(String(40), primary_key=True)
    status: Mapped[str] = mapped_column(String(20), primary_key=True)
    disposition: Mapped[str] = mapped_column(String(30), primary_key=True)
    code: Mapped[str] = mapped_column(String(60), primary_key=True)
    lots: Mapped[int] = mapped_column(BigInteger, default=0)


class LotSupplierWeeks(_Sums, Base):
    """Per supplier, week received (Monday, UTC), product, ordered_as, status and
    disposition: a supplier's summary reads its weeks, and the lots of partial weeks at the
    ends of a received range (through ix_lots_supplier_received)."""

    __tablename__ = "lot_supplier_weeks"

    supplier_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    week: Mapped[date] = mapped_column(Date, primary_key=True)
    product: Mapped[str] = mapped_column(String(40), primary_key=True)
    ordered_as: Mapped[str] = mapped_column(String(40), primary_key=True)
    status: Mapped[str] = mapped_column(String(20), primary_key=True)
    disposition: Mapped[str] = mapped_column(String(30), primary_key=True)


class LotSupplierWeekReasons(Base):
    """Reason code counts in the keys of LotSupplierWeeks."""

    __tablename__ = "lot_supplier_week_reasons"

    supplier_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    week: Mapped[date] = mapped_column(Date, primary_key=True)
    product: Mapped[str] = mapped_column(String(40), primary_key=True)
    ordered_as: Mapped[str] = mapped_column(String(40), primary_key=True)
    status: Mapped[str] = mapped_column(String(20), primary_key=True)
    disposition: Mapped[str] = mapped_column(String(30), primary_key=True)
    code: Mapped[str] = mapped_column(String(60), primary_key=True)
    lots: Mapped[int] = mapped_column(BigInteger, default=0)


# Byte order on PostgreSQL, so that the primary key serves LIKE 'prefix%'.
_PREFIX = String(8).with_variant(String(8, collation="C"), "postgresql")


class LotPrefixWeeks(_Sums, Base):
    """Per first PREFIX_LENGTH (8) characters of the lot number (app.dashboard.rollup),
    week received, product, ordered_as, status and disposition: a lot-number prefix up to
    that long (``q=TR``, ``q=TR-202``) reads the rows of the prefixes it starts, not the
    lots it matches (too many to read)."""

    __tablename__ = "lot_prefix_weeks"

    prefix: Mapped[str] = mapped_column(_PREFIX, primary_key=True)
    week: Mapped[date] = mapped_column(Date, primary_key=True)
    product: Mapped[str] = mapped_column(String(40), primary_key=True)
    ordered_as: Mapped[str] = mapped_column(String(40), primary_key=True)
    status: Mapped[str] = mapped_column(String(20), primary_key=True)
    disposition: Mapped[str] = mapped_column(String(30), primary_key=True)


class LotPrefixWeekReasons(Base):
    """Reason code counts in the keys of LotPrefixWeeks but the week (prefixes are read
    over every week)."""

    __tablename__ = "lot_prefix_week_reasons"

    prefix: Mapped[str] = mapped_column(_PREFIX, primary_key=True)
    product: Mapped[str] = mapped_column(String(40), primary_key=True)
    ordered_as: Mapped[str] = mapped_column(String(40), primary_key=True)
    status: Mapped[str] = mapped_column(String(20), primary_key=True)
    disposition: Mapped[str] = mapped_column(String(30), primary_key=True)
    code: Mapped[str] = mapped_column(String(60), primary_key=True)
    lots: Mapped[int] = mapped_column(BigInteger, default=0)
