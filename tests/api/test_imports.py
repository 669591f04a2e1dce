"""Bulk imports: every kind and format, validation of the whole file, jobs, duplicates."""

import io
import json
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from openpyxl import load_workbook
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.orm import undefer

from app.audit.models import AuditRecord
from app.auth.models import Role
from app.certificates.models import Certificate
from app.certificates.schemas import CertificateCreate
from app.decisions import bulk as bulk_decisions
from app.imports import apply as apply_module
from app.imports import jobs as import_jobs
from app.imports.columns import COLUMNS, ImportKind
from app.imports.jobs import ImportContext, run_import
from app.imports.models import ImportJob
from app.imports.runners import InProcessRunner, make_runner
from app.inspections.models import Inspection
from app.inspections.schemas import InspectionCreate
from app.lots.models import Lot
from app.lots.schemas import LotCreate
from tests.api import factories
from tests.api.factories import problem
from tests.api.imports_helpers import (
    CERTIFICATE_HEADER,
    INSPECTION_HEADER,
    LOT_HEADER,
    csv_file,
    lab_row,
    post_import,
    runner,
    settle,
    xlsx_file,
)
from tests.api.lot_states import FAILING_LAB

FORMATS = [("csv", csv_file, "file.csv"), ("xlsx", xlsx_file, "file.xlsx")]


async def count(engine: AsyncEngine, model: type[Any]) -> int:
    async with engine.connect() as connection:
        return int(await connection.scalar(select(func.count()).select_from(model)) or 0)


async def lot_status(client: httpx.AsyncClient, lot_id: int) -> str:
    response = await client.get(f"/lots/{lot_id}")
    assert response.status_code == 200, response.text
    status: str = response.json()["status"]
    return status


def ids_from(ranges: list[list[int]]) -> list[int]:
    return [i for first, last in ranges for i in range(first, last + 1)]


@pytest.fixture
def small_sync_limit(app: FastAPI, monkeypatch: pytest.MonkeyPatch) -> None:
    """Files of more than 2 rows become jobs."""
    monkeypatch.setattr(app.state.settings, "import_sync_max_rows", 2)
    monkeypatch.setattr(app.state.settings, "import_batch_rows", 2)


@pytest.mark.parametrize(("fmt", "build", "filename"), FORMATS)
async def test_manifest_creates_lots_decided_and_audited_once(
    inspector: httpx.AsyncClient,
    admin: httpx.AsyncClient,
    fmt: str,
    build: Any,
    filename: str,
) -> None:
    supplier = (await factories.supplier(inspector))["id"]
    rows = [
        ["NL-001", supplier, "FFP2", "FFP2", 10_000, "2020-03-21T09:00:00Z"],
        ["NL-002", supplier, "KN95", "FFP2", 1_300_000, "2020-03-21T09:00:00"],
    ]
    response = await post_import(inspector, "lots", build(LOT_HEADER, rows), filename=filename)
    assert response.status_code == 201, response.text
    body = response.json()
    assert (body["state"], body["format"], body["kind"]) == ("done", fmt, "lots")
    assert (body["rows_total"], body["rows_processed"], body["errors"]) == (2, 2, [])
    assert body["result"]["created"] == 2 and body["result"]["lots_decided"] == 2
    assert body["result"]["decision_events"] == 2
    lot_ids = ids_from(body["result"]["created_ids"])
    lots = [(await inspector.get(f"/lots/{i}")).json() for i in lot_ids]
    assert [(lot["lot_number"], lot["quantity"], lot["status"]) for lot in lots] == [
        ("NL-001", 10_000, "on_hold"),
        ("NL-002", 1_300_000, "on_hold"),
    ]
    history = (await inspector.get(f"/lots/{lot_ids[0]}/decisions")).json()["items"]
    assert [(e["trigger"], e["actor"]) for e in history] == [
        (f"import:{body['id']}", "test-inspector")
    ]
    audit = (await admin.get("/audit", params={"entity_type": "import"})).json()["items"]
    assert [(a["action"], a["entity_id"]) for a in audit] == [("import.apply", str(body["id"]))]
    assert audit[0]["after"]["created_ids"] == body["result"]["created_ids"]


