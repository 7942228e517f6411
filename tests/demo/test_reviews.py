import httpx
import pytest

from demo.data import DemoData
from tests.demo.support import error_code


async def test_reviews_by_product_are_newest_first_and_capped(
    reviews: httpx.AsyncClient, data: DemoData
) -> None:
    busy = [pid for pid, (count, _) in data.ratings.items() if count >= 5][:3]
    response = await reviews.get("/reviews", params={"productIds": ",".join(busy), "limit": 2})
    assert response.status_code == 200
    assert response.headers["cache-control"] == "public, max-age=30"
    items = response.json()["items"]
    assert len(items) == 6
    expected = {r.id for pid in busy for r in data.reviews_by_product[pid][:2]}
    assert {item["id"] for item in items} == expected
    stamps = [item["createdAt"] for item in items]
    assert stamps == sorted(stamps, reverse=True)


async def test_default_limit_is_five(reviews: httpx.AsyncClient, data: DemoData) -> None:
    busy = next(pid for pid, (count, _) in data.ratings.items() if count > 5)
    items = (await reviews.get("/reviews", params={"productIds": busy})).json()["items"]
    assert [item["id"] for item in items] == [r.id for r in data.reviews_by_product[busy][:5]]
    assert items[0] == data.reviews_by_product[busy][0].to_json()


async def test_reviews_by_author_are_grouped(reviews: httpx.AsyncClient, data: DemoData) -> None:
    response = await reviews.get("/reviews", params={"authorIds": "u1,u2,u3", "limit": 3})
    authors = [item["authorId"] for item in response.json()["items"]]
    assert sorted(authors) == sorted(
        r.author_id for uid in ("u1", "u2", "u3") for r in data.reviews_by_author[uid][:3]
    )
    groups = [a for i, a in enumerate(authors) if i == 0 or authors[i - 1] != a]
    assert len(groups) == len(set(groups))


@pytest.mark.parametrize(
    "params",
    [
        {},
        {"productIds": "p1", "authorIds": "u1"},
        {"productIds": "p1", "limit": "0"},
        {"productIds": "p1", "limit": "51"},
        {"productIds": ",".join(f"p{n}" for n in range(1, 102))},
    ],
)
async def test_bad_review_queries_are_400(
    reviews: httpx.AsyncClient, params: dict[str, str]
) -> None:
    response = await reviews.get("/reviews", params=params)
    assert response.status_code == 400
    assert error_code(response) in {"bad_request", "too_many_ids"}


async def test_summary(reviews: httpx.AsyncClient, data: DemoData) -> None:
    unreviewed = next(pid for pid, (count, _) in data.ratings.items() if count == 0)
    response = await reviews.get("/reviews/summary", params={"productIds": f"p1,{unreviewed},p0"})
    assert response.headers["cache-control"] == "public, max-age=30"
    items = {item["productId"]: item for item in response.json()["items"]}
    assert set(items) == {"p1", unreviewed}
    assert items[unreviewed] == {"productId": unreviewed, "average": None, "count": 0}
    ratings = [r.rating for r in data.reviews_by_product["p1"]]
    assert items["p1"]["count"] == len(ratings)
    assert items["p1"]["average"] == round(sum(ratings) / len(ratings), 2)


async def test_summary_needs_product_ids(reviews: httpx.AsyncClient) -> None:
    response = await reviews.get("/reviews/summary")
    assert response.status_code == 400


async def test_posted_review_is_newest_and_counted(
    reviews: httpx.AsyncClient, data: DemoData
) -> None:
    before = (await reviews.get("/reviews/summary", params={"productIds": "p1"})).json()
    draft = {"productId": "p1", "authorId": "u1", "rating": 1, "body": "Snapped in half."}
    response = await reviews.post("/reviews", json=draft)
    assert response.status_code == 201
    review = response.json()
    assert {k: review[k] for k in draft} == draft
    generated = sum(count for count, _ in data.ratings.values())
    assert review["id"] == f"r{generated + 1}"  # generated ids are r1..r{generated}
    assert review["createdAt"].endswith("Z")

    after = (await reviews.get("/reviews/summary", params={"productIds": "p1"})).json()
    assert after["items"][0]["count"] == before["items"][0]["count"] + 1
    assert after["items"][0]["average"] < before["items"][0]["average"]
    newest = (await reviews.get("/reviews", params={"productIds": "p1", "limit": 1})).json()
    assert newest["items"] == [review]
    by_author = (await reviews.get("/reviews", params={"authorIds": "u1", "limit": 1})).json()
    assert by_author["items"] == [review]


@pytest.mark.parametrize(
    "draft",
    [
        {"productId": "p1", "authorId": "u1", "rating": 0, "body": "x"},
        {"productId": "p1", "authorId": "u1", "rating": 6, "body": "x"},
        {"productId": "p1", "authorId": "u1", "rating": 4.5, "body": "x"},
        {"productId": "p1", "authorId": "u1", "rating": True, "body": "x"},
        {"productId": "p1", "authorId": "u1", "rating": "5", "body": "x"},
        {"productId": "p1", "authorId": "u1", "rating": 5, "body": "   "},
        {"productId": "p1", "authorId": "u1", "rating": 5, "body": "x" * 5001},
        {"productId": "p1", "authorId": "u1", "rating": 5},
        {"productId": "p9999", "authorId": "u1", "rating": 5, "body": "x"},
        {"productId": "p1", "authorId": "u9999", "rating": 5, "body": "x"},
        {"productId": 1, "authorId": "u1", "rating": 5, "body": "x"},
        ["not", "an", "object"],
    ],
)
async def test_invalid_review_is_422(
    reviews: httpx.AsyncClient, data: DemoData, draft: object
) -> None:
    response = await reviews.post("/reviews", json=draft)
    assert response.status_code == 422
    assert error_code(response) == "invalid"
    summary = (await reviews.get("/reviews/summary", params={"productIds": "p1"})).json()
    assert summary["items"][0]["count"] == data.ratings["p1"][0]  # nothing was written


async def test_longest_allowed_review_is_accepted(reviews: httpx.AsyncClient) -> None:
    draft = {"productId": "p2", "authorId": "u2", "rating": 5, "body": "y" * 5000}
    assert (await reviews.post("/reviews", json=draft)).status_code == 201


async def test_non_json_review_is_400(reviews: httpx.AsyncClient) -> None:
    response = await reviews.post("/reviews", content=b"rating=5")
    assert response.status_code == 400
    assert error_code(response) == "bad_request"
