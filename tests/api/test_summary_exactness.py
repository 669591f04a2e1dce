"""After a seeded random sequence of writes (lots, inspections, distributions, site
returns, imports, concessions that expire), every summary equals the one worked out in
Python from the lots, for filters answered from each rollup, from partial days, and from
the lots; and the rollups kept write by write equal a rebuild."""

import random
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncEngine

from app.decisions.models import Concession
from app.lots.models import Lot
from tests.api import factories, summary_oracle
from tests.api.imports_helpers import LOT_HEADER, csv_file, post_import
from tests.api.test_dashboard import rollup_snapshot
from tests.api.test_decisions import FFP2_TYPE_EXAM, KN95_TEST_REPORT, lab, measurements
from tests.api.test_decisions import visual as visual_inspection

SEED = 20261129
STATUS_COUNTS = ("accepted", "restricted", "rejected", "on_hold", "suspect")
START = datetime(2020, 3, 2, tzinfo=UTC)  # a Monday
SPAN = timedelta(days=40)
PASSING = measurements(filtration_efficiency_pct=97.0, total_inward_leakage_pct=3.0)
FAILING = measurements(filtration_efficiency_pct=81.0, total_inward_leakage_pct=3.0)
PRODUCTS = (("FFP2", "FFP2"), ("KN95", "FFP2"), ("KN95", "KN95"), ("N95", "N95"))


def moment(rng: random.Random) -> str:
    """A time in the span, sometimes on a midnight or a Monday (the rollups' edges)."""
    chosen = START + timedelta(seconds=rng.randrange(int(SPAN.total_seconds())))
    if rng.random() < 0.2:
        chosen = chosen.replace(hour=0, minute=0, second=0)
    if rng.random() < 0.1:
        chosen -= timedelta(days=chosen.weekday())
    return chosen.isoformat()


class Writer:
    def __init__(self, client: httpx.AsyncClient, engine: AsyncEngine, rng: random.Random):
        self.client, self.engine, self.rng = client, engine, rng
        self.suppliers: list[int] = []
        self.lots: list[dict[str, Any]] = []
        self.numbers = 0

    def number(self) -> str:
        """Lot numbers longer and shorter than PREFIX_LENGTH (8)."""
        self.numbers += 1
        if self.rng.random() < 0.1:
            return f"{self.rng.choice('AB')}{self.numbers}"
        return f"{self.rng.choice('AB')}{self.rng.choice('xy')}-{self.numbers:08d}"

    async def lot(self) -> None:
        product, ordered_as = self.rng.choice(PRODUCTS)
        created = await factories.lot(
            self.client,
            supplier_id=self.rng.choice(self.suppliers),
            lot_number=self.number(),
            product=product,
            ordered_as=ordered_as,
            quantity=self.rng.randrange(100, 20_000),
            received_at=moment(self.rng),
            manufacturer_id=self.rng.choice([None, *self.suppliers]),
        )
        self.lots.append(created)

    async def inspect(self) -> None:
        lot = self.rng.choice(self.lots)
        path = f"/lots/{lot['id']}"
        certificate = FFP2_TYPE_EXAM if lot["product"] == "FFP2" else KN95_TEST_REPORT
        await self.client.post(f"{path}/certificates", json=certificate)
        await self.client.post(f"{path}/inspections", json=visual_inspection(315))
        result = PASSING if self.rng.random() < 0.6 else FAILING
        await self.client.post(
            f"{path}/inspections",
            json=lab(measurements=result, report_number=f"R-{self.rng.randrange(10**6)}"),
        )
        if result is FAILING and self.rng.random() < 0.5:
            confirm = lab(measurements=FAILING, confirms=True, report_number="R-confirm")
            await self.client.post(f"{path}/inspections", json=confirm)

    async def ship(self) -> None:
        lot = self.rng.choice(self.lots)
        path = f"/lots/{lot['id']}"
        body: dict[str, Any] = {
            "destination": "UMC Utrecht",
            "quantity": self.rng.randrange(1, 50),
            "shipped_at": moment(self.rng),
            # Every product drawn here (FFP2, KN95, N95) serves this use when accepted.
            "intended_use": "healthcare_respiratory_protection",
        }
        if self.rng.random() < 0.5:
            body["override_reason"] = "Shipped before testing (emergency)"
        await self.client.post(f"{path}/distributions", json=body)
        outcome = self.rng.choice(("returned", "destroyed", "consumed"))
        await self.client.post(
            f"{path}/site-returns",
            json={"destination": "UMC Utrecht", "quantity": 1, "outcome": outcome},
        )

    async def imported(self) -> None:
        rows = [
            [
                self.number(),
                self.rng.choice(self.suppliers),
                *self.rng.choice(PRODUCTS),
                self.rng.randrange(100, 5000),
                moment(self.rng),
            ]
            for _ in range(self.rng.randrange(1, 6))
        ]
        response = await post_import(self.client, "lots", csv_file(LOT_HEADER, rows))
        assert response.status_code == 201, response.text

    async def concession_expires(self) -> None:
        lot = self.rng.choice(self.lots)
        path = f"/lots/{lot['id']}"
        granted = await self.client.post(
            f"{path}/concessions",
            json={
                "reason": "Shortage",
                "legal_basis": "Ministerial order 12",
                "allowed_uses": ["non_medical"],
                "expires_at": (datetime.now(UTC) + timedelta(days=30)).isoformat(),
            },
        )
        if granted.status_code != 201 or self.rng.random() < 0.3:
            return  # refused (e.g. already under one), or left running
        past = datetime.now(UTC) - timedelta(seconds=1)
        async with self.engine.begin() as connection:
            await connection.execute(
                update(Concession)
                .where(Concession.id == granted.json()["id"])
                .values(expires_at=past)
            )
            await connection.execute(
                update(Lot).where(Lot.id == lot["id"]).values(decision_valid_until=past)
            )
        assert (await self.client.get(path)).status_code == 200  # the read re-decides it

    async def run(self, steps: int) -> None:
        for name in ("Maker A", "Maker B", "Trader C"):
            self.suppliers.append((await factories.supplier(self.client, name=name))["id"])
        for _ in range(8):
            await self.lot()
        actions = (self.lot, self.inspect, self.inspect, self.ship, self.imported)
        for step in range(steps):
            await (self.concession_expires if step % 10 == 9 else self.rng.choice(actions))()