@pytest.mark.parametrize(("fmt", "build", "filename"), FORMATS)
async def test_failing_lab_results_make_lots_suspect(
    inspector: httpx.AsyncClient, fmt: str, build: Any, filename: str
) -> None:
    supplier = (await factories.supplier(inspector))["id"]
    good = await factories.lot(inspector, supplier, lot_number="A")
    bad = await factories.lot(inspector, supplier, lot_number="B")
    content = build(INSPECTION_HEADER, [lab_row(good["id"], 97.0), lab_row(bad["id"], 60.0)])
    response = await post_import(inspector, "inspections", content, filename=filename)
    assert response.status_code == 201, response.text
    assert response.json()["result"]["created"] == 2
    assert await lot_status(inspector, bad["id"]) == "suspect"
    assert await lot_status(inspector, good["id"]) == "on_hold"  # no visual sample yet
    inspections = (await inspector.get(f"/lots/{bad['id']}/inspections")).json()["items"]
    assert [(i["kind"], i["measurements"]) for i in inspections] == [
        (
            "lab",
            [
                {"characteristic": "filtration_efficiency_pct", "value": 60.0},
                {"characteristic": "total_inward_leakage_pct", "value": 3.0},
            ],
        )
    ]
    history = (await inspector.get(f"/lots/{bad['id']}/decisions")).json()["items"]
    assert history[-1]["status"] == "suspect"
    assert history[-1]["trigger"] == f"import:{response.json()['id']}"


