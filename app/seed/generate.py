"""Synthetic lots, each with the facts the decision engine reads and the engine's decision.

Reproducible: the same ``seed`` and lot count give the same rows, whatever the number
of worker processes. Lots arrive as a Poisson stream from START to END (ids follow
arrival order); each lot's details come from its own random generator, so a worker can
build any subset of the sources on its own. Child rows get ids from fixed slots per lot
(``IdPlan``), leaving gaps but never colliding.

Everything is decided by app.quality.decision.decide on LotFacts built in memory, and the
switching rules (severity, discontinuation) are folded per source in arrival order,
exactly as refresh_decision does.
"""

import random
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from itertools import accumulate
from typing import Any

from app.dashboard.rollup import reason_code_text
from app.decisions.service import reasons_json
from app.quality.certificates import CertificateFacts
from app.quality.decision import Decision, Status, decide, sampling_plans
from app.quality.facts import Concession, InspectionFacts, LotFacts, Policy
from app.quality.products import get_product
from app.quality.quantities import Quantities
from app.quality.sampling import LotOutcome, Reinstatement, SwitchingState, advance
from app.seed.catalog import (
    COUNTRIES,
    GOOD_CERTIFICATES,
    NAME_PARTS,
    ORDERED_INSTEAD,
    RED_FLAG_CERTIFICATES,
    SITES,
)

START = datetime(2020, 3, 1, tzinfo=UTC)
END = datetime(2025, 12, 1, tzinfo=UTC)
AS_OF = datetime(2026, 1, 1, tzinfo=UTC)  # "now" for decide(): concessions run to 2030
CONCESSION_UNTIL = datetime(2030, 1, 1, tzinfo=UTC)
REINSTATE_AFTER = timedelta(days=45)
ACTOR = "seed"
ALLOWED = (Status.accepted, Status.restricted)

Row = dict[str, Any]


@dataclass(frozen=True)
class IdPlan:
    """First id of each table and the id slots each lot may use."""

    lots: int
    suppliers: int
    base: Mapping[str, int]
    SLOTS = {
        "certificates": 2,
        "inspections": 3,
        "distributions": 3,
        "site_returns": 6,
        "decision_events": 3,
        "concessions": 1,
        "reinstatements": 1,
    }

    def child(self, table: str, lot_index: int, slot: int) -> int:
        assert slot < self.SLOTS[table]
        return self.base[table] + lot_index * self.SLOTS[table] + slot


@dataclass(frozen=True)
class SupplierProfile:
    id: int
    name: str
    country: str
    roles: tuple[str, ...]
    products: tuple[str, ...]
    lab_failure: float  # share of lots failing a critical lab test
    defect_rate: float  # major defects per unit sampled


def make_suppliers(count: int, seed: int, first_id: int) -> list[SupplierProfile]:
    rng = random.Random(f"suppliers-{seed}")
    cumulative = list(accumulate(weight for _, weight, _ in COUNTRIES))
    suppliers = []
    for index in range(count):
        country, _, products = rng.choices(COUNTRIES, cum_weights=cumulative)[0]
        name = " ".join(rng.choice(part) for part in NAME_PARTS) + f" {index + 1:04d}"
        roles = (
            ("manufacturer",) if rng.random() < 0.7 else (rng.choice(("distributor", "broker")),)
        )
        quality = rng.random()
        suppliers.append(
            SupplierProfile(
                id=first_id + index,
                name=name,
                country=country,
                roles=roles,
                products=tuple(rng.sample(products, k=min(len(products), rng.randint(1, 3)))),
                # Most makers are sound; a fifth fail often (the spring 2020 pattern).
                lab_failure=0.02 if quality < 0.6 else 0.08 if quality < 0.8 else 0.3,
                defect_rate=0.004 if quality < 0.6 else 0.01 if quality < 0.8 else 0.03,
            )
        )
    return suppliers


