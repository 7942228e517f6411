import httpx

from demo.data import DemoData
from tests.demo.support import error_code


async def test_get_stock(inventory: httpx.AsyncClient, data: DemoData) -> None:
    response = await inventory.get("/stock", params={"productIds": "p1,p2,p9999"})
    assert response.status_code == 200
    assert response.headers["cache-control"] == "public, max-age=5"
    items = sorted(response.json()["items"], key=lambda item: str(item["productId"]))
    assert items == [data.stock["p1"].to_json(), data.stock["p2"].to_json()]


async def test_get_stock_needs_product_ids(inventory: httpx.AsyncClient) -> None:
    response = await inventory.get("/stock")
    assert response.status_code == 400
    assert error_code(response) == "bad_request"


async def test_get_stock_takes_at_most_100_ids(inventory: httpx.AsyncClient) -> None:
    ids = ",".join(f"p{n}" for n in range(1, 102))
    response = await inventory.get("/stock", params={"productIds": ids})
    assert response.status_code == 400
    assert error_code(response) == "too_many_ids"
