"""Properties that must hold for any lot, checked on generated ones.

Status order (see app.quality.decision): accepted < restricted < on_hold < suspect <
rejected. "Worse facts never give a better decision" means the status index never falls.
"""

from dataclasses import replace
from datetime import date, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from app.quality.decision import (
    STATUS_ORDER,
    InspectionFacts,
    LotFacts,
    Policy,
    Quantities,
    Status,
    decide,
    distribution_allowed,
)
from app.quality.products import CATALOGUE, DEFECT_CODES, PRODUCT_CODES, Equivalence
from app.quality.quantities import MOVEMENTS
from app.quality.sampling import SEVERITIES

from .builders import NOW, RECEIVED, certificate, lot

EU_2020_403 = Equivalence("KN95", "FFP2", "Recommendation (EU) 2020/403", date(2022, 7, 31))


@st.composite
def inspections(draw: st.DrawFn, product: str, reference: str) -> InspectionFacts:
    """Mostly passing inspections, so that every status turns up."""
    kind = draw(st.sampled_from(["visual", "lab"]))
    measurements: dict[str, float] = {}
    if kind == "lab":
        for threshold in CATALOGUE[product].thresholds:
            if draw(st.integers(0, 4)):
                margin = draw(st.floats(-10, 30, allow_nan=False))  # > 0: on the good side
                if threshold.minimum is not None:
                    measurements[threshold.characteristic] = threshold.minimum + margin
                elif threshold.maximum is not None:
                    measurements[threshold.characteristic] = threshold.maximum - margin
    defects = draw(
        st.one_of(
            st.just({}),
            st.just({}),
            st.just({}),
            st.dictionaries(st.sampled_from(DEFECT_CODES), st.integers(0, 12), max_size=2),
        )
    )
    return InspectionFacts(
        reference=reference,
        kind=kind,
        sample_size=draw(st.one_of(st.integers(1, 600), st.sampled_from([200, 500, 1250]))),
        performed_at=RECEIVED + timedelta(hours=draw(st.integers(0, 400))),
        defects=defects,
        measurements=measurements,
        confirms=draw(st.booleans()),
    )


@st.composite
def quantities(draw: st.DrawFn, received: int) -> Quantities:
    distributed = draw(st.integers(0, received))
    site_returned = draw(st.integers(0, distributed))
    site_destroyed = draw(st.integers(0, distributed - site_returned))
    site_consumed = draw(st.integers(0, distributed - site_returned - site_destroyed))
    on_hand = received - distributed + site_returned
    returned = draw(st.integers(0, on_hand))
    return Quantities(received, distributed, site_returned, site_destroyed, site_consumed, returned)


@st.composite
def lots(draw: st.DrawFn, min_inspections: int = 0) -> LotFacts:
    product = draw(st.sampled_from(PRODUCT_CODES))
    ordered = draw(st.sampled_from([product, product, product, *PRODUCT_CODES]))
    quantity = draw(st.one_of(st.integers(1, 50_000), st.integers(1, 2_000_000)))
    good = certificate(product)
    certificates = draw(
        st.sampled_from([(good,), (good,), (), (replace(good, verification="rejected"),)])
    )
    count = draw(st.integers(min_inspections, 4))
    return LotFacts(
        product=product,
        ordered_as=ordered,
        quantity=quantity,
        received_at=RECEIVED,
        certificates=certificates,
        inspections=tuple(draw(inspections(product, f"INS-{i}")) for i in range(count)),
        quantities=draw(quantities(quantity)),
        severity=draw(st.sampled_from(SEVERITIES)),
        supplier_discontinued=draw(st.sampled_from([False, False, False, True])),
    )


MOSTLY_TRUE = st.sampled_from([True, True, True, False])


@st.composite
def passing_lots(draw: st.DrawFn) -> LotFacts:
    """Lots that pass everything, from where any worsening is a real test."""
    product = draw(st.sampled_from(PRODUCT_CODES))
    return lot(product, quantity=draw(st.integers(1, 2_000_000)))


policies = st.builds(
    Policy,
    confirmation_required=MOSTLY_TRUE,
    reduced_inspection_enabled=st.booleans(),
    wrong_category_means_return=MOSTLY_TRUE.map(lambda value: not value),
    equivalences=st.sampled_from([(), (EU_2020_403,)]),
)


def rank(status: Status) -> int:
    return STATUS_ORDER.index(status)


