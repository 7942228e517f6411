"""Demo-only endpoints under `/_demo/`: read and reset the stats, read and change faults.

They exist for tests and benchmarks, are neither counted nor faulted, and would not
exist on a real service.
"""

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from demo.faults import Faults
from demo.http import ApiError, json_response
from demo.stats import Stats

_NO_STORE = {"Cache-Control": "no-store"}


def routes(stats: Stats, faults: Faults) -> list[BaseRoute]:
    def stats_body() -> dict[str, object]:
        return {
            "total": stats.total(),
            "routes": stats.by_route(),
            "abandoned": stats.abandoned(),
            "peak_in_flight": stats.peak_in_flight,
        }

    async def get_stats(request: Request) -> Response:
        return json_response(stats_body(), headers=_NO_STORE)

    async def reset(request: Request) -> Response:
        stats.reset()
        return json_response(stats_body(), headers=_NO_STORE)

    async def get_requests(request: Request) -> Response:
        items = [record.to_json() for record in stats.recent()]
        return json_response({"items": items}, headers=_NO_STORE)

    async def get_faults(request: Request) -> Response:
        return json_response(faults.to_json(), headers=_NO_STORE)

    async def put_faults(request: Request) -> Response:
        try:
            changes: object = orjson.loads(await request.body())
            if not isinstance(changes, dict):
                raise ValueError("the body must be a JSON object of settings")
            faults.update(changes)
        except ValueError as error:  # orjson.JSONDecodeError is a ValueError
            raise ApiError(400, "bad_request", str(error)) from None
        return json_response(faults.to_json(), headers=_NO_STORE)

    return [
        Route("/_demo/stats", get_stats),
        Route("/_demo/reset", reset, methods=["POST"]),
        Route("/_demo/requests", get_requests),
        Route("/_demo/faults", get_faults),
        Route("/_demo/faults", put_faults, methods=["PUT"]),
    ]
