"""Reason: one finding behind a decision, readable on its own."""

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum


class ReasonSeverity(StrEnum):
    info = "info"
    warning = "warning"
    critical = "critical"


_SEVERITIES = frozenset(ReasonSeverity)


@dataclass(frozen=True)
class Reason:
    """``evidence`` holds only JSON values (str, int, float, bool, None, lists, dicts)."""

    code: str
    severity: str
    message: str
    evidence: Mapping[str, object] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.severity not in _SEVERITIES:
            raise ValueError(
                f"reason severity {self.severity!r} is unknown; allowed: info, warning, critical"
            )


def info(code: str, message: str, /, **evidence: object) -> Reason:
    return Reason(code, ReasonSeverity.info, message, evidence)


def warning(code: str, message: str, /, **evidence: object) -> Reason:
    return Reason(code, ReasonSeverity.warning, message, evidence)


def critical(code: str, message: str, /, **evidence: object) -> Reason:
    return Reason(code, ReasonSeverity.critical, message, evidence)