@st.composite
def more_defects(draw: st.DrawFn, facts: LotFacts) -> LotFacts:
    index = draw(st.integers(0, len(facts.inspections) - 1))
    target = facts.inspections[index]
    code = draw(st.sampled_from(DEFECT_CODES))
    defects = dict(target.defects)
    defects[code] = defects.get(code, 0) + draw(st.integers(1, 30))
    changed = list(facts.inspections)
    changed[index] = replace(target, defects=defects)
    return replace(facts, inspections=tuple(changed))


@st.composite
def worse_measurement(draw: st.DrawFn, facts: LotFacts) -> LotFacts:
    product = CATALOGUE[facts.product]
    measured = [
        (index, characteristic)
        for index, inspection in enumerate(facts.inspections)
        for characteristic in inspection.measurements
    ]
    if not measured:
        return facts
    index, characteristic = draw(st.sampled_from(measured))
    threshold = product.threshold_for(characteristic)
    assert threshold is not None
    step = draw(st.floats(0.001, 60, allow_nan=False))
    target = facts.inspections[index]
    measurements = dict(target.measurements)
    measurements[characteristic] += -step if threshold.minimum is not None else step
    changed = list(facts.inspections)
    changed[index] = replace(target, measurements=measurements)
    return replace(facts, inspections=tuple(changed))


any_lots = st.one_of(
    lots(min_inspections=1),
    passing_lots(),
    # Already a little worse: the base itself may be suspect or rejected.
    passing_lots().flatmap(lambda facts: worse_measurement(facts)),
    passing_lots().flatmap(lambda facts: more_defects(facts)),
)


@settings(max_examples=300, deadline=None)
@given(data=st.data(), facts=any_lots, policy=policies)
def test_more_defects_never_improve_a_decision(
    data: st.DataObject, facts: LotFacts, policy: Policy
) -> None:
    worse = data.draw(more_defects(facts))
    assert rank(decide(worse, policy, NOW).status) >= rank(decide(facts, policy, NOW).status)


@settings(max_examples=300, deadline=None)
@given(data=st.data(), facts=any_lots, policy=policies)
def test_a_worse_measurement_never_improves_a_decision(
    data: st.DataObject, facts: LotFacts, policy: Policy
) -> None:
    worse = data.draw(worse_measurement(facts))
    assert rank(decide(worse, policy, NOW).status) >= rank(decide(facts, policy, NOW).status)


@settings(max_examples=200, deadline=None)
@given(facts=st.one_of(lots(), passing_lots()), policy=policies)
def test_decide_is_deterministic_and_reads_inspections_by_time(
    facts: LotFacts, policy: Policy
) -> None:
    first = decide(facts, policy, NOW)
    assert decide(facts, policy, NOW) == first
    # decide() reads inspections by time; ties keep the order they were given in.
    times = [inspection.performed_at for inspection in facts.inspections]
    if len(set(times)) == len(times):
        shuffled = replace(facts, inspections=tuple(reversed(facts.inspections)))
        assert decide(shuffled, policy, NOW) == first


@settings(max_examples=200, deadline=None)
@given(facts=st.one_of(lots(), passing_lots()), policy=policies)
def test_decided_quantities_stay_within_what_is_there(facts: LotFacts, policy: Policy) -> None:
    decision = decide(facts, policy, NOW)
    q = facts.quantities
    assert 0 <= decision.to_recall <= q.outstanding_at_sites
    assert 0 <= decision.to_return <= q.on_hand
    assert 0 <= decision.releasable <= q.on_hand
    if decision.releasable:
        assert distribution_allowed(decision)
    if decision.status == Status.rejected:
        assert (decision.to_recall, decision.to_return) == (q.outstanding_at_sites, q.on_hand)
        assert decision.releasable == 0


@settings(max_examples=300, deadline=None)
@given(
    received=st.integers(0, 1_000_000),
    steps=st.lists(
        st.tuples(st.sampled_from(MOVEMENTS), st.floats(0, 1, allow_nan=False)), max_size=30
    ),
)
def test_quantities_are_conserved_through_any_valid_movements(
    received: int, steps: list[tuple[str, float]]
) -> None:
    q = Quantities(received)
    for movement, share in steps:
        available = q.available_for(movement)
        if available == 0:
            continue
        q = q.apply(movement, max(1, round(available * share)))
        assert q.on_hand >= 0 and q.outstanding_at_sites >= 0
        assert received == (
            q.on_hand + q.outstanding_at_sites + q.site_destroyed + q.site_consumed
            + q.returned_to_supplier
        )  # fmt: skip
