import httpx

from tests.demo.support import error_code


async def test_get_user(accounts: httpx.AsyncClient) -> None:
    response = await accounts.get("/users/u1")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json; charset=utf-8"
    assert response.headers["cache-control"] == "private, max-age=30"
    assert response.json()["name"] == "Ada Lovelace"


async def test_unknown_user_is_404(accounts: httpx.AsyncClient) -> None:
    for path in ("/users/u0", "/users/u1001", "/users/p1"):
        response = await accounts.get(path)
        assert response.status_code == 404
        assert error_code(response) == "not_found"


async def test_get_users_omits_unknown_ids(accounts: httpx.AsyncClient) -> None:
    response = await accounts.get("/users", params={"ids": "u2,nobody,u1,u2"})
    assert response.status_code == 200
    assert sorted(user["id"] for user in response.json()["items"]) == ["u1", "u2"]


async def test_get_users_needs_ids(accounts: httpx.AsyncClient) -> None:
    for params in ({}, {"ids": ""}, {"ids": ",,"}):
        response = await accounts.get("/users", params=params)
        assert response.status_code == 400
        assert error_code(response) == "bad_request"


async def test_get_users_takes_at_most_100_ids(accounts: httpx.AsyncClient) -> None:
    hundred = ",".join(f"u{n}" for n in range(1, 101))
    response = await accounts.get("/users", params={"ids": hundred})
    assert len(response.json()["items"]) == 100

    response = await accounts.get("/users", params={"ids": hundred + ",u101"})
    assert response.status_code == 400
    assert error_code(response) == "too_many_ids"


async def test_batch_order_is_not_request_order(accounts: httpx.AsyncClient) -> None:
    requested = [f"u{n}" for n in range(1, 21)]
    forward = await accounts.get("/users", params={"ids": ",".join(requested)})
    backward = await accounts.get("/users", params={"ids": ",".join(reversed(requested))})
    answered = [user["id"] for user in forward.json()["items"]]
    assert sorted(answered) == sorted(requested)
    assert answered != requested
    assert answered == [user["id"] for user in backward.json()["items"]]
