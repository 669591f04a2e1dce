"""Every table, imported in one place for Alembic's autogenerate and check."""

from app.audit.models import AuditRecord
from app.auth.models import ApiKey
from app.certificates.models import Certificate
from app.dashboard import rollup as _rollup  # noqa: F401 - keeps the rollups in step
from app.dashboard.models import (
    DataVersion,
    LotProductTotals,
    LotReasonTotals,
    LotTotals,
    LotWeekly,
)
from app.db import Base
from app.decisions.models import Concession, DecisionEvent, Reinstatement, SourceQuality
from app.distributions.models import Distribution, SiteReturn
from app.inspections.models import Inspection
from app.lots.models import Lot
from app.suppliers.models import Supplier

__all__ = [
    "ApiKey",
    "AuditRecord",
    "Base",
    "Certificate",
    "Concession",
    "DataVersion",
    "DecisionEvent",
    "Distribution",
    "Inspection",
    "Lot",
    "LotProductTotals",
    "LotReasonTotals",
    "LotTotals",
    "LotWeekly",
    "Reinstatement",
    "SiteReturn",
    "SourceQuality",
    "Supplier",
]