def supplier_rows(suppliers: Sequence[SupplierProfile]) -> list[Row]:
    return [
        {
            "id": s.id,
            "name": s.name,
            "country": s.country,
            "roles": list(s.roles),
            "registration_ref": f"REG-{s.country}-{s.id:06d}",
            "created_at": START - timedelta(days=30),
        }
        for s in suppliers
    ]


@dataclass(frozen=True)
class Arrival:
    index: int
    received_at: datetime
    source: int


def sources_of(suppliers: Sequence[SupplierProfile]) -> list[tuple[int, str]]:
    return [(i, product) for i, s in enumerate(suppliers) for product in s.products]


def arrivals(count: int, seed: int, sources: int) -> Iterator[Arrival]:
    """The lots in arrival order: when each arrives and from which source (Zipf-like)."""
    rng = random.Random(f"arrivals-{seed}")
    weights = list(accumulate(1 / (rank + 1) ** 0.7 for rank in range(sources)))
    order = list(range(sources))
    rng.shuffle(order)
    mean_gap = (END - START).total_seconds() / max(count, 1)
    moment = START
    for index in range(count):
        moment += timedelta(seconds=rng.expovariate(1 / mean_gap))
        rank = rng.choices(range(sources), cum_weights=weights)[0]
        yield Arrival(index, min(moment, END), order[rank])


@dataclass
class SourceState:
    switching: SwitchingState = field(default_factory=SwitchingState)
    discontinued_at: datetime | None = None
    updated_at: datetime = START


@dataclass
class Batch:
    tables: dict[str, list[Row]] = field(default_factory=dict)

    def add(self, table: str, row: Row) -> None:
        self.tables.setdefault(table, []).append(row)

    def __len__(self) -> int:
        return len(self.tables.get("lots", ()))


def _round(value: float) -> float:
    return round(value, 2)


def _measurements(rng: random.Random, product: str, fail: bool) -> dict[str, float]:
    thresholds = get_product(product).thresholds
    failing = rng.randrange(len(thresholds)) if fail else -1
    values = {}
    for position, t in enumerate(thresholds):
        limit_pct = t.unit == "%"
        if t.minimum is not None:
            if position == failing:
                value = t.minimum * rng.uniform(0.3, 0.97)
            else:
                room = (100.0 - t.minimum) if limit_pct else t.minimum * 0.5
                value = t.minimum + room * rng.uniform(0.05, 0.95)
        else:
            assert t.maximum is not None
            value = t.maximum * (
                rng.uniform(1.2, 3.0) if position == failing else rng.uniform(0.2, 0.9)
            )
        values[t.characteristic] = min(_round(value), 100.0) if limit_pct else _round(value)
    return values


