"""decide(): what happens to a lot, from what is known about it.

Read ``decide`` first: it applies the rules below in a fixed order. Each rule looks at
the lot on its own and returns a Finding (a status it forces, if any, and its reasons).
The lot takes the worst status any rule forces, on this scale, best first:

    accepted < restricted < on_hold < suspect < rejected

(restricted: usable, but not for everything; on_hold: not known yet; suspect: a first
failure, not yet confirmed; rejected: the whole lot goes back). Because the worst finding
wins, more defects or a worse measurement can never make a decision better.
"""

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from functools import cached_property
from typing import Protocol

from app.quality.certificates import CertificateOutcome, assess_certificates
from app.quality.facts import Concession, InspectionFacts, LotFacts, Policy
from app.quality.products import (
    DefectClass,
    Product,
    equivalence_for,
    get_product,
    meets_class,
    remaining_uses,
    satisfies_order,
)
from app.quality.quantities import Quantities
from app.quality.reasons import Reason, critical, info, warning
from app.quality.sampling import SamplingPlan, plan_for
from app.quality.signals import Confirmation, judge_signals
from app.quality.statuses import STATUS_ORDER, Disposition, Status, is_distributable

__all__ = [
    "STATUS_ORDER",
    "Concession",
    "Decision",
    "Disposition",
    "InspectionFacts",
    "LotFacts",
    "Policy",
    "Quantities",
    "Reason",
    "Status",
    "StoredDecision",
    "decide",
    "distribution_allowed",
    "sampling_plans",
]


@dataclass(frozen=True)
class Decision:
    """What to do with a lot.

    ``to_recall``: units to bring back from sites. ``to_return``: units on hand to ship back
    to the supplier now; units the sites send back land on hand and so join it.
    ``releasable``: units on hand that may be distributed (for ``allowed_uses``).
    ``original_inspection_accepted``: the verdict of the inspections alone, for the
    switching rules; None while they have not decided (incomplete or unconfirmed).
    """

    status: Status
    disposition: Disposition
    reasons: tuple[Reason, ...]
    allowed_uses: tuple[str, ...]
    to_recall: int
    to_return: int
    releasable: int
    plans: Mapping[str, SamplingPlan]
    original_inspection_accepted: bool | None
    between_ac_and_re: bool
    policy_version: str = ""


@dataclass(frozen=True)
class Finding:
    """What one rule found: the status it forces (None: nothing against acceptance)."""

    status: Status | None = None
    reasons: tuple[Reason, ...] = ()
    allowed_uses: tuple[str, ...] | None = None
    between_ac_and_re: bool = False


@dataclass(frozen=True)
class Lot:
    """The facts with what every rule needs worked out once."""

    facts: LotFacts
    policy: Policy
    product: Product
    inspections: tuple[InspectionFacts, ...]  # oldest first
    plans: Mapping[str, SamplingPlan]

    @cached_property
    def visual(self) -> tuple[InspectionFacts, ...]:
        return tuple(i for i in self.inspections if i.kind == "visual")

    @cached_property
    def lab(self) -> tuple[InspectionFacts, ...]:
        return tuple(i for i in self.inspections if i.kind == "lab")

    @cached_property
    def sampled(self) -> int:
        return visual_sampled(self.inspections)


def visual_sampled(inspections: Iterable[InspectionFacts]) -> int:
    """Units the visual inspections have looked at so far (what the sampling plan counts)."""
    return sum(i.sample_size for i in inspections if i.kind == "visual")


def decide(facts: LotFacts, policy: Policy, now: datetime) -> Decision:
    """The decision for one lot. Pure: the same facts, policy and time give the same result."""
    lot = Lot(
        facts=facts,
        policy=policy,
        product=get_product(facts.product),
        inspections=tuple(
            sorted(facts.inspections, key=lambda i: i.performed_at)
        ),  # stable: ties keep input order
        plans=sampling_plans(facts, policy),
    )
    discontinued = supplier_discontinued(lot)  # rule 8
    failures = critical_failures(lot)  # rules 3 and 4
    certificates = certificate_gate(lot)  # rule 2
    counts = aql_counts(lot)  # rule 5
    coverage = inspection_coverage(lot)  # rule 1
    category = wrong_category(lot)  # rule 6
    signals = outside_signals(lot)  # rule 10
    findings = (discontinued, failures, certificates, counts, coverage, category, signals)

    computed = whole_lot_consequences(  # rule 7
        lot,
        status=worst(f.status for f in findings),
        reasons=tuple(reason for f in findings for reason in f.reasons),
        restricted_uses=category.allowed_uses,
        original_inspection_accepted=original_inspection_result(failures, counts, coverage),
        between_ac_and_re=counts.between_ac_and_re,
    )
    return apply_concessions(computed, lot, now)  # rule 9


