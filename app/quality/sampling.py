"""ISO 2859-1 single sampling plans (read from data) and the switching rules.

The tables live in ``data/sampling-plans.json`` with every arrow already followed, so a
cell is the plan to use; nothing here retypes a number from them.
"""

import json
from bisect import bisect_left
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from functools import cache, lru_cache
from importlib.resources import files
from typing import Any


class Severity(StrEnum):
    normal = "normal"
    tightened = "tightened"
    reduced = "reduced"


SEVERITIES: tuple[str, ...] = tuple(Severity)


@dataclass(frozen=True)
class _Tables:
    inspection_levels: tuple[str, ...]
    lot_size_ranges: tuple[tuple[int, int | None], ...]
    code_letters: tuple[tuple[str, ...], ...]
    aql_values: tuple[str, ...]
    plans: Mapping[str, Mapping[str, Mapping[str, tuple[int, int, int]]]]


@cache
def _tables() -> _Tables:
    raw: dict[str, Any] = json.loads(
        files("app.quality").joinpath("data/sampling-plans.json").read_text(encoding="utf-8")
    )
    return _Tables(
        inspection_levels=tuple(raw["inspection_levels"]),
        lot_size_ranges=tuple((low, high) for low, high in raw["lot_size_ranges"]),
        code_letters=tuple(tuple(row) for row in raw["code_letters"]),
        aql_values=tuple(raw["aql_values"]),
        plans={
            severity: {
                letter: {aql: (cell[0], cell[1], cell[2]) for aql, cell in row.items()}
                for letter, row in letters.items()
            }
            for severity, letters in raw["plans"].items()
        },
    )


INSPECTION_LEVELS: tuple[str, ...] = _tables().inspection_levels
AQL_VALUES: tuple[str, ...] = _tables().aql_values


# Memoised: decide() spells the policy's AQLs twice per lot. typed=True keeps True apart
# from 1 (refused below); errors are raised again on every call, never cached.
@lru_cache(maxsize=256, typed=True)
def normalize_aql(value: str | float) -> str:
    """The table's spelling of an AQL: "0.1" -> "0.10", 1 -> "1.0", "10.0" -> "10"."""
    if isinstance(value, bool):
        raise ValueError(f"AQL {value!r} is not a number; allowed: {', '.join(AQL_VALUES)}")
    try:
        number = Decimal(value.strip() if isinstance(value, str) else str(value))
    except InvalidOperation:
        number = Decimal("NaN")
    if number.is_finite():
        for spelling in AQL_VALUES:
            if Decimal(spelling) == number:
                return spelling
    raise ValueError(f"AQL {value!r} is not in the tables; allowed: {', '.join(AQL_VALUES)}")


@dataclass(frozen=True)
class SamplingPlan:
    """A single sampling plan.

    ``code_letter`` is the letter looked up from lot size and level; after an arrow the
    sample size belongs to another letter's row. ``inspect_all`` means the plan's sample
    would be at least the lot, so every unit is inspected and ``sample_size`` is the lot size.
    """

    code_letter: str
    sample_size: int
    acceptance_number: int
    rejection_number: int
    inspect_all: bool

    @property
    def text(self) -> str:
        return (
            f"letter {self.code_letter}, n={self.sample_size}, "
            f"Ac {self.acceptance_number}, Re {self.rejection_number}"
        )


def _check_choice(name: str, value: str, allowed: Iterable[str]) -> None:
    allowed = tuple(allowed)
    if value not in allowed:
        raise ValueError(f"{name} {value!r} is unknown; allowed: {', '.join(allowed)}")


def code_letter(lot_size: int, inspection_level: str) -> str:
    """Sample size code letter (ISO 2859-1 table 1). A lot of 1 uses the 2-8 row."""
    _check_choice("inspection level", inspection_level, INSPECTION_LEVELS)
    if isinstance(lot_size, bool) or not isinstance(lot_size, int) or lot_size < 1:
        raise ValueError(f"lot size must be a whole number >= 1, got {lot_size!r}")
    tables = _tables()
    level_index = tables.inspection_levels.index(inspection_level)
    return tables.code_letters[bisect_left(_upper_bounds(), lot_size)][level_index]


@cache
def _upper_bounds() -> tuple[int, ...]:
    """Each lot size range's upper end, ascending; the last range is open-ended (no bound),
    so bisect_left lands on it for any larger lot."""
    ranges = _tables().lot_size_ranges
    assert ranges[-1][1] is None and all(high is not None for _, high in ranges[:-1])
    return tuple(high for _, high in ranges[:-1] if high is not None)


