import httpx
import pytest

from demo.data import DemoData
from tests.demo.support import error_code


async def test_popular_is_the_default(recommendations: httpx.AsyncClient, data: DemoData) -> None:
    response = await recommendations.get("/recommendations/u1")
    assert response.status_code == 200
    assert response.headers["cache-control"] == "private, max-age=60"
    body = response.json()
    assert body["model"] == "popular"
    assert len(body["productIds"]) == 10
    counts = [data.ratings[pid][0] for pid in body["productIds"]]
    assert counts == sorted(counts, reverse=True)
    assert counts[-1] >= max(
        count for pid, (count, _) in data.ratings.items() if pid not in body["productIds"]
    )


async def test_similar_follows_the_users_categories(
    recommendations: httpx.AsyncClient, data: DemoData
) -> None:
    response = await recommendations.get(
        "/recommendations/u1", params={"model": "similar", "limit": 20}
    )
    body = response.json()
    assert body["model"] == "similar"
    assert len(body["productIds"]) == 20
    bought = {line.product_id for o in data.orders_by_user["u1"] for line in o.lines}
    categories = {data.products[pid].category_id for pid in bought}
    assert not bought & set(body["productIds"])
    assert {data.products[pid].category_id for pid in body["productIds"]} <= categories
    again = await recommendations.get(
        "/recommendations/u1", params={"model": "similar", "limit": 20}
    )
    assert again.json() == body


@pytest.mark.parametrize("user", ["u9999", "anonymous"])
async def test_unknown_users_get_popular(recommendations: httpx.AsyncClient, user: str) -> None:
    popular = (await recommendations.get("/recommendations/u1")).json()
    response = await recommendations.get(f"/recommendations/{user}", params={"model": "similar"})
    assert response.json() == popular


async def test_users_without_orders_get_popular(
    recommendations: httpx.AsyncClient, data: DemoData
) -> None:
    idle = next(uid for uid in data.users if uid not in data.orders_by_user)
    response = await recommendations.get(f"/recommendations/{idle}", params={"model": "similar"})
    assert response.json()["model"] == "popular"


@pytest.mark.parametrize("params", [{"model": "trending"}, {"limit": "0"}, {"limit": "51"}])
async def test_bad_recommendation_queries_are_400(
    recommendations: httpx.AsyncClient, params: dict[str, str]
) -> None:
    response = await recommendations.get("/recommendations/u1", params=params)
    assert response.status_code == 400
    assert error_code(response) == "bad_request"


async def test_new_reviews_make_a_product_popular(
    recommendations: httpx.AsyncClient, reviews: httpx.AsyncClient, data: DemoData
) -> None:
    ranked = (await recommendations.get("/recommendations/u1", params={"limit": 11})).json()
    tenth, eleventh = ranked["productIds"][9], ranked["productIds"][10]
    for _ in range(data.ratings[tenth][0] - data.ratings[eleventh][0] + 1):
        draft = {"productId": eleventh, "authorId": "u1", "rating": 5, "body": "Again!"}
        assert (await reviews.post("/reviews", json=draft)).status_code == 201
    top = (await recommendations.get("/recommendations/u1")).json()["productIds"]
    assert eleventh in top
    assert tenth not in top