class StoredDecision(Protocol):
    """What distribution_allowed reads: a Decision, or a lot with its stored decision."""

    @property
    def status(self) -> str: ...
    @property
    def allowed_uses(self) -> Sequence[str]: ...


def distribution_allowed(decision: StoredDecision, intended_use: str | None = None) -> bool:
    """Whether units may leave the warehouse: for ``intended_use`` when given (it must be
    one of the decision's allowed uses), else for any use at all."""
    if not is_distributable(decision.status) or not decision.allowed_uses:
        return False
    return intended_use is None or intended_use in decision.allowed_uses


def worst(statuses: Iterable[Status | None]) -> Status:
    forced = [status for status in statuses if status is not None]
    return max(forced, key=STATUS_ORDER.index, default=Status.accepted)


def sampling_plans(facts: LotFacts, policy: Policy) -> dict[str, SamplingPlan]:
    """Plans per defect class. Critical defects: none allowed (Ac 0, Re 1), judged on the
    whole visual sample, which is the larger of the major and minor plans' samples."""
    major = plan_for(facts.quantity, policy.inspection_level, policy.major_aql, facts.severity)
    minor = plan_for(facts.quantity, policy.inspection_level, policy.minor_aql, facts.severity)
    sample = max(major.sample_size, minor.sample_size)
    critical_plan = SamplingPlan(
        code_letter=major.code_letter,
        sample_size=sample,
        acceptance_number=0,
        rejection_number=1,
        inspect_all=sample >= facts.quantity,
    )
    return {"critical": critical_plan, "major": major, "minor": minor}


# --- Rule 8: a discontinued source ---------------------------------------------------


def supplier_discontinued(lot: Lot) -> Finding:
    if not lot.facts.supplier_discontinued:
        return Finding()
    return Finding(
        Status.rejected,
        (
            critical(
                "supplier_discontinued",
                f"Received on {lot.facts.received_at.date()} while this supplier's "
                f"{lot.product.code} was discontinued (5 lots not accepted on tightened "
                "inspection): nothing is accepted until the buyer reinstates the supplier",
            ),
        ),
    )


# --- Rules 3 and 4: a failed critical characteristic condemns the whole lot -----------


def critical_failures(lot: Lot) -> Finding:
    failing = [
        (inspection, reason)
        for inspection in lot.inspections
        if (reason := inspection_failure(lot.product, inspection)) is not None
    ]
    if not failing:
        return Finding()
    reasons = tuple(reason for _, reason in failing)
    first = failing[0][0]
    if not lot.policy.confirmation_required:
        decisive = critical(
            "failure_decisive",
            f"Policy {lot.policy.version} needs no confirming test: the failure in "
            f"{first.reference} condemns the whole lot of {lot.facts.quantity}",
            inspection=first.reference,
        )
        return Finding(Status.rejected, (*reasons, decisive))
    confirmation = next((i for i, _ in failing[1:] if i.confirms), None)
    if confirmation is not None:
        confirmed = critical(
            "failure_confirmed",
            f"{confirmation.reference} confirmed the failure found in {first.reference}: "
            f"the whole lot of {lot.facts.quantity} is condemned, not only the samples",
            inspection=confirmation.reference,
            first_failure=first.reference,
        )
        return Finding(Status.rejected, (*reasons, confirmed))
    # A passing retest does not clear a failure: only a failing confirmation decides it,
    # or a quality manager through a concession.
    awaiting = warning(
        "awaiting_confirmation",
        f"Suspect after {first.reference}: held, and distributed units provisionally "
        "recalled, until a confirming test",
        first_failure=first.reference,
    )
    return Finding(Status.suspect, (*reasons, awaiting))


