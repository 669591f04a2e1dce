"""Which lots an alert names, found with index lookups before any fuzzy scoring.

Both directions use the same queries: a new alert against every lot (``lot_ids=None``),
and new lots or certificates against every alert recorded before them. Identifiers are
looked up exactly on indexed columns (lots.gtin/batch, certificates.number,
notified_body_number, niosh_approval_number); makers' names are scored with rapidfuzz
only against the suppliers table (small), and only the lots of the makers that score
high enough are read, then narrowed by model and product.
"""

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import ColumnElement, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.certificates.models import Certificate
from app.decisions.bulk import chunks
from app.lots.models import Lot
from app.quality.identifiers import (
    MODEL_MATCH_THRESHOLD,
    NAME_MATCH_THRESHOLD,
    batch_key,
    certificate_key,
    company_key,
    model_key,
    model_similarity,
    name_similarity,
)
from app.quality.signals import AlertSource, AlertTermKind, MatchStrength, match_strength
from app.suppliers.models import Supplier

K = AlertTermKind


@dataclass
class AlertSpec:
    """One alert's names, normalised for lookup."""

    id: int
    source: AlertSource
    gtin_batches: set[tuple[str, str]] = field(default_factory=set)
    gtins: set[str] = field(default_factory=set)
    batch_spellings: dict[tuple[str, str], set[str]] = field(default_factory=dict)
    certificate_numbers: set[str] = field(default_factory=set)
    notified_body_numbers: set[str] = field(default_factory=set)
    niosh_approval_numbers: set[str] = field(default_factory=set)
    manufacturers: dict[str, str] = field(default_factory=dict)  # key -> as named
    models: dict[str, str] = field(default_factory=dict)  # key -> as named
    products: set[str] = field(default_factory=set)

    def terms(self) -> list[tuple[AlertTermKind, str, str | None]]:
        """(kind, value, batch) rows for alert_terms."""
        rows: list[tuple[AlertTermKind, str, str | None]] = [
            (K.gtin_batch, gtin, batch) for gtin, batch in sorted(self.gtin_batches)
        ]
        rows += [(K.gtin, value, None) for value in sorted(self.gtins)]
        rows += [(K.certificate_number, v, None) for v in sorted(self.certificate_numbers)]
        rows += [(K.notified_body_number, v, None) for v in sorted(self.notified_body_numbers)]
        rows += [(K.niosh_approval_number, v, None) for v in sorted(self.niosh_approval_numbers)]
        rows += [(K.manufacturer, key, None) for key in sorted(self.manufacturers)]
        return rows


def alert_spec(alert_id: int, source: str, names: dict[str, Any]) -> AlertSpec:
    """From an alert's stored names (already validated: GTINs as GTIN-14)."""
    spec = AlertSpec(alert_id, AlertSource(source))
    for named in names.get("gtins", []):
        if named.get("batch"):
            pair = (named["gtin"], batch_key(named["batch"]))
            spec.gtin_batches.add(pair)
            spec.batch_spellings.setdefault(pair, set()).add(named["batch"].strip())
        else:
            spec.gtins.add(named["gtin"])
    spec.certificate_numbers = {certificate_key(n) for n in names.get("certificate_numbers", [])}
    spec.notified_body_numbers = set(names.get("notified_body_numbers", []))
    spec.niosh_approval_numbers = set(names.get("niosh_approval_numbers", []))
    spec.manufacturers = {company_key(n): n for n in names.get("manufacturers", [])}
    spec.manufacturers.pop("", None)
    spec.models = {model_key(n): n for n in names.get("models", [])}
    spec.models.pop("", None)
    spec.products = set(names.get("products", []))
    return spec


@dataclass(frozen=True)
class Candidate:
    alert_id: int
    lot_id: int
    strength: MatchStrength
    kind: AlertTermKind
    value: str
    score: float | None = None


# Among several ways one alert names one lot, the first kind here is kept.
_PRIORITY = (
    K.gtin_batch,
    K.certificate_number,
    K.niosh_approval_number,
    K.notified_body_number,
    K.gtin,
    K.manufacturer,
)


def best_per_lot(candidates: Iterable[Candidate]) -> list[Candidate]:
    best: dict[tuple[int, int], Candidate] = {}
    for c in candidates:
        key = (c.alert_id, c.lot_id)
        rank = (c.strength != MatchStrength.strong, _PRIORITY.index(c.kind), -(c.score or 100))
        held = best.get(key)
        if held is None or rank < (
            held.strength != MatchStrength.strong,
            _PRIORITY.index(held.kind),
            -(held.score or 100),
        ):
            best[key] = c
    return sorted(best.values(), key=lambda c: (c.alert_id, c.lot_id))


async def find_candidates(
    session: AsyncSession, specs: Sequence[AlertSpec], lot_ids: Sequence[int] | None
) -> list[Candidate]:
    """Every (alert, lot) pair the alerts name, within ``lot_ids`` (None: every lot)."""
    found: list[Candidate] = []
    scopes: Iterable[Sequence[int] | None] = [None] if lot_ids is None else chunks(lot_ids)
    for scope in scopes:
        found += await _by_gtin(session, specs, scope)
        found += await _by_certificate(session, specs, scope)
        found += await _by_maker(session, specs, scope)
    return best_per_lot(found)


def _within(column: Any, scope: Sequence[int] | None) -> list[ColumnElement[bool]]:
    return [] if scope is None else [column.in_(scope)]


