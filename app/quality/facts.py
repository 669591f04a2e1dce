"""The plain data decide() reads: the buyer's policy and what is known about a lot."""

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from app.quality.certificates import CertificateFacts
from app.quality.products import (
    CHARACTERISTICS,
    DEFECT_CODES,
    USES,
    Equivalence,
    get_product,
)
from app.quality.quantities import Quantities
from app.quality.sampling import INSPECTION_LEVELS, SEVERITIES, normalize_aql
from app.quality.signals import Signal


class InspectionKind(StrEnum):
    visual = "visual"  # ISO 2859-1 AQL sample: workmanship, labelling, visible faults
    lab = "lab"  # destructive test of a small sample: filtration, fit, splash, sensitivity


INSPECTION_KINDS: tuple[str, ...] = tuple(InspectionKind)
# Sets for the checks every InspectionFacts runs (bulk decisions build one per inspection).
_DEFECT_CODES = frozenset(DEFECT_CODES)
_CHARACTERISTICS = frozenset(CHARACTERISTICS)


@dataclass(frozen=True)
class Policy:
    """The buyer's settings; ``version`` is stored with every decision made under it."""

    version: str = "2026-11-default"
    inspection_level: str = "II"
    major_aql: str = "2.5"
    minor_aql: str = "4.0"
    confirmation_required: bool = True
    reduced_inspection_enabled: bool = False
    wrong_category_means_return: bool = False
    equivalences: tuple[Equivalence, ...] = ()
    # Complaints from this many different destinations make a lot suspect.
    complaint_destinations: int = 2

    def __post_init__(self) -> None:
        if self.complaint_destinations < 1:
            raise ValueError("complaint_destinations is at least 1")
        if self.inspection_level not in INSPECTION_LEVELS:
            raise ValueError(
                f"inspection level {self.inspection_level!r} is unknown; "
                f"allowed: {', '.join(INSPECTION_LEVELS)}"
            )
        object.__setattr__(self, "major_aql", normalize_aql(self.major_aql))
        object.__setattr__(self, "minor_aql", normalize_aql(self.minor_aql))


@dataclass(frozen=True)
class InspectionFacts:
    """One completed inspection. ``confirms``: it was run to confirm an earlier failure."""

    reference: str
    kind: str
    sample_size: int
    performed_at: datetime
    defects: Mapping[str, int] = field(default_factory=dict)
    measurements: Mapping[str, float] = field(default_factory=dict)
    confirms: bool = False

    def __post_init__(self) -> None:
        if self.kind not in INSPECTION_KINDS:
            raise ValueError(f"inspection kind {self.kind!r} is unknown; allowed: visual, lab")
        if self.sample_size < 1:
            raise ValueError(f"an inspection samples at least 1 unit, got {self.sample_size}")
        unknown = sorted(set(self.defects) - _DEFECT_CODES)
        if unknown:
            raise ValueError(f"unknown defect codes {unknown}; allowed: {', '.join(DEFECT_CODES)}")
        negative = {code: n for code, n in self.defects.items() if n < 0}
        if negative:
            raise ValueError(f"defect counts cannot be negative: {negative}")
        unknown = sorted(set(self.measurements) - _CHARACTERISTICS)
        if unknown:
            raise ValueError(
                f"unknown characteristics {unknown}; allowed: {', '.join(CHARACTERISTICS)}"
            )
        if not all(math.isfinite(value) for value in self.measurements.values()):
            raise ValueError("measurements must be finite numbers")


@dataclass(frozen=True)
class Concession:
    """A documented permission to use a nonconforming lot for some uses until a time."""

    reason: str
    legal_basis: str
    allowed_uses: tuple[str, ...]
    expires_at: datetime

    def __post_init__(self) -> None:
        if not self.allowed_uses:
            raise ValueError("a concession names at least one allowed use")
        unknown = [use for use in self.allowed_uses if use not in USES]
        if unknown:
            raise ValueError(f"unknown uses {unknown}; allowed: {', '.join(USES)}")

    def in_force(self, now: datetime) -> bool:
        return self.expires_at > now


@dataclass(frozen=True)
class LotFacts:
    """Everything known about one lot.

    ``quantity`` is the lot size the sampling plans use. ``supplier_discontinued``: the lot
    was received while its source was discontinued under the switching rules (the caller
    sets it only for such lots, never for lots received before the discontinuation).
    ``ear_loops``: the respirators have ear loops (a red flag on a claimed N95).
    ``signals``: complaints from sites and alert matches in force (app/quality/signals.py).
    """

    product: str
    ordered_as: str
    quantity: int
    received_at: datetime
    certificates: tuple[CertificateFacts, ...]
    inspections: tuple[InspectionFacts, ...]
    quantities: Quantities
    severity: str = "normal"
    supplier_discontinued: bool = False
    concessions: tuple[Concession, ...] = ()
    ear_loops: bool = False
    signals: tuple[Signal, ...] = ()

    def __post_init__(self) -> None:
        get_product(self.product)
        get_product(self.ordered_as)
        if self.quantity < 1:
            raise ValueError(f"a lot holds at least 1 unit, got {self.quantity}")
        if self.severity not in SEVERITIES:
            raise ValueError(
                f"severity {self.severity!r} is unknown; allowed: {', '.join(SEVERITIES)}"
            )
