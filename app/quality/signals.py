"""Signals from outside the inspections: complaints from sites, and alerts from regulators,
other countries, lists and the news that name a lot.

A signal never clears anything: it can only make a lot suspect. It does so when

- a complaint is in a critical category (``CRITICAL_COMPLAINTS``), or complaints came
  from at least ``Policy.complaint_destinations`` different destinations; or
- an alert names the lot by a strong identifier (``STRONG_TERMS``), or a person confirmed
  a weak match (a maker's name and model, a GTIN without batch).

Then, as for a first lab failure, a confirming inspection decides: one performed after the
signal that finds a critical failure condemns the whole lot; one that finds none settles
the signals before it (later signals count afresh).
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from app.quality.reasons import Reason, critical, info, warning


class ComplaintCategory(StrEnum):
    poor_fit = "poor_fit"
    breakage = "breakage"
    odour = "odour"
    skin_reaction = "skin_reaction"
    suspected_counterfeit = "suspected_counterfeit"
    wrong_category = "wrong_category"
    other = "other"


COMPLAINT_CATEGORIES: tuple[str, ...] = tuple(ComplaintCategory)
# Harm to a wearer, or a product that may not be what its papers say: one report is enough.
CRITICAL_COMPLAINTS = frozenset(
    {ComplaintCategory.skin_reaction, ComplaintCategory.suspected_counterfeit}
)


class AlertSource(StrEnum):
    regulator = "regulator"
    foreign_recall = "foreign_recall"
    authorisation_withdrawn = "authorisation_withdrawn"
    counterfeit_list = "counterfeit_list"
    news = "news"
    other = "other"


ALERT_SOURCES: tuple[str, ...] = tuple(AlertSource)


class AlertTermKind(StrEnum):
    """How an alert names a lot."""

    gtin_batch = "gtin_batch"
    gtin = "gtin"
    certificate_number = "certificate_number"
    notified_body_number = "notified_body_number"
    niosh_approval_number = "niosh_approval_number"
    manufacturer = "manufacturer"


class MatchStrength(StrEnum):
    strong = "strong"  # the lot re-opens at once
    weak = "weak"  # a person confirms (the lot re-opens) or dismisses


class MatchState(StrEnum):
    applied = "applied"  # strong: the lot was re-opened
    pending_review = "pending_review"
    confirmed = "confirmed"
    dismissed = "dismissed"


# States in which a match is a signal against its lot.
ACTIVE_MATCH_STATES = frozenset({MatchState.applied, MatchState.confirmed})
OPEN_REVIEW_STATE = MatchState.pending_review

_ALWAYS_STRONG = frozenset(
    {
        AlertTermKind.gtin_batch,
        AlertTermKind.certificate_number,
        AlertTermKind.niosh_approval_number,
    }
)


def match_strength(kind: AlertTermKind, source: AlertSource) -> MatchStrength:
    """A notified body number is strong only where the notice withdraws that body's
    certificates (a body certifies many products); a name or a GTIN without batch never is."""
    if kind in _ALWAYS_STRONG:
        return MatchStrength.strong
    if kind == AlertTermKind.notified_body_number and source == AlertSource.authorisation_withdrawn:
        return MatchStrength.strong
    return MatchStrength.weak


def initial_state(strength: MatchStrength) -> MatchState:
    return MatchState.applied if strength == MatchStrength.strong else MatchState.pending_review


@dataclass(frozen=True)
class Signal:
    """One complaint, or one alert match in force, as decide() reads it.

    ``at``: when it was reported (a complaint) or published (an alert); confirming
    inspections count from then on. ``destination``: the complaining site.
    """

    reference: str
    kind: str  # "complaint" or "alert"
    at: datetime
    category: str | None = None
    destination: str | None = None

    @property
    def critical(self) -> bool:
        return self.kind == "alert" or self.category in CRITICAL_COMPLAINTS


@dataclass(frozen=True)
class Confirmation:
    """A confirming inspection as the signal rule reads it."""

    reference: str
    performed_at: datetime
    failed: bool


@dataclass(frozen=True)
class SignalVerdict:
    """``status``: "suspect", "rejected" or None (nothing against the lot)."""

    status: str | None
    reasons: tuple[Reason, ...]


def judge_signals(
    signals: Sequence[Signal], confirmations: Sequence[Confirmation], destinations_needed: int
) -> SignalVerdict:
    """What the signals say about a lot, given its confirming inspections (oldest first)."""
    reasons: list[Reason] = []
    pending = sorted(signals, key=lambda s: s.at)
    for confirmation in confirmations:
        raised = _raised_at(pending, confirmation.performed_at, destinations_needed)
        if raised is None:
            continue
        behind = [s for s in pending if s.at <= confirmation.performed_at]
        if confirmation.failed:
            reasons += [_signal_reason(s) for s in behind]
            reasons.append(
                critical(
                    "signal_confirmed",
                    f"{confirmation.reference} confirmed what {_listed(behind)} reported: "
                    "the whole lot is condemned",
                    inspection=confirmation.reference,
                    signals=[s.reference for s in behind],
                )
            )
            return SignalVerdict("rejected", tuple(reasons))
        reasons.append(
            info(
                "signal_not_confirmed",
                f"{confirmation.reference} found nothing behind {_listed(behind)}",
                inspection=confirmation.reference,
                signals=[s.reference for s in behind],
            )
        )
        pending = [s for s in pending if s.at > confirmation.performed_at]
    if _raised_at(pending, None, destinations_needed) is None:
        reasons += [_signal_reason(s, raised=False) for s in pending]
        return SignalVerdict(None, tuple(reasons))
    reasons += [_signal_reason(s) for s in pending]
    reasons.append(
        warning(
            "signal_awaiting_confirmation",
            f"Suspect after {_listed(pending)}: held, distribution stopped and units at "
            "sites provisionally recalled until a confirming inspection",
            signals=[s.reference for s in pending],
        )
    )
    return SignalVerdict("suspect", tuple(reasons))


def _raised_at(
    signals: Sequence[Signal], until: datetime | None, destinations_needed: int
) -> datetime | None:
    """When the signals (up to ``until``) first made the lot suspect; None: they did not."""
    destinations: set[str] = set()
    for signal in signals:
        if until is not None and signal.at > until:
            return None
        if signal.critical:
            return signal.at
        if signal.destination is not None:
            destinations.add(signal.destination)
            if len(destinations) >= destinations_needed:
                return signal.at
    return None


def _listed(signals: Sequence[Signal]) -> str:
    return ", ".join(s.reference for s in signals)


def _signal_reason(signal: Signal, *, raised: bool = True) -> Reason:
    evidence: dict[str, object] = {"signal": signal.reference, "at": signal.at.isoformat()}
    if signal.kind == "alert":
        return warning("alert_signal", f"Named by {signal.reference}", **evidence)
    evidence |= {"category": signal.category, "destination": signal.destination}
    message = f"{signal.reference}: {signal.category} reported by {signal.destination}"
    if raised:
        return warning("complaint_signal", message, **evidence)
    return info(
        "complaint_recorded", message + " (not enough on its own to re-open the lot)", **evidence
    )
