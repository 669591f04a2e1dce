"""Every table, imported in one place for Alembic's autogenerate and check."""

from app.audit.models import AuditRecord
from app.auth.models import ApiKey
from app.certificates.models import Certificate
from app.dashboard import rollup as _rollup  # noqa: F401 - keeps the rollups in step
from app.dashboard.models import (
    DataVersion,
    LotDecidedReasons,
    LotDecidedTotals,
    LotPeriodReasons,
    LotPeriodTotals,
    LotPrefixWeekReasons,
    LotPrefixWeeks,
    LotProductTotals,
    LotReasonTotals,
    LotSupplierWeekReasons,
    LotSupplierWeeks,
    LotTotals,
    LotWeekly,
)
from app.db import Base
from app.decisions.models import Concession, DecisionEvent, Reinstatement, SourceQuality
from app.distributions.models import Distribution, SiteReturn
from app.idempotency.models import IdempotencyRecord
from app.imports.models import ImportJob
from app.inspections.models import Inspection
from app.lots.models import Lot
from app.recalls.models import RecallAcknowledgement
from app.returns.models import ReturnAuthorisation, ReturnTransition
from app.signals.models import Alert, AlertMatch, AlertTerm, Complaint
from app.suppliers.models import Supplier

__all__ = [
    "Alert",
    "AlertMatch",
    "AlertTerm",
    "ApiKey",
    "AuditRecord",
    "Base",
    "Certificate",
    "Complaint",
    "Concession",
    "DataVersion",
    "DecisionEvent",
    "Distribution",
    "IdempotencyRecord",
    "ImportJob",
    "Inspection",
    "Lot",
    "LotDecidedReasons",
    "LotDecidedTotals",
    "LotPeriodReasons",
    "LotPeriodTotals",
    "LotPrefixWeekReasons",
    "LotPrefixWeeks",
    "LotProductTotals",
    "LotReasonTotals",
    "LotSupplierWeekReasons",
    "LotSupplierWeeks",
    "LotTotals",
    "LotWeekly",
    "RecallAcknowledgement",
    "Reinstatement",
    "ReturnAuthorisation",
    "ReturnTransition",
    "SiteReturn",
    "SourceQuality",
    "Supplier",
]