class LotMaker:
    """Builds every row of one lot; keeps the switching state of the sources it serves."""

    def __init__(
        self,
        suppliers: Sequence[SupplierProfile],
        sources: Sequence[tuple[int, str]],
        ids: IdPlan,
        policy: Policy,
        seed: int,
    ) -> None:
        self.suppliers, self.sources, self.ids, self.policy, self.seed = (
            suppliers,
            sources,
            ids,
            policy,
            seed,
        )
        self.states: dict[int, SourceState] = {}
        self.manufacturers = [s.id for s in suppliers if "manufacturer" in s.roles] or [
            suppliers[0].id
        ]

    def make(self, arrival: Arrival, batch: Batch) -> None:
        rng = random.Random(self.seed * 1_000_003 + arrival.index)
        supplier_index, product = self.sources[arrival.source]
        supplier = self.suppliers[supplier_index]
        state = self.states.setdefault(arrival.source, SourceState())
        received = arrival.received_at
        lot_id = self.ids.lots + arrival.index
        self._maybe_reinstate(state, supplier, product, arrival, batch)

        ordered_as = product
        if product in ORDERED_INSTEAD and rng.random() < 0.15:
            ordered_as = ORDERED_INSTEAD[product]
        quantity = int(round(10 ** rng.uniform(2.7, 6.2), -2)) or 100
        ear_loops = product == "N95" and rng.random() < 0.05
        lot: Row = {
            "id": lot_id,
            "lot_number": f"{supplier.country}-{received.year}-{lot_id:08d}",
            "supplier_id": supplier.id,
            "manufacturer_id": self._manufacturer(rng, supplier),
            "product": product,
            "ordered_as": ordered_as,
            "quantity": quantity,
            "unit": "tests" if product == "ANTIGEN_RAPID_TEST" else "pieces",
            "received_at": received,
            "purchase_order": f"PO-{received.year}-{rng.randrange(1, 99999):05d}",
            "ear_loops": ear_loops,
            "created_at": received,
            "severity": state.switching.severity,
            "supplier_discontinued": state.switching.discontinued,
        }
        certificates = self._certificates(rng, arrival, product, batch)
        facts = LotFacts(
            product=product,
            ordered_as=ordered_as,
            quantity=quantity,
            received_at=received,
            certificates=certificates,
            inspections=(),
            quantities=Quantities(received=quantity),
            severity=state.switching.severity,
            supplier_discontinued=state.switching.discontinued,
            ear_loops=ear_loops,
        )
        movements = Movements(rng, self.ids, arrival.index, facts.quantities, batch, lot_id)
        if received < datetime(2020, 4, 20, tzinfo=UTC) and rng.random() < 0.3:
            # Spring 2020: shipped to hospitals before any test (the Dutch KN95 case).
            movements.distribute(
                received + timedelta(hours=20),
                rng.uniform(0.2, 0.6),
                "Distributed on arrival before testing (emergency; recorded afterwards)",
            )
        inspections, tested_at = self._inspections(rng, arrival, supplier, facts, batch)
        facts = replace(facts, inspections=inspections, quantities=movements.quantities)
        events: list[tuple[datetime, str, Decision, Quantities]] = []
        first = decide(facts, self.policy, AS_OF)
        events.append(
            (
                tested_at,
                "inspection.create" if inspections else "lot.create",
                first,
                facts.quantities,
            )
        )

        after = tested_at + timedelta(days=rng.randint(1, 20))
        if first.status in ALLOWED and rng.random() < 0.65:
            movements.distribute(after, rng.uniform(0.2, 0.9), None)
            if rng.random() < 0.5:
                movements.site_outcome(
                    after + timedelta(days=30), "consumed", rng.uniform(0.1, 0.6)
                )
        elif first.status in (Status.rejected, Status.suspect):
            if rng.random() < 0.7:
                movements.site_outcome(after, "returned", rng.uniform(0.4, 1.0))
            if rng.random() < 0.1:
                movements.site_outcome(
                    after + timedelta(days=3), "destroyed", rng.uniform(0.1, 1.0)
                )
            if first.status == Status.rejected and rng.random() < 0.5:
                movements.return_to_supplier(rng.uniform(0.5, 1.0))
        final = first
        if movements.quantities != facts.quantities:
            facts = replace(facts, quantities=movements.quantities)
            final = decide(facts, self.policy, AS_OF)
            events.append((movements.last_at or after, "movement", final, facts.quantities))
        concession_until = None
        if final.status in (Status.rejected, Status.restricted) and rng.random() < 0.01:
            granted_at = (movements.last_at or after) + timedelta(days=2)
            facts = self._concession(arrival, facts, granted_at, batch, lot_id)
            final = decide(facts, self.policy, AS_OF)
            concession_until = CONCESSION_UNTIL
            events.append((granted_at, "concession.create", final, facts.quantities))

        lot.update(movements.counters())
        lot.update(_decision_columns(final, self.policy.version))
        lot["decided_at"] = events[-1][0]
        lot["decision_valid_until"] = concession_until
        lot["inspection_accepted"] = self._switch(state, first, lot, received)
        batch.add("lots", lot)
        for slot, (at, trigger, decision, quantities) in enumerate(events):
            batch.add(
                "decision_events",
                {
                    "id": self.ids.child("decision_events", arrival.index, slot),
                    "lot_id": lot_id,
                    "at": at,
                    "trigger": trigger,
                    "actor": ACTOR,
                    "status": decision.status.value,
                    "disposition": decision.disposition.value,
                    "reasons": reasons_json(decision),
                    "allowed_uses": list(decision.allowed_uses),
                    "quantities": quantities_snapshot(quantities, decision),
                    "policy_version": self.policy.version,
                },
            )

    def _manufacturer(self, rng: random.Random, supplier: SupplierProfile) -> int | None:
        if "manufacturer" in supplier.roles:
            return supplier.id if rng.random() < 0.5 else None
        return self.manufacturers[rng.randrange(len(self.manufacturers))]

    def _maybe_reinstate(
        self,
        state: SourceState,
        supplier: SupplierProfile,
        product: str,
        arrival: Arrival,
        batch: Batch,
    ) -> None:
        since = state.discontinued_at
        if since is None or arrival.received_at - since < REINSTATE_AFTER:
            return
        state.switching = advance(state.switching, Reinstatement(), False)
        state.discontinued_at = None
        state.updated_at = arrival.received_at
        batch.add(
            "reinstatements",
            {
                "id": self.ids.child("reinstatements", arrival.index, 0),
                "supplier_id": supplier.id,
                "product": product,
                "reason": "Corrective action plan accepted after an audit of the factory",
                "granted_by": ACTOR,
                "created_at": arrival.received_at - timedelta(hours=1),
            },
        )

    def _certificates(
        self, rng: random.Random, arrival: Arrival, product: str, batch: Batch
    ) -> tuple[CertificateFacts, ...]:
        draw = rng.random()
        if draw < 0.03:
            return ()
        received = arrival.received_at.date()
        valid_from = received - timedelta(days=rng.randint(60, 900))
        valid_until: date | None = valid_from + timedelta(days=5 * 365)
        if rng.random() < 0.02:
            valid_until = received - timedelta(days=rng.randint(1, 60))
        template = GOOD_CERTIFICATES[product]
        kind, issuer, body, standard = (
            template.type,
            "Example Notified Body",
            template.notified_body_number,
            template.standard,
        )
        if draw < 0.08:
            kind, issuer, body = rng.choice(RED_FLAG_CERTIFICATES)
        number = (
            f"TC-84A-{rng.randrange(1000, 9999)}"
            if kind == "niosh_approval"
            else f"{kind[:3].upper()}-{arrival.index:08d}"
        )
        verification = rng.choices(("verified", "unverified", "rejected"), (60, 39, 1))[0]
        certificate = CertificateFacts(
            type=kind,
            number=number,
            issuer=issuer,
            notified_body_number=body,
            standard=standard,
            product_scope=product,
            valid_from=valid_from,
            valid_until=valid_until,
            verification=verification,
        )
        batch.add(
            "certificates",
            {
                "id": self.ids.child("certificates", arrival.index, 0),
                "lot_id": self.ids.lots + arrival.index,
                "type": kind,
                "number": number,
                "issuer": issuer,
                "notified_body_number": body,
                "standard": standard,
                "product_scope": product,
                "valid_from": valid_from,
                "valid_until": valid_until,
                "file_sha256": None,
                "verification": verification,
                "verified_by": "Registry check" if verification != "unverified" else None,
                "verified_at": arrival.received_at + timedelta(days=2)
                if verification != "unverified"
                else None,
                "verification_method": "issuer database" if verification != "unverified" else None,
                "created_at": arrival.received_at,
            },
        )
        return (certificate,)

    def _inspections(
        self,
        rng: random.Random,
        arrival: Arrival,
        supplier: SupplierProfile,
        facts: LotFacts,
        batch: Batch,
    ) -> tuple[tuple[InspectionFacts, ...], datetime]:
        stage = rng.random()
        received = arrival.received_at
        if stage < 0.04:
            return (), received + timedelta(minutes=5)  # not inspected yet
        plans = sampling_plans(facts, self.policy)
        sample = plans["critical"].sample_size
        expected = sample * supplier.defect_rate
        planned: list[tuple[str, int, dict[str, int], dict[str, float], bool]] = [
            (
                "visual",
                sample,
                {
                    "workmanship": min(
                        sample, int(rng.expovariate(1 / expected)) if expected else 0
                    ),
                    "labelling": min(
                        sample, int(rng.expovariate(1 / (expected * 1.5))) if expected else 0
                    ),
                },
                {},
                False,
            )
        ]
        if stage >= 0.06:  # 2 % have the visual inspection only, awaiting the lab
            failed = rng.random() < supplier.lab_failure
            planned.append(("lab", 20, {}, _measurements(rng, facts.product, failed), False))
            if failed and rng.random() < 0.75:
                planned.append(("lab", 20, {}, _measurements(rng, facts.product, True), True))
        inspections = []
        when = received
        for slot, (kind, size, defects, measured, confirms) in enumerate(planned):
            when += timedelta(days=rng.randint(1, 4), hours=rng.randint(0, 8))
            inspection_id = self.ids.child("inspections", arrival.index, slot)
            report = f"{kind.upper()}-{inspection_id}"
            inspections.append(
                InspectionFacts(
                    reference=f"inspection {inspection_id} ({report})",
                    kind=kind,
                    sample_size=size,
                    performed_at=when,
                    defects=defects,
                    measurements=measured,
                    confirms=confirms,
                )
            )
            batch.add(
                "inspections",
                {
                    "id": inspection_id,
                    "lot_id": self.ids.lots + arrival.index,
                    "kind": kind,
                    "sample_size": size,
                    "performed_at": when,
                    "inspector": "Warehouse QA" if kind == "visual" else "Lab technician",
                    "lab": None if kind == "visual" else "National test lab",
                    "report_number": report,
                    "confirms": confirms,
                    "defects": defects,
                    "measurements": measured,
                    "created_at": when,
                },
            )
        return tuple(inspections), when

    def _concession(
        self, arrival: Arrival, facts: LotFacts, granted_at: datetime, batch: Batch, lot_id: int
    ) -> LotFacts:
        concession = Concession(
            reason="Shortage: released for use outside healthcare",
            legal_basis="Ministerial decision 2020/17",
            allowed_uses=("non_medical",),
            expires_at=CONCESSION_UNTIL,
        )
        batch.add(
            "concessions",
            {
                "id": self.ids.child("concessions", arrival.index, 0),
                "lot_id": lot_id,
                "reason": concession.reason,
                "legal_basis": concession.legal_basis,
                "allowed_uses": list(concession.allowed_uses),
                "expires_at": concession.expires_at,
                "granted_by": ACTOR,
                "created_at": granted_at,
            },
        )
        return replace(facts, concessions=(concession,))

    def _switch(
        self, state: SourceState, decision: Decision, lot: Row, received: datetime
    ) -> bool | None:
        verdict = decision.original_inspection_accepted
        if verdict is None or lot["supplier_discontinued"]:
            return None
        outcome = LotOutcome(accepted=verdict, between_ac_and_re=decision.between_ac_and_re)
        was_discontinued = state.switching.discontinued
        state.switching = advance(state.switching, outcome, self.policy.reduced_inspection_enabled)
        state.updated_at = received
        if state.switching.discontinued and not was_discontinued:
            state.discontinued_at = received
        return verdict

    def source_quality_rows(self) -> list[Row]:
        rows = []
        for source, state in sorted(self.states.items()):
            supplier_index, product = self.sources[source]
            s = state.switching
            rows.append(
                {
                    "supplier_id": self.suppliers[supplier_index].id,
                    "product": product,
                    "severity": s.severity,
                    "discontinued": s.discontinued,
                    "consecutive_accepted": s.consecutive_accepted,
                    "not_accepted_on_tightened": s.not_accepted_on_tightened,
                    "recent": list(s.recent),
                    "updated_at": state.updated_at,
                }
            )
        return rows


