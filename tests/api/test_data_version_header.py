"""X-Data-Version: a write says which data version it made; reads tagged with the same
version say theirs; a client sending one back is answered from that version or newer."""

import httpx

from tests.api import factories

HEADER = "X-Data-Version"


async def test_a_write_answers_with_the_version_it_committed(inspector: httpx.AsyncClient) -> None:
    supplier = await factories.supplier(inspector)
    first = await inspector.post("/lots", json=factories.lot_body(supplier["id"], lot_number="V-1"))
    second = await inspector.post(
        "/lots", json=factories.lot_body(supplier["id"], lot_number="V-2")
    )
    assert first.status_code == second.status_code == 201
    assert int(second.headers[HEADER]) > int(first.headers[HEADER]) > 0

    summary = await inspector.get("/dashboard/summary", headers={HEADER: second.headers[HEADER]})
    assert summary.status_code == 200
    assert int(summary.headers[HEADER]) >= int(second.headers[HEADER])
    assert summary.json()["lots"] == 2


async def test_a_version_from_the_future_is_read_not_refused(
    inspector: httpx.AsyncClient,
) -> None:
    """A version newer than any (another database, a typo) costs a read, never an error."""
    response = await inspector.get("/lots", headers={HEADER: "999999999999"})
    assert response.status_code == 200


async def test_a_malformed_version_is_a_problem_naming_the_header(
    inspector: httpx.AsyncClient,
) -> None:
    for value in ("yesterday", "-1", "1.5", "9" * 40):
        response = await inspector.get("/dashboard/summary", headers={HEADER: value})
        problem = factories.problem(response, 422)
        assert problem["errors"][0]["field"] == f"header.{HEADER}", value