def filter_sets(rng: random.Random, suppliers: list[int]) -> list[dict[str, Any]]:
    """Filters for every way of reading: totals by product or source, by period (ranges
    at midnights, Mondays and any second, open at either end), and the lots."""
    ranges: list[dict[str, Any]] = [
        {},
        {"received_from": START.isoformat()},
        {"received_to": (START + timedelta(days=14)).isoformat()},
        {
            "received_from": (START + timedelta(days=7)).isoformat(),
            "received_to": (START + timedelta(days=21)).isoformat(),
        },
        {
            "received_from": (START + timedelta(days=3)).isoformat(),
            "received_to": (START + timedelta(days=4)).isoformat(),
        },
    ]
    for _ in range(6):
        low, high = sorted((moment(rng), moment(rng)))
        if low != high:
            ranges.append({"received_from": low, "received_to": high})
            ranges.append(rng.choice(({"received_from": low}, {"received_to": high})))
    others: list[dict[str, Any]] = [
        {},
        {"product": "KN95"},
        {"ordered_as": "FFP2"},
        {"status": ["accepted", "rejected"]},
        {"disposition": "hold"},
        {"product": "KN95", "ordered_as": "FFP2", "status": "restricted"},
        {"supplier_id": suppliers[0]},
        {"manufacturer_id": suppliers[1]},
        {"q": "Ax"},
        {"decided_from": (START + timedelta(days=2)).isoformat()},
        {"supplier_id": suppliers[1], "ordered_as": "FFP2", "status": "accepted"},
        {"q": "B"},  # prefixes up to PREFIX_LENGTH: LotPrefixWeeks without a range
        {"q": "Ay-", "status": ["accepted", "on_hold"]},
        {"q": "Bx-00000", "ordered_as": "FFP2"},
        {"q": "Bx", "product": "KN95", "disposition": "hold"},
        {"q": "Ax-000000"},  # longer than PREFIX_LENGTH: the lots
    ]
    # Decided ranges (the lots were decided today, their moments are in the past): around
    # now at the first of a month, midnights, Mondays and any second, open at either end.
    now = datetime.now(UTC)
    today = now.replace(hour=0, minute=0, second=0, microsecond=0)
    monday = today - timedelta(days=today.weekday())
    month = today.replace(day=1)
    next_month = (month + timedelta(days=31)).replace(day=1)
    decided: list[dict[str, Any]] = [
        {"decided_from": month.isoformat()},  # whole months (LotDecidedTotals.days 31)
        {"decided_to": next_month.isoformat()},
        {"decided_from": (month - timedelta(days=40)).isoformat(), "decided_to": now.isoformat()},
        {"decided_from": monday.isoformat()},
        {"decided_to": (today + timedelta(days=1)).isoformat()},
        {"decided_from": (now - timedelta(days=9)).isoformat(), "decided_to": now.isoformat()},
        {"decided_from": (now - timedelta(minutes=5)).isoformat()},
        {"decided_to": (now - timedelta(seconds=rng.randrange(1, 60))).isoformat()},
        {
            "decided_from": (monday - timedelta(days=7)).isoformat(),
            "decided_to": monday.isoformat(),
        },
    ]
    decided_others: list[dict[str, Any]] = [
        {},
        {"product": "KN95"},
        {"ordered_as": "FFP2", "status": ["accepted", "rejected", "on_hold"]},
        {"disposition": "hold"},
    ]
    return [
        *({**r, **o} for r in ranges for o in others),
        *({**d, **o} for d in decided for o in decided_others),
    ]


async def test_every_summary_equals_the_lots_after_random_writes(
    admin: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    rng = random.Random(SEED)
    writer = Writer(admin, engine, rng)
    await writer.run(steps=60)
    lots = await summary_oracle.lot_rows(engine)
    assert len({lot["status"] for lot in lots}) >= 4  # the writes reached most statuses
    for params in filter_sets(rng, writer.suppliers):
        response = await admin.get("/dashboard/summary", params=params)
        assert response.status_code == 200, response.text
        assert response.json() == summary_oracle.summary(lots, params), params
    for params in filter_sets(rng, writer.suppliers):
        response = await admin.get(
            "/suppliers/scorecards", params={**params, "by": "source", "limit": 100}
        )
        assert response.status_code == 200, response.text
        cards = {
            (card["supplier_id"], card["product"]): {
                "statuses": Counter(
                    {s: card[s] for s in STATUS_COUNTS if card[s]}  # as the oracle's
                ),
                "units_received": card["units_received"],
                "units_recalled": card["units_recalled"],
            }
            for card in response.json()["items"]
        }
        assert cards == summary_oracle.scorecard_counts(lots, params), params
    assert await rollup_snapshot(engine) == await rollup_snapshot(engine, rebuilt=True)
