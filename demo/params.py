"""Reading what a request asks for: batch ids, limits, JSON bodies; 400 when malformed."""

import zlib
from collections.abc import Mapping

import orjson
from starlette.requests import Request

from demo.http import ApiError

MAX_IDS = 100


def optional_ids(request: Request, name: str) -> list[str] | None:
    """The distinct ids of a comma-separated batch parameter, or None when it is absent.

    The contract says batch order is not guaranteed; to keep clients honest the ids come
    back in a fixed order unrelated to the request's (sorted by CRC-32), and endpoints
    answer in that order. Repeating the parameter (`?ids=a&ids=b`) is the same as
    `?ids=a,b`; duplicates count once towards the cap.
    """
    values = request.query_params.getlist(name)
    if not values:
        return None
    distinct = dict.fromkeys(
        part.strip() for value in values for part in value.split(",") if part.strip()
    )
    if not distinct:
        raise ApiError(400, "bad_request", f"{name} names no ids")
    if len(distinct) > MAX_IDS:
        raise ApiError(
            400, "too_many_ids", f"{name} names {len(distinct)} ids; at most {MAX_IDS} allowed"
        )
    return sorted(distinct, key=lambda entity_id: zlib.crc32(entity_id.encode()))


def ids(request: Request, name: str) -> list[str]:
    """Like `optional_ids`, for an endpoint that cannot answer without them."""
    found = optional_ids(request, name)
    if found is None:
        raise ApiError(400, "bad_request", f"{name} is required")
    return found


def limit(request: Request, *, default: int, maximum: int) -> int:
    raw = request.query_params.get("limit")
    if raw is None:
        return default
    if not (raw.isascii() and raw.isdigit()) or not 1 <= int(raw) <= maximum:
        raise ApiError(400, "bad_request", f"limit must be an integer from 1 to {maximum}")
    return int(raw)


async def json_object(request: Request) -> Mapping[str, object]:
    """The body as a JSON object: 400 when it is not JSON, 422 when it is not an object."""
    try:
        body: object = orjson.loads(await request.body())
    except orjson.JSONDecodeError:
        raise ApiError(400, "bad_request", "the body is not valid JSON") from None
    if not isinstance(body, dict):
        raise ApiError(422, "invalid", "the body must be a JSON object")
    return body