async def test_imported_verdicts_advance_the_switching_state(
    inspector: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    supplier = (await factories.supplier(inspector))["id"]
    lots = [await factories.lot(inspector, supplier, lot_number=f"L{i}") for i in range(2)]
    header = [*INSPECTION_HEADER, "confirms"]
    later = "2020-03-27T10:00:00Z"
    rows = [lab_row(lot["id"], 60.0, header) for lot in lots]
    rows += [lab_row(lot["id"], 61.0, header, confirms="yes", performed_at=later) for lot in lots]
    response = await post_import(inspector, "inspections", csv_file(header, rows))
    assert response.status_code == 201, response.text
    assert {await lot_status(inspector, lot["id"]) for lot in lots} == {"rejected"}
    quality = (await inspector.get(f"/suppliers/{supplier}/quality")).json()["products"][0]
    assert quality["severity"] == "tightened", quality
    assert [o["accepted"] for o in quality["recent_outcomes"]] == [False, False]


@pytest.mark.parametrize(("fmt", "build", "filename"), FORMATS)
async def test_certificates_import(
    inspector: httpx.AsyncClient, fmt: str, build: Any, filename: str
) -> None:
    lot = await factories.lot(inspector)
    rows = [
        [
            lot["id"],
            "eu_type_examination",
            "2163-PPE-0001",
            "Example NB",
            "2163",
            "EN 149:2001+A1:2009",
            "2019-01-01",
            "2029-01-01",
        ]
    ]
    response = await post_import(
        inspector, "certificates", build(CERTIFICATE_HEADER, rows), filename=filename
    )
    assert response.status_code == 201, response.text
    certificates = (await inspector.get(f"/lots/{lot['id']}/certificates")).json()["items"]
    assert [(c["number"], c["notified_body_number"], c["valid_until"]) for c in certificates] == [
        ("2163-PPE-0001", "2163", "2029-01-01")
    ]


async def test_every_bad_row_is_reported_and_nothing_is_written(
    inspector: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    supplier = (await factories.supplier(inspector))["id"]
    lot = await factories.lot(inspector, supplier, quantity=50)
    rows = [
        lab_row(lot["id"], 97.0),  # line 2: fine
        lab_row(999_999, 97.0),  # 3: unknown lot
        lab_row(lot["id"], 97.0, sample_size=80),  # 4: sample above the lot's 50
        lab_row(lot["id"], 97.0, defect_membrane_fault=25),  # 5: count above the sample of 20
        lab_row(lot["id"], 97.0, kind="xray"),  # 6: unknown kind
        lab_row(lot["id"], 120.0, performed_at="yesterday"),  # 7: two bad cells
        lab_row(lot["id"], 97.0, inspector=""),  # 8: required value missing
    ]
    before = await count(engine, Inspection)
    response = await post_import(inspector, "inspections", csv_file(INSPECTION_HEADER, rows))
    body = problem(response, 422)
    assert body["detail"] == "6 of 7 rows have errors; nothing was imported."
    found = [(e["line"], e["column"]) for e in body["errors"]]
    assert found == [
        (3, "lot_id"),
        (4, "sample_size"),
        (5, "defect_membrane_fault"),
        (6, "kind"),
        (7, "filtration_efficiency_pct"),
        (7, "performed_at"),
        (8, "inspector"),
    ]
    reasons = {(e["line"], e["column"]): e["reason"] for e in body["errors"]}
    assert reasons[(3, "lot_id")] == "no lot with id 999999"
    assert reasons[(4, "sample_size")] == "sample of 80 is larger than the lot of 50"
    assert (
        reasons[(5, "defect_membrane_fault")] == "25 membrane_fault is more than the sample of 20"
    )
    assert "'xray'" in reasons[(6, "kind")]
    assert reasons[(8, "inspector")] == "Field required"
    assert body["errors"][0]["field"] == "file[3].lot_id"
    assert await count(engine, Inspection) == before
    assert await count(engine, ImportJob) == 0


async def test_manifest_errors_suppliers_products_and_duplicate_lot_numbers(
    inspector: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    supplier = (await factories.supplier(inspector))["id"]
    await factories.lot(inspector, supplier, lot_number="TAKEN")
    rows = [
        ["NEW-1", supplier, "FFP2", "FFP2", 100, "2020-03-21T09:00:00Z"],
        ["NEW-1", supplier, "FFP2", "FFP2", 100, "2020-03-21T09:00:00Z"],  # twice in the file
        ["TAKEN", supplier, "FFP2", "FFP2", 100, "2020-03-21T09:00:00Z"],  # in the database
        ["NEW-2", 424_242, "FFP2", "FFP2", 100, "2020-03-21T09:00:00Z"],  # unknown supplier
        ["NEW-3", supplier, "FFP9", "FFP2", 0, "2020-03-21T09:00:00Z"],  # product, quantity
    ]
    response = await post_import(inspector, "lots", csv_file(LOT_HEADER, rows))
    body = problem(response, 422)
    reasons = {(e["line"], e["column"]): e["reason"] for e in body["errors"]}
    assert sorted(reasons) == [
        (3, "lot_number"),
        (4, "lot_number"),
        (5, "supplier_id"),
        (6, "product"),
        (6, "quantity"),
    ]
    assert reasons[(3, "lot_number")] == (
        f"lot number 'NEW-1' of supplier {supplier} is also on line 2"
    )
    assert reasons[(4, "lot_number")] == f"supplier {supplier} already has a lot numbered 'TAKEN'"
    assert reasons[(5, "supplier_id")] == "no supplier with id 424242"
    assert reasons[(6, "product")].startswith("must be one of: ")
    assert await count(engine, Lot) == 1


async def test_header_problems_are_reported_before_any_row(inspector: httpx.AsyncClient) -> None:
    header = ["lot_id", "kind", "sample_size", "inspector", "defect_mould", "colour"]
    response = await post_import(inspector, "inspections", csv_file(header, [[1, "lab", 2, "x"]]))
    body = problem(response, 422)
    assert body["detail"] == "The file cannot be imported; nothing was written."
    found = {(e["line"], e["column"]): e["reason"] for e in body["errors"]}
    assert set(found) == {(1, "defect_mould"), (1, "colour"), (1, "performed_at")}
    assert found[(1, "defect_mould")].startswith("unknown defect code; allowed: membrane_fault")
    assert found[(1, "performed_at")] == "required column missing"


async def test_unreadable_and_oversized_files(
    inspector: httpx.AsyncClient, app: FastAPI, monkeypatch: pytest.MonkeyPatch
) -> None:
    broken = await post_import(inspector, "lots", b"PK\x03\x04 not really a workbook")
    assert problem(broken, 422)["errors"][0]["field"] == "body.file"
    empty = await post_import(inspector, "lots", b"")
    assert "empty" in problem(empty, 422)["errors"][0]["reason"]
    latin1 = await post_import(inspector, "lots", "lot_number\nZwölf".encode("latin-1"))
    assert "UTF-8" in problem(latin1, 422)["errors"][0]["reason"]
    monkeypatch.setattr(app.state.settings, "import_max_bytes", 1024)
    big = await post_import(inspector, "lots", b"x" * 2048)
    assert problem(big, 413)["errors"] == [{"field": "body.file", "reason": "at most 1024 bytes"}]
    unknown_kind = await post_import(inspector, "parcels", b"a\n1")
    assert factories.fields(problem(unknown_kind, 422)) == {"body.kind"}


async def test_same_file_twice_is_refused_unless_forced(
    inspector: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    lot = await factories.lot(inspector)
    content = csv_file(INSPECTION_HEADER, [lab_row(lot["id"], 97.0)])
    first = await post_import(inspector, "inspections", content)
    assert first.status_code == 201, first.text
    again = problem(await post_import(inspector, "inspections", content), 409)
    assert again["existing_import_id"] == first.json()["id"]
    assert again["errors"][0]["field"] == "body.file"
    forced = await post_import(inspector, "inspections", content, force=True)
    assert forced.status_code == 201, forced.text
    assert forced.json()["forced"] is True
    assert forced.json()["sha256"] == first.json()["sha256"]
    assert await count(engine, Inspection) == 2


async def test_large_file_runs_as_a_job(
    inspector: httpx.AsyncClient, app: FastAPI, small_sync_limit: None
) -> None:
    supplier = (await factories.supplier(inspector))["id"]
    lots = [await factories.lot(inspector, supplier, lot_number=f"L{i}") for i in range(3)]
    rows = [lab_row(lot["id"], 97.0 if i else 50.0) for i, lot in enumerate(lots)]
    response = await post_import(inspector, "inspections", csv_file(INSPECTION_HEADER, rows))
    assert response.status_code == 202, response.text
    queued = response.json()
    assert queued["state"] in ("queued", "validating", "importing", "done")
    assert queued["rows_total"] == 3
    assert response.headers["location"].endswith(f"/api/v1/imports/{queued['id']}")
    done = await settle(inspector, app, queued["id"])
    assert (done["state"], done["rows_processed"], done["errors"]) == ("done", 3, [])
    assert done["result"]["created"] == 3 and done["result"]["lots_decided"] == 3
    assert await lot_status(inspector, lots[0]["id"]) == "suspect"


async def test_job_with_bad_rows_fails_with_its_report_and_releases_the_file(
    inspector: httpx.AsyncClient, app: FastAPI, engine: AsyncEngine, small_sync_limit: None
) -> None:
    lot = await factories.lot(inspector, quantity=50)
    rows = [lab_row(lot["id"], 97.0), lab_row(lot["id"], 97.0, sample_size=60), lab_row(7, 9)]
    content = csv_file(INSPECTION_HEADER, rows)
    response = await post_import(inspector, "inspections", content)
    assert response.status_code == 202, response.text
    failed = await settle(inspector, app, response.json()["id"])
    assert failed["state"] == "failed"
    assert [(e["line"], e["column"]) for e in failed["errors"]] == [
        (3, "sample_size"),
        (4, "lot_id"),
    ]
    assert await count(engine, Inspection) == 0
    again = await post_import(inspector, "inspections", content)
    assert again.status_code == 202, again.text  # a failed import does not block the file


async def queued_lab_import(
    client: httpx.AsyncClient,
    app: FastAPI,
    monkeypatch: pytest.MonkeyPatch,
    lots: int,
    filtration: float,
) -> tuple[list[dict[str, Any]], int]:
    """New lots and a job import of one lab result each, left queued (no runner takes it)."""
    supplier = (await factories.supplier(client))["id"]
    created = [await factories.lot(client, supplier, lot_number=f"L{i}") for i in range(lots)]
    rows = [lab_row(lot["id"], filtration) for lot in created]
    monkeypatch.setattr(runner(app), "submit", _not_now)
    response = await post_import(client, "inspections", csv_file(INSPECTION_HEADER, rows))
    assert response.status_code == 202, response.text
    return created, response.json()["id"]


class Crash(BaseException):
    """Stands for the process dying: not an error the job could catch and report."""


async def test_interrupted_job_wrote_nothing_and_runs_again_once(
    inspector: httpx.AsyncClient,
    app: FastAPI,
    engine: AsyncEngine,
    small_sync_limit: None,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    lots, import_id = await queued_lab_import(inspector, app, monkeypatch, 5, 50.0)
    context: ImportContext = runner(app).context

    async def crash_after_inserts(*args: Any, **kwargs: Any) -> None:
        session = args[0]
        inserted = await session.scalar(select(func.count()).select_from(Inspection))
        assert inserted == 5  # written in three INSERT batches of at most 2 rows
        raise Crash

    monkeypatch.setattr(apply_module, "refresh_decisions", crash_after_inserts)
    with pytest.raises(Crash):
        await run_import(context, import_id)
    monkeypatch.undo()
    assert await count(engine, Inspection) == 0
    assert await count(engine, AuditRecord) == 6  # supplier and lots, not the import
    stuck = (await inspector.get(f"/imports/{import_id}")).json()
    assert stuck["state"] == "importing"

    await run_import(context, import_id)
    await run_import(context, import_id)  # a second run of a finished import changes nothing
    done = (await inspector.get(f"/imports/{import_id}")).json()
    assert (done["state"], done["rows_processed"]) == ("done", 5)
    assert await count(engine, Inspection) == 5
    assert {await lot_status(inspector, lot["id"]) for lot in lots} == {"suspect"}


async def test_a_run_that_read_the_import_before_another_finished_it_writes_nothing(
    inspector: httpx.AsyncClient,
    app: FastAPI,
    engine: AsyncEngine,
    small_sync_limit: None,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Two runs of one import (a restart recovery and a retry, two workers): the second
    read the import while it was queued; the first finishes it; the second must neither
    move it back from done nor write its rows again."""
    _, import_id = await queued_lab_import(inspector, app, monkeypatch, 3, 97.0)
    context: ImportContext = runner(app).context
    async with context.sessionmaker() as session:
        stale = await session.get(ImportJob, import_id, options=[undefer(ImportJob.content)])
    assert stale is not None and stale.state == "queued"

    await run_import(context, import_id)
    await import_jobs._run(context, stale)  # the second run, late

    done = (await inspector.get(f"/imports/{import_id}")).json()
    assert done["state"] == "done"
    assert await count(engine, Inspection) == 3


async def _not_now(import_id: int) -> None:
    """A runner that takes no new work: as if the server stopped right after the request."""


async def test_restart_recovery_runs_unfinished_imports(
    inspector: httpx.AsyncClient,
    app: FastAPI,
    engine: AsyncEngine,
    small_sync_limit: None,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    supplier = (await factories.supplier(inspector))["id"]
    lots = [await factories.lot(inspector, supplier, lot_number=f"L{i}") for i in range(9)]
    monkeypatch.setattr(runner(app), "submit", _not_now)
    ids = []
    for part, state in enumerate(("queued", "validating", "importing")):
        rows = [lab_row(lot["id"], 97.0) for lot in lots[part * 3 : part * 3 + 3]]
        response = await post_import(inspector, "inspections", csv_file(INSPECTION_HEADER, rows))
        assert response.status_code == 202, response.text
        ids.append(response.json()["id"])
        async with engine.begin() as connection:
            await connection.execute(
                update(ImportJob).where(ImportJob.id == ids[-1]).values(state=state)
            )
    monkeypatch.undo()

    restarted = make_runner(runner(app).context, run_worker=False)
    await restarted.start()  # what the lifespan does when the API starts again
    if isinstance(restarted, InProcessRunner):
        await restarted.wait()
    for import_id in ids:
        assert (await settle(inspector, app, import_id))["state"] == "done"
    await restarted.stop()
    assert await count(engine, Inspection) == 9


async def test_templates_document_and_round_trip(
    viewer: httpx.AsyncClient, inspector: httpx.AsyncClient, anonymous: httpx.AsyncClient
) -> None:
    for kind in ImportKind:
        response = await viewer.get(f"/imports/templates/{kind.value}")
        assert response.status_code == 200, response.text
        assert response.headers["content-type"].startswith("text/csv")
        header = response.text.splitlines()[0].split(",")
        assert header == [c.name for c in COLUMNS[kind]]
    workbook_response = await viewer.get("/imports/templates/lots", params={"format": "xlsx"})
    assert (
        'filename="lotgate-lots-template.xlsx"' in workbook_response.headers["content-disposition"]
    )
    workbook = load_workbook(io.BytesIO(workbook_response.content), read_only=True)
    data, notes = workbook.worksheets
    assert [c.value for c in next(data.iter_rows(max_row=1))] == [c.name for c in COLUMNS["lots"]]
    assert next(notes.iter_rows(min_row=2, max_row=2, values_only=True)) == (
        "lot_number",
        "yes",
        "the supplier's lot number (unique per supplier)",
    )
    workbook.close()
    # the template's example row, pointed at a real supplier, imports as it is
    supplier = (await factories.supplier(inspector))["id"]
    template = (await viewer.get("/imports/templates/lots")).text.replace(",1,,", f",{supplier},,")
    response = await post_import(inspector, "lots", template.encode())
    assert response.status_code == 201, response.text
    openapi = (await anonymous.get("/openapi.json")).json()
    description = openapi["paths"]["/api/v1/imports"]["post"]["description"]
    assert "`filtration_efficiency_pct`" in description and "`defect_poor_fit`" in description


@pytest.mark.parametrize(
    ("role", "expected"),
    [(Role.admin, 201), (Role.inspector, 201), (Role.returns, 403), (Role.viewer, 403)],
)
async def test_who_may_import(
    anonymous: httpx.AsyncClient,
    inspector: httpx.AsyncClient,
    keys: dict[Role, str],
    role: Role,
    expected: int,
) -> None:
    supplier = (await factories.supplier(inspector))["id"]
    content = csv_file(LOT_HEADER, [["X", supplier, "FFP2", "FFP2", 5, "2020-03-21T09:00:00Z"]])
    response = await anonymous.post(
        "/api/v1/imports",
        data={"kind": "lots"},
        files={"file": ("m.csv", content)},
        headers={"Authorization": f"Bearer {keys[role]}"},
    )
    assert response.status_code == expected, response.text
    assert problem(await anonymous.get("/api/v1/imports/1"), 401)["status"] == 401


async def test_unknown_import_is_404(viewer: httpx.AsyncClient) -> None:
    assert "Import 12345" in problem(await viewer.get("/imports/12345"), 404)["detail"]


async def test_certificate_rows_use_the_certificate_rules(
    inspector: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    lot = await factories.lot(inspector)
    rows = [
        [lot["id"], "test_report", "N-1", "Lab", "12345", "", "", ""],
        [lot["id"], "test_report", "N-2", "Lab", "", "", "2021-01-01", "2020-01-01"],
    ]
    content = csv_file(CERTIFICATE_HEADER, rows)
    body = problem(await post_import(inspector, "certificates", content), 422)
    found = {(e["line"], e["column"]): e["reason"] for e in body["errors"]}
    assert set(found) == {(2, "notified_body_number"), (3, None)}
    assert "valid_until is before valid_from" in found[(3, None)]
    assert body["errors"][1]["field"] == "file[3]"
    assert await count(engine, Certificate) == 0


async def test_imports_keep_the_dashboard_totals(
    inspector: httpx.AsyncClient, viewer: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    from tests.api.test_dashboard import rollup_snapshot

    supplier = (await factories.supplier(inspector))["id"]
    manifest = csv_file(
        LOT_HEADER,
        [
            ["DASH-1", supplier, "FFP2", "FFP2", 10_000, "2020-03-21T09:00:00Z"],
            ["DASH-2", supplier, "KN95", "FFP2", 5_000, "2020-03-22T09:00:00Z"],
        ],
    )
    created = await post_import(inspector, "lots", manifest, filename="lots.csv")
    assert created.status_code == 201, created.text
    first, second = ids_from(created.json()["result"]["created_ids"])
    results = csv_file(INSPECTION_HEADER, [lab_row(first, 60.0)])
    assert (
        await post_import(inspector, "inspections", results, filename="lab.csv")
    ).status_code == 201
    summary = (await viewer.get("/dashboard/summary")).json()
    assert summary["lots"] == 2 and summary["units"]["received"] == 15_000
    assert summary["by_status"]["suspect"]["lots"] == 1
    assert summary["by_status"]["on_hold"]["lots"] == 1
    assert await rollup_snapshot(engine, rebuilt=True) == await rollup_snapshot(engine)
    assert second > first


async def comparable_decision(
    client: httpx.AsyncClient, lot_id: int, inspection_ids: list[int]
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The lot's stored decision and last event without what differs between two lots
    decided alike: ids, times, trigger, and the ids of their own inspections."""

    def same_text(value: Any) -> Any:
        text = json.dumps(value)
        for position, inspection_id in enumerate(inspection_ids):
            text = text.replace(f"inspection {inspection_id}", f"inspection #{position}")
        return json.loads(text)

    decision = (await client.get(f"/lots/{lot_id}/decision")).json()
    last = (await client.get(f"/lots/{lot_id}/decisions")).json()["items"][-1]
    for key in ("lot_id", "id", "at", "trigger", "decided_at"):
        decision.pop(key, None)
        last.pop(key, None)
    decision["sampling"].pop("lot_id")
    return same_text(decision), same_text(last)


async def inspection_ids(client: httpx.AsyncClient, lot_id: int) -> list[int]:
    items = (await client.get(f"/lots/{lot_id}/inspections")).json()["items"]
    return sorted(item["id"] for item in items)


async def test_imported_results_decide_as_results_posted_one_by_one(
    inspector: httpx.AsyncClient,
) -> None:
    """The bulk path (COPY on PostgreSQL) stores the decision the single-lot path stores."""
    supplier = (await factories.supplier(inspector))["id"]
    posted, imported = [
        (await factories.lot(inspector, supplier, lot_number=f"SAME-{n}"))["id"] for n in (1, 2)
    ]
    body = {**FAILING_LAB, "inspector": "Example Lab", "report_number": None}
    single = await inspector.post(f"/lots/{posted}/inspections", json=body)
    assert single.status_code == 201, single.text
    row = lab_row(
        imported, 81.0, report_number="", defect_membrane_fault=3, total_inward_leakage_pct=25.0
    )
    response = await post_import(inspector, "inspections", csv_file(INSPECTION_HEADER, [row]))
    assert response.status_code == 201, response.text

    decision, event = await comparable_decision(
        inspector, imported, await inspection_ids(inspector, imported)
    )
    assert decision["status"] == "suspect" and decision["reasons"]
    assert (decision, event) == await comparable_decision(inspector, posted, [single.json()["id"]])


async def test_lots_decided_chunk_by_chunk_store_what_the_single_path_stores(
    inspector: httpx.AsyncClient, engine: AsyncEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Bulk decisions in chunks of 2 lots, each chunk written while the next is decided,
    and lots whose decision columns do not change left unwritten: every lot ends as the
    same lot decided one result at a time, and the dashboard rollups stay exact."""
    from tests.api.test_dashboard import rollup_snapshot

    monkeypatch.setattr(bulk_decisions, "CHUNK", 2)
    supplier = (await factories.supplier(inspector))["id"]
    filtrations = [60.0, 97.0, 81.0, 98.5, 97.0]
    pairs = [
        [
            (await factories.lot(inspector, supplier, lot_number=f"{side}-{n}"))["id"]
            for side in "PI"
        ]
        for n in range(len(filtrations))
    ]
    rounds = (filtrations, [97.0] * len(filtrations))  # the second round changes less
    for round_number, values in enumerate(rounds):
        rows = []
        for (posted, imported), filtration in zip(pairs, values, strict=True):
            row = lab_row(imported, filtration, report_number=f"R-{round_number}")
            rows.append(row)
            body = {
                "kind": "lab",
                "sample_size": 20,
                "performed_at": "2020-03-24T10:00:00Z",
                "inspector": "Example Lab",
                "lab": "Example Lab",
                "report_number": f"R-{round_number}",
                "measurements": [
                    {"characteristic": "filtration_efficiency_pct", "value": filtration},
                    {"characteristic": "total_inward_leakage_pct", "value": 3},
                ],
            }
            created = await inspector.post(f"/lots/{posted}/inspections", json=body)
            assert created.status_code == 201, created.text
        response = await post_import(
            inspector, "inspections", csv_file(INSPECTION_HEADER, rows), force=True
        )
        assert response.status_code == 201, response.text

    statuses = set()
    for posted, imported in pairs:
        decision, event = await comparable_decision(
            inspector, imported, await inspection_ids(inspector, imported)
        )
        assert (decision, event) == await comparable_decision(
            inspector, posted, await inspection_ids(inspector, posted)
        )
        statuses.add(decision["status"])
    assert len(statuses) > 1  # the lots did not all end alike
    assert await rollup_snapshot(engine, rebuilt=True) == await rollup_snapshot(engine)


@pytest.mark.parametrize(
    ("kind", "model", "flattened"),
    [
        (ImportKind.lots, LotCreate, set()),
        (ImportKind.certificates, CertificateCreate, set()),
        (ImportKind.inspections, InspectionCreate, {"defects", "measurements"}),
    ],
)
def test_column_sets_cover_every_field_of_the_single_request(
    kind: ImportKind, model: type[Any], flattened: set[str]
) -> None:
    """A field added to a request body must be importable too (defects and measurements
    are spread over one column per code)."""
    columns = {column.name for column in COLUMNS[kind]}
    assert set(model.model_fields) - columns == flattened
