from fastapi import APIRouter, Response, status

from app.auth.dependencies import AnyRole, InspectorRole
from app.deps import SessionDep
from app.paging import PAGED, Page, PageQuery
from app.preconditions import IfMatch, check_if_match, set_etag
from app.schemas import EntityId
from app.suppliers import service
from app.suppliers.schemas import SupplierCreate, SupplierOut, SupplierUpdate

router = APIRouter(prefix="/suppliers", tags=["suppliers"])


@router.post("", status_code=status.HTTP_201_CREATED, operation_id="create_supplier")
async def create_supplier(
    body: SupplierCreate, session: SessionDep, actor: InspectorRole, response: Response
) -> SupplierOut:
    supplier = await service.create_supplier(session, actor, body)
    set_etag(response, supplier.version)
    return SupplierOut.model_validate(supplier)


@router.get("", operation_id="list_suppliers", responses=PAGED)
async def list_suppliers(
    session: SessionDep, _actor: AnyRole, page: PageQuery
) -> Page[SupplierOut]:
    """Suppliers by id."""
    return await service.list_suppliers(session, page)


@router.get("/{supplier_id:int}", operation_id="get_supplier")
async def get_supplier(
    supplier_id: EntityId, session: SessionDep, _actor: AnyRole, response: Response
) -> SupplierOut:
    supplier = await service.get_supplier(session, supplier_id)
    set_etag(response, supplier.version)
    return SupplierOut.model_validate(supplier)


@router.patch("/{supplier_id:int}", operation_id="update_supplier")
async def update_supplier(
    supplier_id: EntityId,
    body: SupplierUpdate,
    session: SessionDep,
    actor: InspectorRole,
    response: Response,
    if_match: IfMatch = None,
) -> SupplierOut:
    """Change a supplier's details; send the ETag you read as If-Match."""
    supplier = await service.get_supplier(session, supplier_id, for_update=True)
    check_if_match(if_match, supplier.version, what=f"supplier {supplier_id}")
    await service.update_supplier(session, actor, supplier, body)
    set_etag(response, supplier.version)
    return SupplierOut.model_validate(supplier)
