from typing import Annotated

from fastapi import APIRouter, Query, status

from app.auth.dependencies import AnyRole, InspectorRole
from app.deps import SessionDep
from app.schemas import EntityId
from app.suppliers import service
from app.suppliers.schemas import SupplierCreate, SupplierOut

router = APIRouter(prefix="/suppliers", tags=["suppliers"])


@router.post("", status_code=status.HTTP_201_CREATED, operation_id="create_supplier")
async def create_supplier(
    body: SupplierCreate, session: SessionDep, actor: InspectorRole
) -> SupplierOut:
    return SupplierOut.model_validate(await service.create_supplier(session, actor, body))


@router.get("", operation_id="list_suppliers")
async def list_suppliers(
    session: SessionDep,
    _actor: AnyRole,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    after_id: Annotated[
        int | None, Query(ge=0, description="Return suppliers after this id")
    ] = None,
) -> list[SupplierOut]:
    suppliers = await service.list_suppliers(session, limit=limit, after_id=after_id)
    return [SupplierOut.model_validate(s) for s in suppliers]


@router.get("/{supplier_id}", operation_id="get_supplier")
async def get_supplier(supplier_id: EntityId, session: SessionDep, _actor: AnyRole) -> SupplierOut:
    return SupplierOut.model_validate(await service.get_supplier(session, supplier_id))