def inspection_failure(product: Product, inspection: InspectionFacts) -> Reason | None:
    """A reason when the inspection found a critical defect or a measurement out of spec.

    wrong_category is left to the wrong-category rule: the lot may still pass its own
    standard and serve a lesser use.
    """
    defects = {
        code: count
        for code, count in inspection.defects.items()
        if count > 0
        and code != "wrong_category"
        and product.defect_class(code) == DefectClass.critical
    }
    out_of_spec = [
        (threshold, inspection.measurements[threshold.characteristic])
        for threshold in product.thresholds
        if threshold.characteristic in inspection.measurements
        and not threshold.passes(inspection.measurements[threshold.characteristic])
    ]
    if not defects and not out_of_spec:
        return None
    sample = f"a {inspection.kind} sample of {inspection.sample_size}"
    counted = ", ".join(f"{count} {code}" for code, count in defects.items())
    message = f"{counted} in {sample}" if counted else sample[0].upper() + sample[1:]
    if out_of_spec:
        message += ": " + "; ".join(
            f"{t.label} {_number(value)} {t.unit} against {t.text}" for t, value in out_of_spec
        )
    return critical(
        "critical_failure",
        f"{message} for {product.code} ({inspection.reference})",
        inspection=inspection.reference,
        kind=inspection.kind,
        sample_size=inspection.sample_size,
        defects=dict(defects),
        measurements={
            t.characteristic: {"value": value, "requirement": t.text} for t, value in out_of_spec
        },
    )


def _number(value: float) -> str:
    """81 -> "81.0", 99.95 -> "99.95"."""
    short = f"{value:.1f}"
    return short if float(short) == value else f"{value:g}"


# --- Rule 10: complaints and alerts re-open a lot until a confirming inspection -------


def outside_signals(lot: Lot) -> Finding:
    """app/quality/signals.py: a critical complaint, complaints from enough destinations or
    an alert make the lot suspect; a confirming inspection after them decides."""
    if not lot.facts.signals:
        return Finding()
    confirmations = [
        Confirmation(i.reference, i.performed_at, inspection_failure(lot.product, i) is not None)
        for i in lot.inspections
        if i.confirms
    ]
    verdict = judge_signals(lot.facts.signals, confirmations, lot.policy.complaint_destinations)
    status = None if verdict.status is None else Status(verdict.status)
    return Finding(status, verdict.reasons)


# --- Rule 2: certificates gate release -----------------------------------------------


def certificate_gate(lot: Lot) -> Finding:
    assessment = assess_certificates(
        lot.product,
        lot.facts.certificates,
        lot.facts.received_at.date(),
        ear_loops=lot.facts.ear_loops,
    )
    status = {
        CertificateOutcome.ok: None,
        CertificateOutcome.missing: Status.on_hold,
        CertificateOutcome.invalid: Status.rejected,
    }[assessment.outcome]
    return Finding(status, assessment.reasons)


# --- Rule 5: AQL for major and minor defects ----------------------------------------


def aql_counts(lot: Lot) -> Finding:
    """Major and minor defects summed over the visual inspections, each class judged on
    its own plan. Defect codes that do not apply to the product count as major."""
    visual = lot.visual
    if not visual:
        return Finding()
    sample = lot.sampled
    complete = sample >= lot.plans["critical"].sample_size
    counts, reasons = _count_by_class(lot.product, visual)
    status: Status | None = None
    between = False
    for defect_class in (DefectClass.major, DefectClass.minor):
        plan, count = lot.plans[defect_class], counts[defect_class]
        aql = lot.policy.major_aql if defect_class == DefectClass.major else lot.policy.minor_aql
        judged = (
            f"{count} {defect_class} defects in a visual sample of {sample}: "
            f"{{verdict}} (AQL {aql}, {lot.facts.severity}, {plan.text})"
        )
        evidence: dict[str, object] = {"count": count, "sample": sample, "aql": aql}
        if count >= plan.rejection_number:
            status = Status.rejected
            reasons.append(
                critical(
                    f"aql_{defect_class}_rejected",
                    judged.format(verdict=f"reaches Re {plan.rejection_number}"),
                    **evidence,
                )
            )
        elif not complete:
            continue
        elif count > plan.acceptance_number:
            between = True
            reasons.append(
                warning(
                    f"aql_{defect_class}_between_ac_and_re",
                    judged.format(verdict="between Ac and Re, accepted; next lot on normal"),
                    **evidence,
                )
            )
        else:
            reasons.append(
                info(
                    f"aql_{defect_class}_accepted",
                    judged.format(verdict=f"within Ac {plan.acceptance_number}"),
                    **evidence,
                )
            )
    return Finding(status, tuple(reasons), between_ac_and_re=between)


