from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.audit import service as audit
from app.auth.dependencies import Actor
from app.errors import NotFound
from app.suppliers.models import Supplier
from app.suppliers.schemas import SupplierCreate, SupplierOut


async def create_supplier(session: AsyncSession, actor: Actor, data: SupplierCreate) -> Supplier:
    roles = sorted({role.value for role in data.roles})
    supplier = Supplier(
        name=data.name, country=data.country, roles=roles, registration_ref=data.registration_ref
    )
    session.add(supplier)
    await session.flush()
    after = SupplierOut.model_validate(supplier).model_dump(mode="json")
    audit.record(session, actor, "supplier.create", "supplier", supplier.id, after=after)
    return supplier


async def get_supplier(session: AsyncSession, supplier_id: int) -> Supplier:
    supplier = await session.get(Supplier, supplier_id)
    if supplier is None:
        raise NotFound(f"Supplier {supplier_id} does not exist.")
    return supplier


async def list_suppliers(
    session: AsyncSession, *, limit: int, after_id: int | None
) -> list[Supplier]:
    query = select(Supplier).order_by(Supplier.id).limit(limit)
    if after_id is not None:
        query = query.where(Supplier.id > after_id)
    return list(await session.scalars(query))
