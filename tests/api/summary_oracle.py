"""GET /dashboard/summary worked out in Python from the rows of the lots table alone.

No rollup, no SQL aggregate: what every answer must equal, however the service reads it.
"""

from collections import Counter
from collections.abc import Iterable, Mapping
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from app.dashboard.service import DECIDED
from app.lots.models import Lot
from app.quality.decision import Disposition, Status

STATUSES = tuple(Status)
DISPOSITIONS = tuple(Disposition)

LotRow = Mapping[str, Any]


async def lot_rows(engine: AsyncEngine) -> list[LotRow]:
    async with engine.connect() as connection:
        return [dict(row._mapping) for row in await connection.execute(select(Lot.__table__))]


def _moment(text: str | None) -> datetime | None:
    return None if text is None else datetime.fromisoformat(text.replace("Z", "+00:00"))


def _within(value: datetime | None, low: str | None, high: str | None) -> bool:
    if low is None and high is None:
        return True
    if value is None:
        return False
    start, end = _moment(low), _moment(high)
    return (start is None or value >= start) and (end is None or value < end)


def matches(lot: LotRow, params: Mapping[str, Any]) -> bool:
    statuses = params.get("status")
    wanted = [statuses] if isinstance(statuses, str) else list(statuses or ())
    equal = ("disposition", "supplier_id", "manufacturer_id", "product", "ordered_as")
    return (
        (not wanted or lot["status"] in wanted)
        and all(params.get(name) in (None, lot[name]) for name in equal)
        and _within(lot["received_at"], params.get("received_from"), params.get("received_to"))
        and _within(lot["decided_at"], params.get("decided_from"), params.get("decided_to"))
        and str(lot["lot_number"]).startswith(params.get("q") or "")
    )


def _rate(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def _count(lots: Iterable[LotRow]) -> dict[str, int]:
    chosen = list(lots)
    return {"lots": len(chosen), "units": sum(lot["quantity"] for lot in chosen)}


def _monday(moment: datetime) -> date:
    day = moment.astimezone(UTC).date()
    return day - timedelta(days=day.weekday())


def _weekly(lots: list[LotRow]) -> list[dict[str, Any]]:
    weeks: dict[date, list[LotRow]] = {}
    for lot in lots:
        weeks.setdefault(_monday(lot["received_at"]), []).append(lot)
    if not weeks:
        return []
    points, monday = [], min(weeks)
    while monday <= max(weeks):
        those = weeks.get(monday, [])
        points.append(
            {
                "week": monday.isoformat(),
                "received": len(those),
                "accepted": sum(lot["status"] == "accepted" for lot in those),
                "rejected": sum(lot["status"] == "rejected" for lot in those),
            }
        )
        monday += timedelta(days=7)
    return points


def _top_reasons(lots: list[LotRow]) -> list[dict[str, Any]]:
    counts: Counter[str] = Counter()
    for lot in lots:
        counts.update(
            {r["code"] for r in lot["reasons"] or () if r["severity"] in ("warning", "critical")}
        )
    ranked = sorted(counts.items(), key=lambda item: (-item[1], item[0]))[:10]
    return [{"code": code, "lots": n} for code, n in ranked]


def summary(
    all_lots: Iterable[LotRow], params: Mapping[str, Any], open_alert_reviews: int = 0
) -> dict[str, Any]:
    """The summary of the lots matching ``params``; open review items are not lots (the
    writes of these tests record no alerts, hence 0 unless told)."""
    lots = [lot for lot in all_lots if matches(lot, params)]

    def total(name: str) -> int:
        return sum(int(lot[name]) for lot in lots)

    decided = [lot for lot in lots if lot["status"] in DECIDED]
    rejected = [lot for lot in lots if lot["status"] == "rejected"]
    decided_units = sum(lot["quantity"] for lot in decided)
    return {
        "lots": len(lots),
        "by_status": {s: _count(lot for lot in lots if lot["status"] == s) for s in STATUSES},
        "by_disposition": {
            d: _count(lot for lot in lots if lot["disposition"] == d) for d in DISPOSITIONS
        },
        "units": {
            "received": total("quantity"),
            "distributed": total("distributed"),
            "outstanding_at_sites": total("distributed")
            - total("site_returned")
            - total("site_destroyed")
            - total("site_consumed"),
            "recalled": total("to_recall"),
            "returned_by_sites": total("site_returned"),
            "destroyed_at_sites": total("site_destroyed"),
            "consumed_at_sites": total("site_consumed"),
            "returned_to_suppliers": total("returned_to_supplier"),
            "to_return": total("to_return"),
            "releasable": total("releasable"),
        },
        "rejection_rate": {
            "by_lots": _rate(len(rejected), len(decided)),
            "by_units": _rate(sum(lot["quantity"] for lot in rejected), decided_units),
            "decided_lots": len(decided),
            "decided_units": decided_units,
        },
        "top_reasons": _top_reasons(lots),
        "weekly": _weekly(lots),
        "open_alert_reviews": open_alert_reviews,
    }


def scorecard_counts(lots: Iterable[LotRow], params: Mapping[str, Any]) -> dict[Any, Any]:
    """Per (supplier, product) of the matching lots: lots by status, units received and
    units to recall, as GET /suppliers/scorecards (by=source) reports them."""
    cards: dict[Any, Any] = {}
    for lot in lots:
        if not matches(lot, params):
            continue
        card = cards.setdefault(
            (lot["supplier_id"], lot["product"]),
            {"statuses": Counter(), "units_received": 0, "units_recalled": 0},
        )
        card["statuses"][str(lot["status"])] += 1
        card["units_received"] += lot["quantity"]
        card["units_recalled"] += lot["to_recall"]
    return cards
