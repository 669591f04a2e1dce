from typing import Annotated

from fastapi import APIRouter, Query, status

from app.auth.dependencies import AdminRole, AnyRole
from app.decisions import views
from app.decisions.schemas import (
    ConcessionCreate,
    ConcessionOut,
    DecisionEventOut,
    DecisionOut,
    LotSamplingPlans,
    ReinstatementCreate,
    ReinstatementOut,
    SamplingPlanOut,
    SupplierQualityOut,
)
from app.deps import PolicyDep, SessionDep
from app.errors import invalid
from app.lots.service import get_lot, lock_lot
from app.paging import PAGED, Page, PageQuery
from app.quality.sampling import INSPECTION_LEVELS, SEVERITIES, normalize_aql, plan_for
from app.schemas import EntityId
from app.suppliers.service import get_supplier

router = APIRouter(tags=["decisions"])

InspectionLevel = Annotated[
    str,
    Query(json_schema_extra={"enum": list(INSPECTION_LEVELS)}),
]
Severity = Annotated[str, Query(json_schema_extra={"enum": list(SEVERITIES)})]


def _choice(field: str, value: str, allowed: tuple[str, ...]) -> str:
    if value not in allowed:
        raise invalid(field, f"must be one of: {', '.join(allowed)}", allowed=list(allowed))
    return value


@router.get("/sampling-plans", operation_id="lookup_sampling_plan")
async def lookup_sampling_plan(
    _actor: AnyRole,
    lot_size: Annotated[int, Query(ge=1, le=1_000_000_000)],
    aql: Annotated[
        str,
        Query(max_length=10, description="As in the tables (0.10, 1.0, 10) or any equal number"),
    ],
    inspection_level: InspectionLevel = "II",
    severity: Severity = "normal",
) -> SamplingPlanOut:
    """ISO 2859-1 single sampling plan (arrows already followed)."""
    level = _choice("query.inspection_level", inspection_level, INSPECTION_LEVELS)
    chosen_severity = _choice("query.severity", severity, SEVERITIES)
    try:
        table_aql = normalize_aql(aql)
    except ValueError as error:
        raise invalid("query.aql", str(error)) from None
    return SamplingPlanOut.model_validate(plan_for(lot_size, level, table_aql, chosen_severity))


@router.get("/lots/{lot_id:int}/sampling-plan", operation_id="get_lot_sampling_plan")
async def get_lot_sampling_plan(
    lot_id: EntityId, session: SessionDep, _actor: AnyRole, policy: PolicyDep
) -> LotSamplingPlans:
    return views.lot_sampling_plans(await get_lot(session, lot_id), policy)


@router.get("/lots/{lot_id:int}/decision", operation_id="get_lot_decision")
async def get_lot_decision(
    lot_id: EntityId, session: SessionDep, _actor: AnyRole, policy: PolicyDep
) -> DecisionOut:
    lot = await views.refresh_if_expired(session, await get_lot(session, lot_id), policy)
    return views.decision_out(lot, policy)


@router.get("/lots/{lot_id:int}/decisions", operation_id="list_lot_decisions", responses=PAGED)
async def list_lot_decisions(
    lot_id: EntityId, session: SessionDep, _actor: AnyRole, page: PageQuery
) -> Page[DecisionEventOut]:
    """Every decision the lot has had, oldest first."""
    await get_lot(session, lot_id)
    return await views.decision_history(session, lot_id, page)


@router.post(
    "/lots/{lot_id:int}/concessions",
    status_code=status.HTTP_201_CREATED,
    operation_id="grant_concession",
)
async def grant_concession(
    lot_id: EntityId,
    body: ConcessionCreate,
    session: SessionDep,
    actor: AdminRole,
    policy: PolicyDep,
) -> ConcessionOut:
    lot = await lock_lot(session, lot_id)
    concession = await views.grant_concession(session, actor, lot, body, policy)
    return ConcessionOut.model_validate(concession)


@router.get("/lots/{lot_id:int}/concessions", operation_id="list_concessions", responses=PAGED)
async def list_concessions(
    lot_id: EntityId, session: SessionDep, _actor: AnyRole, page: PageQuery
) -> Page[ConcessionOut]:
    """The lot's concessions, oldest first."""
    await get_lot(session, lot_id)
    return await views.list_concessions(session, lot_id, page)


@router.get("/suppliers/{supplier_id:int}/quality", operation_id="get_supplier_quality")
async def get_supplier_quality(
    supplier_id: EntityId, session: SessionDep, _actor: AnyRole
) -> SupplierQualityOut:
    """Per product: sampling severity, discontinuation, recent outcomes, acceptance rate."""
    await get_supplier(session, supplier_id)
    return await views.supplier_quality(session, supplier_id)


@router.post(
    "/suppliers/{supplier_id:int}/reinstatements",
    status_code=status.HTTP_201_CREATED,
    operation_id="reinstate_supplier",
)
async def reinstate_supplier(
    supplier_id: EntityId,
    body: ReinstatementCreate,
    session: SessionDep,
    actor: AdminRole,
    policy: PolicyDep,
) -> ReinstatementOut:
    """Let a discontinued supplier deliver this product again; inspection resumes tightened."""
    await get_supplier(session, supplier_id)
    return await views.reinstate(session, actor, supplier_id, body, policy)