def _count_by_class(
    product: Product, inspections: Sequence[InspectionFacts]
) -> tuple[dict[DefectClass, int], list[Reason]]:
    counts = dict.fromkeys(DefectClass, 0)
    not_applicable: dict[str, int] = {}
    for inspection in inspections:
        for code, count in inspection.defects.items():
            defect_class = product.defect_class(code)
            if defect_class is None:
                not_applicable[code] = not_applicable.get(code, 0) + count
                defect_class = DefectClass.major
            counts[defect_class] += count
    reasons = [
        warning(
            "defect_code_not_applicable",
            f"{count} {code} recorded on {product.code}, where that code does not apply: "
            "counted as major",
            code=code,
            count=count,
        )
        for code, count in sorted(not_applicable.items())
        if count > 0
    ]
    return counts, reasons


# --- Rule 1: nothing usable before it passes ------------------------------------------


def inspection_coverage(lot: Lot) -> Finding:
    """Held until a lab test covers every critical characteristic of the product and the
    visual samples reach the plan's sample size."""
    if not lot.inspections:
        return Finding(
            Status.on_hold,
            (
                warning(
                    "awaiting_inspection",
                    "No inspection yet: nothing from this lot is used before it passes",
                ),
            ),
        )
    reasons: list[Reason] = []
    measured = {c for inspection in lot.lab for c in inspection.measurements}
    missing = [c for c in lot.product.required_lab_characteristics if c not in measured]
    if missing:
        labels = ", ".join(t.label for c in missing if (t := lot.product.threshold_for(c)))
        reasons.append(
            warning(
                "lab_test_missing",
                f"No lab result yet for {labels or ', '.join(missing)}, "
                f"required for {lot.product.code}",
                missing=missing,
            )
        )
    sampled = lot.sampled
    needed = lot.plans["critical"].sample_size
    if sampled < needed:
        reasons.append(
            warning(
                "visual_sample_too_small",
                f"Visual inspection covered {sampled} units; the plan needs {needed} "
                f"(letter {lot.plans['critical'].code_letter}, level "
                f"{lot.policy.inspection_level}, lot of {lot.facts.quantity})",
                sampled=sampled,
                needed=needed,
            )
        )
    return Finding(Status.on_hold if reasons else None, tuple(reasons))


# --- Rule 6: wrong category ------------------------------------------------------------


def wrong_category(lot: Lot) -> Finding:
    """Not what was ordered: restricted to the uses it still serves, if it passes its own
    standard (the other rules reject it otherwise); rejected when the policy says so or
    no use remains."""
    delivered, ordered = lot.product.code, lot.facts.ordered_as
    on = lot.facts.received_at.date()
    fills_order = satisfies_order(delivered, ordered, lot.policy.equivalences, on)
    found_by = [i.reference for i in lot.inspections if i.defects.get("wrong_category", 0) > 0]
    if fills_order and not found_by:
        return _equivalence_note(lot)
    if not fills_order:
        ordered_product = get_product(ordered)
        what = (
            f"{delivered} ({lot.product.standard}, {lot.product.use_category}) does not fill "
            f"an order for {ordered} ({ordered_product.standard}, "
            f"{ordered_product.use_category}) and no equivalence is in force on {on}"
        )
    else:
        what = f"{', '.join(found_by)} found the lot is not the {delivered} it is declared as"
    uses = remaining_uses(delivered, ordered)
    evidence: dict[str, object] = {
        "delivered": delivered,
        "ordered": ordered,
        "inspections": found_by,
        "remaining_uses": list(uses),
    }
    if lot.policy.wrong_category_means_return:
        return Finding(
            Status.rejected,
            (
                critical(
                    "wrong_category",
                    f"{what}; policy {lot.policy.version} returns wrong-category lots",
                    **evidence,
                ),
            ),
        )
    if not uses:
        return Finding(
            Status.rejected,
            (critical("wrong_category", f"{what}; no use remains for it", **evidence),),
        )
    return Finding(
        Status.restricted,
        (
            warning(
                "wrong_category",
                f"{what}; passing its own standard, it may serve only: {', '.join(uses)}",
                **evidence,
            ),
        ),
        allowed_uses=uses,
    )


def _equivalence_note(lot: Lot) -> Finding:
    delivered, ordered = lot.product.code, lot.facts.ordered_as
    if meets_class(delivered, ordered):
        return Finding()
    on = lot.facts.received_at.date()
    equivalence = equivalence_for(delivered, ordered, lot.policy.equivalences, on)
    if equivalence is None:  # pragma: no cover - fills_order guarantees one
        return Finding()
    until = equivalence.valid_until or "further notice"
    return Finding(
        reasons=(
            info(
                "equivalence_applied",
                f"{delivered} fills the {ordered} order under {equivalence.legal_basis} "
                f"(stands in for {equivalence.ordered} until {until})",
                legal_basis=equivalence.legal_basis,
            ),
        )
    )