class Movements:
    """Distributions and site reports of one lot, checked by Quantities at every step."""

    def __init__(
        self,
        rng: random.Random,
        ids: IdPlan,
        lot_index: int,
        quantities: Quantities,
        batch: Batch,
        lot_id: int,
    ) -> None:
        self.rng, self.ids, self.lot_index, self.batch, self.lot_id = (
            rng,
            ids,
            lot_index,
            batch,
            lot_id,
        )
        self.quantities = quantities
        self.at_sites: dict[str, int] = {}
        self.shipments = self.reports = 0
        self.last_at: datetime | None = None

    def distribute(self, at: datetime, share: float, override: str | None) -> None:
        for site in self.rng.sample(SITES, k=self.rng.randint(1, 2)):
            units = int(self.quantities.on_hand * share / 2)
            if units < 1 or self.shipments >= IdPlan.SLOTS["distributions"]:
                return
            self.quantities = self.quantities.apply("distributed", units)
            self.at_sites[site] = self.at_sites.get(site, 0) + units
            self.batch.add(
                "distributions",
                {
                    "id": self.ids.child("distributions", self.lot_index, self.shipments),
                    "lot_id": self.lot_id,
                    "destination": site,
                    "quantity": units,
                    "shipped_at": at,
                    "override_reason": override,
                    "created_at": at,
                },
            )
            self.shipments += 1
            self.last_at = at

    def site_outcome(self, at: datetime, outcome: str, share: float) -> None:
        counter = {"returned": "site_returned", "destroyed": "site_destroyed"}.get(
            outcome, "site_consumed"
        )
        for site, outstanding in sorted(self.at_sites.items()):
            units = int(outstanding * share)
            if units < 1 or self.reports >= IdPlan.SLOTS["site_returns"]:
                continue
            self.quantities = self.quantities.apply(counter, units)
            self.at_sites[site] = outstanding - units
            self.batch.add(
                "site_returns",
                {
                    "id": self.ids.child("site_returns", self.lot_index, self.reports),
                    "lot_id": self.lot_id,
                    "destination": site,
                    "quantity": units,
                    "outcome": outcome,
                    "reported_at": at,
                    "created_at": at,
                },
            )
            self.reports += 1
            self.last_at = at

    def return_to_supplier(self, share: float) -> None:
        units = int(self.quantities.on_hand * share)
        if units >= 1:
            self.quantities = self.quantities.apply("returned_to_supplier", units)

    def counters(self) -> Row:
        q = self.quantities
        return {
            "distributed": q.distributed,
            "site_returned": q.site_returned,
            "site_destroyed": q.site_destroyed,
            "site_consumed": q.site_consumed,
            "returned_to_supplier": q.returned_to_supplier,
        }


def _decision_columns(decision: Decision, policy_version: str) -> Row:
    return {
        "status": decision.status.value,
        "disposition": decision.disposition.value,
        "to_recall": decision.to_recall,
        "to_return": decision.to_return,
        "releasable": decision.releasable,
        "reasons": reasons_json(decision),
        "reason_codes": reason_code_text(reasons_json(decision)),
        "allowed_uses": list(decision.allowed_uses),
        "policy_version": policy_version,
    }


def quantities_snapshot(q: Quantities, decision: Decision) -> dict[str, int]:
    """The same keys app.decisions.service.quantities_snapshot stores with an event."""
    return {
        "received": q.received,
        "distributed": q.distributed,
        "site_returned": q.site_returned,
        "site_destroyed": q.site_destroyed,
        "site_consumed": q.site_consumed,
        "returned_to_supplier": q.returned_to_supplier,
        "outstanding_at_sites": q.outstanding_at_sites,
        "on_hand": q.on_hand,
        "to_recall": decision.to_recall,
        "to_return": decision.to_return,
        "releasable": decision.releasable,
    }