async def _by_gtin(
    session: AsyncSession, specs: Sequence[AlertSpec], scope: Sequence[int] | None
) -> list[Candidate]:
    with_batch: dict[tuple[str, str], list[AlertSpec]] = defaultdict(list)
    without_batch: dict[str, list[AlertSpec]] = defaultdict(list)
    # Batches as named and upper-cased: both are looked up on the (gtin, batch) index.
    spec_batches: dict[tuple[str, str], set[str]] = defaultdict(set)
    for spec in specs:
        for pair in spec.gtin_batches:
            with_batch[pair].append(spec)
            spec_batches[pair].update({pair[1], *spec.batch_spellings.get(pair, ())})
        for gtin in spec.gtins:
            without_batch[gtin].append(spec)
    found: list[Candidate] = []
    # A GTIN named with a batch: the (gtin, batch) index answers each pair exactly.
    for (gtin, batch), named_by in with_batch.items():
        rows = await session.scalars(
            select(Lot.id).where(
                Lot.gtin == gtin,
                Lot.batch.in_(sorted(spec_batches[(gtin, batch)])),
                *_within(Lot.id, scope),
            )
        )
        for lot_id in rows:
            found += [
                Candidate(s.id, lot_id, MatchStrength.strong, K.gtin_batch, f"{gtin} / {batch}")
                for s in named_by
            ]
    if without_batch:
        named_gtins = await session.execute(
            select(Lot.id, Lot.gtin).where(
                Lot.gtin.in_(sorted(without_batch)), *_within(Lot.id, scope)
            )
        )
        for lot_id, lot_gtin in named_gtins:
            found += [
                Candidate(s.id, lot_id, match_strength(K.gtin, s.source), K.gtin, str(lot_gtin))
                for s in without_batch.get(lot_gtin or "", [])
            ]
    return found


async def _by_certificate(
    session: AsyncSession, specs: Sequence[AlertSpec], scope: Sequence[int] | None
) -> list[Candidate]:
    numbers: dict[str, list[AlertSpec]] = defaultdict(list)
    bodies: dict[str, list[AlertSpec]] = defaultdict(list)
    niosh: dict[str, list[AlertSpec]] = defaultdict(list)
    for spec in specs:
        for number in spec.certificate_numbers:
            numbers[number].append(spec)
        for body in spec.notified_body_numbers:
            bodies[body].append(spec)
        for approval in spec.niosh_approval_numbers:
            niosh[approval].append(spec)
    conditions = []
    if numbers:
        conditions.append(Certificate.number.in_(sorted(numbers)))
    if bodies:
        conditions.append(Certificate.notified_body_number.in_(sorted(bodies)))
    if niosh:
        conditions.append(Certificate.niosh_approval_number.in_(sorted(niosh)))
    if not conditions:
        return []
    rows = await session.execute(
        select(
            Certificate.lot_id,
            Certificate.number,
            Certificate.notified_body_number,
            Certificate.niosh_approval_number,
        ).where(or_(*conditions), *_within(Certificate.lot_id, scope))
    )
    found: list[Candidate] = []
    for lot_id, certificate_number, nb_number, niosh_number in rows:
        checks: tuple[tuple[AlertTermKind, str | None, dict[str, list[AlertSpec]]], ...] = (
            (K.certificate_number, certificate_key(certificate_number), numbers),
            (K.notified_body_number, nb_number, bodies),
            (K.niosh_approval_number, niosh_number, niosh),
        )
        for kind, identifier, named in checks:
            if identifier is None:
                continue
            for spec in named.get(identifier, []):
                strength = match_strength(kind, spec.source)
                found.append(Candidate(spec.id, lot_id, strength, kind, identifier))
    return found


async def _by_maker(
    session: AsyncSession, specs: Sequence[AlertSpec], scope: Sequence[int] | None
) -> list[Candidate]:
    named = [spec for spec in specs if spec.manufacturers]
    if not named:
        return []
    # Scored against suppliers once: a maker's lots are then read through its index.
    makers: dict[int, list[tuple[AlertSpec, str, float]]] = defaultdict(list)
    if scope is None:
        suppliers = await session.execute(select(Supplier.id, Supplier.name))
    else:
        makers_of_scope = select(func.coalesce(Lot.manufacturer_id, Lot.supplier_id)).where(
            Lot.id.in_(scope)
        )
        suppliers = await session.execute(
            select(Supplier.id, Supplier.name).where(Supplier.id.in_(makers_of_scope))
        )
    for supplier_id, name in suppliers:
        key = company_key(name)
        for spec in named:
            score = max(name_similarity(key, wanted) for wanted in spec.manufacturers)
            if score >= NAME_MATCH_THRESHOLD:
                makers[supplier_id].append((spec, name, score))
    if not makers:
        return []
    ids = sorted(makers)
    rows = await session.execute(
        select(Lot.id, Lot.manufacturer_id, Lot.supplier_id, Lot.model, Lot.product).where(
            or_(
                Lot.manufacturer_id.in_(ids),
                (Lot.manufacturer_id.is_(None)) & Lot.supplier_id.in_(ids),
            ),
            *_within(Lot.id, scope),
        )
    )
    found: list[Candidate] = []
    for lot_id, manufacturer_id, supplier_id, model, product in rows:
        for spec, name, score in makers[manufacturer_id or supplier_id]:
            if spec.products and product not in spec.products:
                continue
            value = name
            if spec.models and model:
                lot_model = model_key(model)
                best = max(model_similarity(lot_model, key) for key in spec.models)
                if best < MODEL_MATCH_THRESHOLD:
                    continue
                value = f"{name} / model {model}"
                score = min(score, best)
            elif spec.models:
                value = f"{name} / model not recorded on the lot"
            found.append(
                Candidate(
                    spec.id, lot_id, MatchStrength.weak, K.manufacturer, value, round(score, 1)
                )
            )
    return found
