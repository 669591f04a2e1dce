from fastapi import APIRouter, Response, status

from app.auth.dependencies import AnyRole, InspectorRole
from app.certificates import service
from app.certificates.schemas import CertificateCreate, CertificateOut, VerificationIn
from app.decisions.service import refresh_decision
from app.deps import PolicyDep, SessionDep
from app.lots.service import get_lot, lock_lot
from app.paging import PAGED, Page, PageQuery
from app.preconditions import IfMatch, check_if_match, set_etag
from app.schemas import EntityId
from app.signals.alerts import match_new_lots

router = APIRouter(prefix="/lots/{lot_id:int}/certificates", tags=["certificates"])


@router.post("", status_code=status.HTTP_201_CREATED, operation_id="add_certificate")
async def add_certificate(
    lot_id: EntityId,
    body: CertificateCreate,
    session: SessionDep,
    actor: InspectorRole,
    policy: PolicyDep,
    response: Response,
) -> CertificateOut:
    lot = await lock_lot(session, lot_id)
    certificate = await service.add_certificate(session, actor, lot, body)
    await match_new_lots(session, [lot.id])
    await refresh_decision(
        session, lot, policy=policy, trigger="certificate.create", actor=actor.name
    )
    set_etag(response, certificate.version)
    return CertificateOut.model_validate(certificate)


@router.get("", operation_id="list_certificates", responses=PAGED)
async def list_certificates(
    lot_id: EntityId, session: SessionDep, _actor: AnyRole, page: PageQuery
) -> Page[CertificateOut]:
    """The lot's certificates, oldest first."""
    await get_lot(session, lot_id)
    return await service.list_certificates(session, lot_id, page)


@router.put("/{certificate_id:int}/verification", operation_id="verify_certificate")
async def verify_certificate(
    lot_id: EntityId,
    certificate_id: EntityId,
    body: VerificationIn,
    session: SessionDep,
    actor: InspectorRole,
    policy: PolicyDep,
    response: Response,
    if_match: IfMatch = None,
) -> CertificateOut:
    """Record the outcome of checking a certificate (e.g. against NANDO or the issuer).

    Send the certificate's current ETag (or its `version` in quotes) as If-Match.
    """
    lot = await lock_lot(session, lot_id)
    certificate = await service.get_certificate(session, lot_id, certificate_id)
    check_if_match(if_match, certificate.version, what=f"certificate {certificate_id}")
    await service.set_verification(session, actor, certificate, body)
    await refresh_decision(
        session, lot, policy=policy, trigger="certificate.verify", actor=actor.name
    )
    set_etag(response, certificate.version)
    return CertificateOut.model_validate(certificate)
