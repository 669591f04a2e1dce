import httpx

from tests.api import factories
from tests.api.factories import fields, problem


async def test_create_lot_returns_it_on_hold_with_quantities(inspector: httpx.AsyncClient) -> None:
    created = await factories.lot(inspector, quantity=1_300_000, purchase_order="PO-7")
    assert created["status"] == "on_hold"
    assert created["disposition"] == "hold"
    assert created["unit"] == "pieces"
    assert created["received_at"] == "2020-03-21T09:00:00Z"
    q = created["quantities"]
    assert q["received"] == q["on_hand"] == 1_300_000
    assert q["distributed"] == q["outstanding_at_sites"] == q["site_returned"] == 0
    fetched = (await inspector.get(f"/lots/{created['id']}")).json()
    assert fetched == created


async def test_lot_number_unique_per_supplier(inspector: httpx.AsyncClient) -> None:
    first = await factories.lot(inspector)
    again = await inspector.post(
        "/lots",
        json={
            "lot_number": "LOT-001",
            "supplier_id": first["supplier_id"],
            "product": "FFP2",
            "ordered_as": "FFP2",
            "quantity": 5,
            "received_at": "2020-03-22T00:00:00Z",
        },
    )
    body = problem(again, 409)
    assert body["existing_lot_id"] == first["id"]
    other_supplier = await factories.supplier(inspector, name="Other")
    same_number_elsewhere = await factories.lot(inspector, other_supplier["id"])
    assert same_number_elsewhere["lot_number"] == "LOT-001"


async def test_unknown_product_lists_allowed_codes(inspector: httpx.AsyncClient) -> None:
    s = await factories.supplier(inspector)
    response = await inspector.post(
        "/lots",
        json={
            "lot_number": "L",
            "supplier_id": s["id"],
            "product": "KN94",
            "ordered_as": "FFP2",
            "quantity": 1,
            "received_at": "2020-03-21T00:00:00Z",
        },
    )
    body = problem(response, 422)
    assert fields(body) == {"body.product"}
    assert "KN95" in body["errors"][0]["reason"] and "FFP2" in body["errors"][0]["reason"]


async def test_quantity_must_be_positive_integer(inspector: httpx.AsyncClient) -> None:
    s = await factories.supplier(inspector)
    for bad in (0, -5, 2.5, "many"):
        response = await inspector.post(
            "/lots",
            json={
                "lot_number": "L",
                "supplier_id": s["id"],
                "product": "FFP2",
                "ordered_as": "FFP2",
                "quantity": bad,
                "received_at": "2020-03-21T00:00:00Z",
            },
        )
        assert fields(problem(response, 422)) == {"body.quantity"}, bad


async def test_unknown_supplier_and_non_manufacturer(inspector: httpx.AsyncClient) -> None:
    broker = await factories.supplier(inspector, name="Broker BV", country="NL", roles=["broker"])
    base = {
        "lot_number": "L",
        "product": "FFP2",
        "ordered_as": "FFP2",
        "quantity": 1,
        "received_at": "2020-03-21T00:00:00Z",
    }
    missing = await inspector.post("/lots", json={**base, "supplier_id": 4242})
    assert fields(problem(missing, 422)) == {"body.supplier_id"}
    flag = await inspector.post("/lots", json={**base, "supplier_id": True})
    assert fields(problem(flag, 422)) == {"body.supplier_id"}  # not read as supplier 1
    not_maker = await inspector.post(
        "/lots", json={**base, "supplier_id": broker["id"], "manufacturer_id": broker["id"]}
    )
    body = problem(not_maker, 422)
    assert fields(body) == {"body.manufacturer_id"}
    assert "manufacturer role" in body["detail"]
    assert (await inspector.get("/lots")).json() == {"items": [], "next_cursor": None}


async def test_products_catalogue(viewer: httpx.AsyncClient) -> None:
    products = {p["code"]: p for p in (await viewer.get("/products")).json()["items"]}
    assert set(products) == {
        "KN90",
        "KN95",
        "KN100",
        "FFP1",
        "FFP2",
        "FFP3",
        "N95",
        "SURGICAL_I",
        "SURGICAL_II",
        "SURGICAL_IIR",
        "SURGICAL_YY0469",
        "MEDICAL_YYT0969",
        "MEDICAL_RESPIRATOR_GB19083",
        "ANTIGEN_RAPID_TEST",
    }
    kn95 = products["KN95"]
    assert kn95["standard"] == "GB 2626-2006"
    filtration = next(
        t for t in kn95["thresholds"] if t["characteristic"] == "filtration_efficiency_pct"
    )
    assert filtration["minimum"] == 95.0 and filtration["requirement"] == ">= 95 %"
    assert products["ANTIGEN_RAPID_TEST"]["thresholds"][0]["minimum"] == 80.0


async def test_a_lot_carries_an_etag_and_a_poll_with_it_costs_a_304(
    viewer: httpx.AsyncClient, inspector: httpx.AsyncClient
) -> None:
    lot = await factories.lot(inspector)
    first = await viewer.get(f"/lots/{lot['id']}")
    etag = first.headers["ETag"]
    assert first.status_code == 200 and first.json() == lot and etag.startswith('W/"')

    polled = await viewer.get(f"/lots/{lot['id']}", headers={"If-None-Match": etag})
    assert polled.status_code == 304 and polled.content == b""
    assert polled.headers["ETag"] == etag
    anything = await viewer.get(f"/lots/{lot['id']}", headers={"If-None-Match": "*"})
    assert anything.status_code == 200 and anything.json() == lot

    other = await factories.lot(inspector, supplier_id=lot["supplier_id"], lot_number="LOT-002")
    elsewhere = await viewer.get(f"/lots/{other['id']}", headers={"If-None-Match": etag})
    assert elsewhere.status_code == 200 and elsewhere.json() == other
    # Any change to the data makes the tag stale: the next poll gets the lot in full.
    changed = await viewer.get(f"/lots/{lot['id']}", headers={"If-None-Match": etag})
    assert changed.status_code == 200 and changed.json() == lot
    assert changed.headers["ETag"] not in (etag, elsewhere.headers["ETag"])

    missing = await viewer.get("/lots/999999", headers={"If-None-Match": etag})
    assert problem(missing, 404)["status"] == 404
