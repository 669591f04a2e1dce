from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.actor import Actor
from app.audit import service as audit
from app.errors import NotFound, invalid
from app.paging import Keyset, Page, PageParams, keyset_page
from app.suppliers.models import Supplier
from app.suppliers.schemas import SupplierCreate, SupplierOut, SupplierRole, SupplierUpdate


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


async def update_supplier(
    session: AsyncSession, actor: Actor, supplier: Supplier, data: SupplierUpdate
) -> Supplier:
    changes = data.model_dump(exclude_unset=True)
    if not changes:
        raise invalid("body", "send at least one field to change")
    if changes.get("name") is None and "name" in changes:
        raise invalid("body.name", "cannot be null")
    if "country" in changes and changes["country"] is None:
        raise invalid("body.country", "cannot be null")
    if "roles" in changes:
        if changes["roles"] is None:
            raise invalid("body.roles", "cannot be null")
        changes["roles"] = sorted({SupplierRole(r).value for r in changes["roles"]})
    before = SupplierOut.model_validate(supplier).model_dump(mode="json")
    for field, value in changes.items():
        setattr(supplier, field, value)
    supplier.version += 1
    await session.flush()
    after = SupplierOut.model_validate(supplier).model_dump(mode="json")
    audit.record(
        session, actor, "supplier.update", "supplier", supplier.id, before=before, after=after
    )
    return supplier


async def get_supplier(
    session: AsyncSession, supplier_id: int, *, for_update: bool = False
) -> Supplier:
    supplier = await session.get(Supplier, supplier_id, with_for_update=for_update)
    if supplier is None:
        raise NotFound(f"Supplier {supplier_id} does not exist.")
    return supplier


BY_ID = Keyset((Supplier.id,))


async def list_suppliers(session: AsyncSession, page: PageParams) -> Page[SupplierOut]:
    return await keyset_page(session, select(Supplier), BY_ID, page, SupplierOut.model_validate)
