"""accounts (port 8101): user profiles, one at a time or in batches."""

from starlette.requests import Request
from starlette.responses import Response

from demo.app import ContractRoute
from demo.http import ApiError, cached_json
from demo.params import ids
from demo.store import Store

CACHE_CONTROL = "private, max-age=30"


class Accounts:
    def __init__(self, store: Store) -> None:
        self._users = store.data.users
        self._documents = store.data.documents

    def routes(self) -> list[ContractRoute]:
        return [
            ContractRoute("GET", "/users/{id}", self.get_user),
            ContractRoute("GET", "/users", self.get_users),
        ]

    async def get_user(self, request: Request) -> Response:
        user_id = request.path_params["id"]
        if user_id not in self._users:
            raise ApiError(404, "not_found", f"no user {user_id}")
        return cached_json(request, self._documents[user_id], CACHE_CONTROL)

    async def get_users(self, request: Request) -> Response:
        found = [self._documents[i] for i in ids(request, "ids") if i in self._users]
        return cached_json(request, {"items": found}, CACHE_CONTROL)
