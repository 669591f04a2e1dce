from typing import Annotated

from fastapi import APIRouter, File, Form, Query, Request, Response, UploadFile, status

from app.auth.dependencies import AnyRole, InspectorRole
from app.config import Settings
from app.deps import PolicyDep, SessionDep
from app.errors import ProblemError
from app.exports.tabular import XLSX_MEDIA_TYPE
from app.imports import off_loop, service
from app.imports.columns import ImportKind, describe_columns
from app.imports.files import FileFormat, template_csv, template_xlsx
from app.imports.models import ImportJob
from app.imports.runners import ImportRunner
from app.imports.schemas import ImportOut
from app.schemas import EntityId

router = APIRouter(prefix="/imports", tags=["imports"])


CREATE_DESCRIPTION = f"""Import a whole CSV or XLSX file (the first sheet) of lots (a shipping
manifest), inspections (lab or visual results) or certificates.

Every row is checked before anything is written; any bad row refuses the whole file and the
report names each problem by line (the header is line 1), column and reason. Files of up to
`LOTGATE_IMPORT_SYNC_MAX_ROWS` rows (default 1,000) are imported in the request: **201**
with the summary, or **422** with the report. Larger files become a job: **202** with a
`Location` to poll (`GET /api/v1/imports/{{id}}`: queued, validating, importing, done or
failed, rows processed of total, and the report). A file with the same content (SHA-256)
as an import that is done or under way is refused with **409** unless `force=true`.
Imported rows decide their lots again, with decision events as for single requests.

CSV: UTF-8, comma, semicolon or tab separated. Empty cells take the default.
Download a template: `GET /api/v1/imports/templates/{{kind}}?format=csv|xlsx`.

{describe_columns()}
"""


class PayloadTooLarge(ProblemError):
    status, title, slug = 413, "Content too large", "content-too-large"


def _runner(request: Request) -> ImportRunner:
    runner: ImportRunner = request.app.state.import_runner
    return runner


def import_out(request: Request, job: ImportJob) -> ImportOut:
    out = ImportOut.model_validate(job)
    live = _runner(request).context.live.get(job.id)
    if live is not None and job.state in ("validating", "importing"):
        out.rows_processed = max(out.rows_processed, live)
    return out


def import_body_limit(settings: Settings) -> int:
    """The body limit of the upload route: LOTGATE_IMPORT_MAX_BYTES for the whole request
    (the file and a few hundred bytes of form), instead of the 1 MiB of other routes."""
    return settings.import_max_bytes


def _too_large(limit: int) -> PayloadTooLarge:
    return PayloadTooLarge(
        f"The request body exceeds the limit of {limit} bytes; split the file.",
        errors=[{"field": "body.file", "reason": f"at most {limit} bytes"}],
        limit_bytes=limit,
    )


async def _read(file: UploadFile, limit: int) -> bytes:
    """The file, which the form parser spooled to a temporary file as it arrived."""
    if file.size is not None and file.size > limit:
        raise _too_large(limit)
    content = await off_loop.file_bytes(file.file)
    if len(content) > limit:
        raise _too_large(limit)
    return content


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    operation_id="create_import",
    description=CREATE_DESCRIPTION,
    responses={
        202: {"model": ImportOut, "description": "Queued as a job; poll the Location"},
        409: {"description": "The same file was imported already"},
        413: {"description": "The file is too large"},
        422: {"description": "Bad rows: every problem by line, column and reason"},
    },
)
async def create_import(
    request: Request,
    response: Response,
    session: SessionDep,
    actor: InspectorRole,
    policy: PolicyDep,
    file: Annotated[UploadFile, File(description="The CSV or XLSX file")],
    kind: Annotated[ImportKind, Form(description="lots, inspections or certificates")],
    force: Annotated[bool, Form(description="Import even if this file was imported")] = False,
) -> ImportOut:
    settings: Settings = request.app.state.settings
    upload = service.Upload(
        kind=kind,
        filename=(file.filename or "upload")[:255],
        content=await _read(file, settings.import_max_bytes),
        force=force,
    )
    job = await service.receive(session, actor, upload, settings=settings, policy=policy)
    if job.state != "done":
        await _runner(request).submit(job.id)
        response.status_code = status.HTTP_202_ACCEPTED
        response.headers["Location"] = str(request.url_for("get_import", import_id=job.id))
    return import_out(request, job)


@router.get(
    "/templates/{kind}",
    operation_id="get_import_template",
    response_class=Response,
    responses={
        200: {
            "description": "The template file",
            "content": {"text/csv": {}, XLSX_MEDIA_TYPE: {}},
        }
    },
)
async def get_import_template(
    kind: ImportKind,
    _actor: AnyRole,
    file_format: Annotated[FileFormat, Query(alias="format")] = FileFormat.csv,
) -> Response:
    """An empty file of that kind: the header row and one example row (XLSX: plus a sheet
    explaining each column)."""
    if file_format == FileFormat.xlsx:
        content, media_type = template_xlsx(kind), XLSX_MEDIA_TYPE
    else:
        content, media_type = template_csv(kind), "text/csv; charset=utf-8"
    filename = f"lotgate-{kind.value}-template.{file_format.value}"
    return Response(
        content,
        media_type=media_type,
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


@router.get("/{import_id:int}", operation_id="get_import")
async def get_import(
    import_id: EntityId, request: Request, session: SessionDep, _actor: AnyRole
) -> ImportOut:
    return import_out(request, await service.get_import(session, import_id))