def plan_for(lot_size: int, inspection_level: str, aql: str | float, severity: str) -> SamplingPlan:
    """The plan for a lot, e.g. 1,300,000 at level II, AQL 2.5, normal -> Q: n=500, Ac 21."""
    _check_choice("severity", severity, SEVERITIES)
    letter = code_letter(lot_size, inspection_level)
    sample_size, acceptance, rejection = _tables().plans[severity][letter][normalize_aql(aql)]
    inspect_all = sample_size >= lot_size
    return SamplingPlan(
        code_letter=letter,
        sample_size=lot_size if inspect_all else sample_size,
        acceptance_number=acceptance,
        rejection_number=rejection,
        inspect_all=inspect_all,
    )


# --- Switching rules ------------------------------------------------------------------
#
# One state per supplier and product (and per defect class if the caller keeps several),
# folded over the outcomes of original inspections in the order the lots were decided.

TIGHTEN_WINDOW = 5  # normal -> tightened when 2 of the last 5 (or fewer) lots fail
TIGHTEN_WHEN_NOT_ACCEPTED = 2
RELAX_AFTER_ACCEPTED = 5  # tightened -> normal
REDUCE_AFTER_ACCEPTED = 10  # normal -> reduced, when the buyer enables reduced inspection
DISCONTINUE_AFTER_NOT_ACCEPTED = 5  # cumulative, while on tightened


@dataclass(frozen=True)
class LotOutcome:
    """Result of the original inspection of one lot (not of a re-inspection)."""

    accepted: bool
    between_ac_and_re: bool = False


@dataclass(frozen=True)
class Reinstatement:
    """The buyer lets a discontinued source deliver again (after corrective action)."""

    note: str = ""


SwitchingEvent = LotOutcome | Reinstatement


@dataclass(frozen=True)
class SwitchingState:
    """Where a source stands.

    ``recent`` holds the last outcomes on normal inspection (True = accepted), newest last;
    ``consecutive_accepted`` counts accepted lots in a row at the current severity;
    ``not_accepted_on_tightened`` counts, cumulatively, lots not accepted while tightened.
    """

    severity: str = Severity.normal
    discontinued: bool = False
    consecutive_accepted: int = 0
    not_accepted_on_tightened: int = 0
    recent: tuple[bool, ...] = field(default=())

    def __post_init__(self) -> None:
        _check_choice("severity", self.severity, SEVERITIES)


def _at(severity: Severity) -> SwitchingState:
    return SwitchingState(severity=severity)


def _advance_normal(
    state: SwitchingState, outcome: LotOutcome, reduced_enabled: bool
) -> SwitchingState:
    recent = (*state.recent, outcome.accepted)[-TIGHTEN_WINDOW:]
    if recent.count(False) >= TIGHTEN_WHEN_NOT_ACCEPTED:
        return _at(Severity.tightened)
    accepted_run = state.consecutive_accepted + 1 if outcome.accepted else 0
    if reduced_enabled and accepted_run >= REDUCE_AFTER_ACCEPTED:
        return _at(Severity.reduced)
    return SwitchingState(Severity.normal, consecutive_accepted=accepted_run, recent=recent)


def _advance_tightened(state: SwitchingState, outcome: LotOutcome) -> SwitchingState:
    if outcome.accepted:
        accepted_run = state.consecutive_accepted + 1
        if accepted_run >= RELAX_AFTER_ACCEPTED:
            return _at(Severity.normal)
        return SwitchingState(
            Severity.tightened,
            consecutive_accepted=accepted_run,
            not_accepted_on_tightened=state.not_accepted_on_tightened,
        )
    not_accepted = state.not_accepted_on_tightened + 1
    return SwitchingState(
        Severity.tightened,
        discontinued=not_accepted >= DISCONTINUE_AFTER_NOT_ACCEPTED,
        not_accepted_on_tightened=not_accepted,
    )


def _advance_reduced(state: SwitchingState, outcome: LotOutcome) -> SwitchingState:
    if not outcome.accepted or outcome.between_ac_and_re:
        return _at(Severity.normal)
    return SwitchingState(Severity.reduced, consecutive_accepted=state.consecutive_accepted + 1)


def advance(state: SwitchingState, event: SwitchingEvent, reduced_enabled: bool) -> SwitchingState:
    """One step of the switching rules.

    While discontinued, lot outcomes change nothing: no lot is accepted from the source
    until a Reinstatement, which resumes at tightened inspection. A Reinstatement of a
    source that is not discontinued changes nothing.
    """
    if isinstance(event, Reinstatement):
        return _at(Severity.tightened) if state.discontinued else state
    if state.discontinued:
        return state
    if state.severity == Severity.tightened:
        return _advance_tightened(state, event)
    if state.severity == Severity.reduced:
        return _advance_reduced(state, event)
    return _advance_normal(state, event, reduced_enabled)


def replay(
    events: Iterable[SwitchingEvent],
    reduced_enabled: bool,
    start: SwitchingState | None = None,
) -> SwitchingState:
    """Fold the events, oldest first, from ``start`` (normal inspection by default)."""
    state = start if start is not None else SwitchingState()
    for event in events:
        state = advance(state, event, reduced_enabled)
    return state
