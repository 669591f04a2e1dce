from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.actor import Actor
from app.audit import service as audit
from app.certificates.models import Certificate
from app.certificates.schemas import CertificateCreate, CertificateOut, VerificationIn
from app.db import utcnow
from app.errors import NotFound
from app.lots.models import Lot
from app.paging import Keyset, Page, PageParams, keyset_page
from app.quality.certificates import Verification


def _snapshot(certificate: Certificate) -> dict[str, object]:
    return CertificateOut.model_validate(certificate).model_dump(mode="json")


def certificate_values(lot_id: int, data: CertificateCreate) -> dict[str, Any]:
    """The certificates row for a validated request (also used by bulk imports)."""
    fields = data.model_dump(
        include=set(CertificateCreate.model_fields) - {"method", "verified_at"}
    )
    unverified = data.verification == Verification.unverified
    return {
        **fields,
        "lot_id": lot_id,
        "verification_method": data.method,
        "verified_at": None if unverified else (data.verified_at or utcnow()),
    }


async def add_certificate(
    session: AsyncSession, actor: Actor, lot: Lot, data: CertificateCreate
) -> Certificate:
    certificate = Certificate(**certificate_values(lot.id, data))
    session.add(certificate)
    await session.flush()
    audit.record(
        session,
        actor,
        "certificate.create",
        "certificate",
        certificate.id,
        after=_snapshot(certificate),
    )
    return certificate


async def list_certificates(
    session: AsyncSession, lot_id: int, page: PageParams
) -> Page[CertificateOut]:
    query = select(Certificate).where(Certificate.lot_id == lot_id)
    return await keyset_page(
        session, query, Keyset((Certificate.id,)), page, CertificateOut.model_validate
    )


async def get_certificate(session: AsyncSession, lot_id: int, certificate_id: int) -> Certificate:
    certificate = await session.get(Certificate, certificate_id)
    if certificate is None or certificate.lot_id != lot_id:
        raise NotFound(f"Lot {lot_id} has no certificate {certificate_id}.")
    return certificate


async def set_verification(
    session: AsyncSession, actor: Actor, certificate: Certificate, data: VerificationIn
) -> Certificate:
    before = _snapshot(certificate)
    certificate.verification = data.verification.value
    certificate.verified_by = data.verified_by
    certificate.verification_method = data.method
    unverified = data.verification == Verification.unverified
    certificate.verified_at = None if unverified else (data.verified_at or utcnow())
    certificate.version += 1
    await session.flush()
    audit.record(
        session,
        actor,
        "certificate.verify",
        "certificate",
        certificate.id,
        before=before,
        after=_snapshot(certificate),
    )
    return certificate