# --- For the switching rules: what the inspections alone said ----------------------


def original_inspection_result(
    failures: Finding, counts: Finding, coverage: Finding
) -> bool | None:
    """For the switching rules: False when the inspections rejected the lot, True when
    they are complete and found nothing, None while they have not decided."""
    if Status.rejected in (failures.status, counts.status):
        return False
    if failures.status is not None or coverage.status is not None:
        return None
    return True


# --- Rule 7: what the status means for the whole lot -----------------------------------


def whole_lot_consequences(
    lot: Lot,
    *,
    status: Status,
    reasons: tuple[Reason, ...],
    restricted_uses: tuple[str, ...] | None,
    original_inspection_accepted: bool | None,
    between_ac_and_re: bool,
) -> Decision:
    quantities = lot.facts.quantities
    at_sites, on_hand = quantities.outstanding_at_sites, quantities.on_hand
    disposition = Disposition.hold
    allowed_uses: tuple[str, ...] = ()
    to_recall = to_return = releasable = 0
    extra: list[Reason] = []
    if status == Status.accepted:
        disposition, allowed_uses, releasable = Disposition.release, lot.product.uses, on_hand
    elif status == Status.restricted:
        disposition, allowed_uses, releasable = (
            Disposition.restrict_use,
            restricted_uses or (),
            on_hand,
        )
        if at_sites:
            extra.append(
                warning(
                    "check_site_use",
                    f"{at_sites} units are already at sites: check they serve only "
                    f"{', '.join(allowed_uses)}",
                    outstanding_at_sites=at_sites,
                )
            )
    elif status == Status.suspect:
        to_recall = at_sites
        if at_sites:
            extra.append(
                warning(
                    "provisional_recall",
                    f"Recall the {at_sites} units at sites provisionally until the failure "
                    "is confirmed or cleared",
                    to_recall=at_sites,
                )
            )
    elif status == Status.rejected:
        disposition = Disposition.recall_and_return if at_sites else Disposition.return_to_supplier
        to_recall, to_return = at_sites, on_hand
        extra.append(
            critical(
                "whole_lot_rejected",
                f"Whole lot rejected: recall {at_sites} units from sites and return "
                f"{on_hand} on hand to the supplier (units sent back by sites join the return)",
                to_recall=at_sites,
                to_return=on_hand,
            )
        )
    return Decision(
        status=status,
        disposition=disposition,
        reasons=(*reasons, *extra),
        allowed_uses=allowed_uses,
        to_recall=to_recall,
        to_return=to_return,
        releasable=releasable,
        plans=lot.plans,
        original_inspection_accepted=original_inspection_accepted,
        between_ac_and_re=between_ac_and_re,
        policy_version=lot.policy.version,
    )


# --- Rule 9: concessions -----------------------------------------------------------


def apply_concessions(computed: Decision, lot: Lot, now: datetime) -> Decision:
    """An unexpired concession releases the lot for its uses, whatever was computed; the
    computed reasons stay, so it is plain what is being conceded. After expiry the
    computed decision applies again."""
    in_force = [c for c in lot.facts.concessions if c.in_force(now)]
    expired = [
        info(
            "concession_expired",
            f"Concession '{c.reason}' ({c.legal_basis}) expired at {c.expires_at.isoformat()}",
            expires_at=c.expires_at.isoformat(),
        )
        for c in lot.facts.concessions
        if not c.in_force(now)
    ]
    if not in_force:
        return replace(computed, reasons=(*computed.reasons, *expired)) if expired else computed
    uses = tuple(dict.fromkeys(use for c in in_force for use in c.allowed_uses))
    granted = [_concession_reason(c, computed.status) for c in in_force]
    return replace(
        computed,
        status=Status.accepted,
        disposition=Disposition.release_under_concession,
        reasons=(*computed.reasons, *expired, *granted),
        allowed_uses=uses,
        to_recall=0,
        to_return=0,
        releasable=lot.facts.quantities.on_hand,
    )


def _concession_reason(concession: Concession, computed: Status) -> Reason:
    return warning(
        "concession_in_force",
        f"Released under concession until {concession.expires_at.isoformat()} "
        f"(otherwise {computed}): {concession.reason}; {concession.legal_basis}; "
        f"only for {', '.join(concession.allowed_uses)}",
        expires_at=concession.expires_at.isoformat(),
        computed_status=str(computed),
        allowed_uses=list(concession.allowed_uses),
    )
