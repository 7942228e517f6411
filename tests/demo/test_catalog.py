import httpx

from demo.data import DemoData
from tests.demo.support import error_code


async def test_get_product(catalog: httpx.AsyncClient, data: DemoData) -> None:
    response = await catalog.get("/products/p1")
    assert response.status_code == 200
    assert response.headers["cache-control"] == "public, max-age=60"
    assert response.json() == data.products["p1"].to_json()
    assert set(response.json()) == {
        "id", "sku", "name", "description", "categoryId", "priceCents", "currency", "imageUrl",
    }  # fmt: skip


async def test_unknown_product_or_category_is_404(catalog: httpx.AsyncClient) -> None:
    for path in ("/products/p5001", "/products/u1", "/categories/c21", "/categories/p1"):
        response = await catalog.get(path)
        assert response.status_code == 404
        assert error_code(response) == "not_found"


async def test_get_category(catalog: httpx.AsyncClient) -> None:
    kitchen = await catalog.get("/categories/c3")
    assert kitchen.json() == {"id": "c3", "name": "Kitchen", "parentId": None}
    child = await catalog.get("/categories/c8")
    assert child.json()["parentId"] == "c3"
    assert child.headers["cache-control"] == "public, max-age=60"


async def test_get_products_by_ids(catalog: httpx.AsyncClient) -> None:
    response = await catalog.get("/products", params={"ids": "p3,p5001,p1"})
    assert sorted(p["id"] for p in response.json()["items"]) == ["p1", "p3"]

    too_many = ",".join(f"p{n}" for n in range(1, 102))
    response = await catalog.get("/products", params={"ids": too_many})
    assert response.status_code == 400
    assert error_code(response) == "too_many_ids"


async def test_ids_do_not_mix_with_listing(catalog: httpx.AsyncClient) -> None:
    response = await catalog.get("/products", params={"ids": "p1", "category": "c1"})
    assert response.status_code == 400


async def test_listing_pages_cover_a_category_exactly_once(
    catalog: httpx.AsyncClient, data: DemoData
) -> None:
    seen: list[str] = []
    cursor = None
    while True:
        params = {"category": "c3", "limit": "17"} | ({"cursor": cursor} if cursor else {})
        page = (await catalog.get("/products", params=params)).json()
        assert len(page["items"]) <= 17
        seen.extend(product["id"] for product in page["items"])
        cursor = page["nextCursor"]
        if cursor is None:
            break
    assert seen == [product.id for product in data.listings["c3"]]
    assert all(product.category_id == "c3" for product in data.listings["c3"])


async def test_listing_without_category_lists_everything(catalog: httpx.AsyncClient) -> None:
    first = (await catalog.get("/products")).json()
    assert [p["id"] for p in first["items"]] == [f"p{n}" for n in range(1, 21)]
    count, cursor = 20, first["nextCursor"]
    while cursor is not None:
        page = (await catalog.get("/products", params={"limit": 100, "cursor": cursor})).json()
        count += len(page["items"])
        cursor = page["nextCursor"]
    assert count == 5000


async def test_last_page_has_no_cursor(catalog: httpx.AsyncClient) -> None:
    page = (await catalog.get("/products", params={"category": "c1", "limit": 100})).json()
    page = (
        await catalog.get(
            "/products", params={"category": "c1", "limit": 100, "cursor": page["nextCursor"]}
        )
    ).json()
    page = (
        await catalog.get(
            "/products", params={"category": "c1", "limit": 100, "cursor": page["nextCursor"]}
        )
    ).json()
    assert len(page["items"]) == 50
    assert page["nextCursor"] is None


async def test_unknown_category_lists_nothing(catalog: httpx.AsyncClient) -> None:
    page = (await catalog.get("/products", params={"category": "c99"})).json()
    assert page == {"items": [], "nextCursor": None}


async def test_listing_rejects_bad_limits_and_cursors(catalog: httpx.AsyncClient) -> None:
    for params in (
        {"limit": "0"},
        {"limit": "101"},
        {"limit": "ten"},
        {"limit": "-1"},
        {"cursor": "not a cursor"},
        {"cursor": "dTE"},  # base64url of "u1": well-formed, not a product
        {"cursor": "é"},
    ):
        response = await catalog.get("/products", params=params)
        assert response.status_code == 400, params
        assert error_code(response) == "bad_request"
