"""The `/graphql` HTTP endpoint: GraphQL over HTTP in, JSON out.

Every failure, down to a body that is not JSON, is answered with a GraphQL
error body (`errors[].message` and `extensions.code`) and a fitting status,
never with plain text or a traceback.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import orjson
from graphql import GraphQLError, OperationType
from starlette.requests import Request
from starlette.responses import Response

from bff.auth import AuthenticationFailed, Authenticator
from bff.cache_policy import NOT_CACHEABLE
from bff.errors import JsonDict, format_error, request_error
from bff.http_security import looks_like_csrf
from bff.metrics import UNKNOWN
from bff.observation import Observation, Telemetry
from bff.operations import Operations, RequestFailure
from bff.rate_limit import RateLimiter
from bff.response_cache import ResponseCache
from resolvers.context import Caller, Context

ContextFactory = Callable[[str, Caller, Observation], Context]
"""Builds the per-request context from the request id, the caller and its observation."""

METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]
"""Methods routed here, so that unsupported ones get a GraphQL-shaped 405."""

_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")
# No "@": a client name that looks like an address must not become a metric label.
_LABEL = re.compile(r"[A-Za-z0-9._:/+-]{1,64}")


@dataclass(frozen=True, slots=True)
class GraphQLRequest:
    query: str
    variables: Mapping[str, object] | None
    operation_name: str | None


class GraphQLEndpoint:
    def __init__(
        self,
        operations: Operations,
        make_context: ContextFactory,
        authenticator: Authenticator,
        telemetry: Telemetry,
        *,
        graphiql_page: Response | None = None,
        responses: ResponseCache | None = None,
        debug: bool = False,
        max_body_bytes: int = 100_000,
        rate_limiter: RateLimiter | None = None,
        csrf_prevention: bool = False,
    ) -> None:
        self._operations = operations
        self._make_context = make_context
        self._authenticator = authenticator
        self._telemetry = telemetry
        self._graphiql_page = graphiql_page
        self._responses = responses
        self._debug = debug
        self._max_body_bytes = max_body_bytes
        self._rate_limiter = rate_limiter
        self._csrf_prevention = csrf_prevention

    async def handle(self, request: Request) -> Response:
        if self._graphiql_page is not None and _wants_graphiql(request):
            return self._graphiql_page
        request_id = _request_id(request)
        detailed = self._debug and request.headers.get("x-bff-debug") == "1"
        with self._telemetry.operation(
            request_id=request_id, client=client_of(request), detailed=detailed
        ) as observation:
            try:
                return await self._answer(request, request_id, observation)
            except RequestFailure as failure:
                observation.error_codes.append(failure.code)
                errors = [request_error(error, failure.code) for error in failure.errors]
                return _json({"errors": errors}, failure.status, request_id, failure.headers)

    async def _answer(
        self, request: Request, request_id: str, observation: Observation
    ) -> Response:
        if self._csrf_prevention and looks_like_csrf(request):
            raise _failure(
                400,
                "BAD_REQUEST",
                "This request was refused as a possible cross-site request forgery: send it "
                "with 'Content-Type: application/json' or an 'Apollo-Require-Preflight' header.",
            )
        graphql_request = await read_request(request, self._max_body_bytes)
        caller = await self._identify(request)
        prepared = self._operations.prepare(graphql_request.query, graphql_request.operation_name)
        observation.named(prepared)
        if self._rate_limiter is not None:
            await self._charge(request, caller, prepared.cost)
        if request.method == "GET" and prepared.operation_type != OperationType.QUERY:
            raise _failure(
                405,
                "METHOD_NOT_ALLOWED",
                "Only queries may be sent by GET; use POST.",
                headers={"allow": "POST"},
            )
        cache_key = None
        if self._responses is not None and prepared.policy.shared and not observation.detailed:
            cache_key = self._responses.key(
                prepared.sha256, prepared.operation_name, graphql_request.variables, request.headers
            )
            hit = self._responses.get(cache_key)
            if hit is not None:
                stored, age = hit
                observation.outcome = "ok"
                headers = {"cache-control": prepared.policy.header(), "age": str(age)}
                return _json_bytes(stored.body, 200, request_id, headers)
        context = self._make_context(request_id, caller, observation)
        with self._telemetry.tracer.start_as_current_span("graphql.execute"):
            result = await self._operations.execute(prepared, graphql_request.variables, context)
        body: JsonDict = {"data": result.data}
        policy = prepared.policy
        observation.outcome = "ok"
        if result.errors:
            policy = NOT_CACHEABLE
            answered = result.data and any(value is not None for value in result.data.values())
            observation.outcome = "partial" if answered else "error"
            body["errors"] = errors = [
                format_error(error, default_code="INTERNAL_SERVER_ERROR", request_id=request_id)
                for error in result.errors
            ]
            observation.error_codes += [_code(error) for error in errors]
        if observation.detailed:
            body["extensions"] = {"debug": observation.debug_extension()}
        encoded = orjson.dumps(body)
        if cache_key is not None and policy.shared:
            assert self._responses is not None
            self._responses.put(cache_key, encoded, policy.max_age)
        return _json_bytes(encoded, 200, request_id, {"cache-control": policy.header()})

    async def _charge(self, request: Request, caller: Caller, cost: int) -> None:
        assert self._rate_limiter is not None
        decision = await self._rate_limiter.take(
            user_id=caller.user_id,
            peer=request.client.host if request.client else None,
            forwarded_for=request.headers.get("x-forwarded-for"),
            cost=cost,
        )
        if not decision.allowed:
            raise _failure(
                429,
                "RATE_LIMITED",
                f"Too many requests: try again in {decision.retry_after_header} s.",
                headers={"retry-after": decision.retry_after_header},
            )

    async def _identify(self, request: Request) -> Caller:
        try:
            return await self._authenticator.caller(request.headers.get("authorization"))
        except AuthenticationFailed as failure:
            description = failure.message.replace('"', "'")
            raise _failure(
                401,
                "UNAUTHENTICATED",
                failure.message,
                headers={
                    "www-authenticate": f'Bearer error="invalid_token", '
                    f'error_description="{description}"'
                },
            ) from None


def client_of(request: Request) -> tuple[str, str]:
    """The calling app's name and version, as Apollo's and generic headers give them."""
    headers = request.headers
    name = headers.get("apollographql-client-name") or headers.get("x-client-name")
    version = headers.get("apollographql-client-version") or headers.get("x-client-version")
    return _label(name), _label(version)


def _label(value: str | None) -> str:
    if not value or not _LABEL.fullmatch(value):
        return UNKNOWN
    return value


def _code(error: JsonDict) -> str:
    extensions = error.get("extensions")
    code = extensions.get("code") if isinstance(extensions, dict) else None
    return str(code) if code else "UNKNOWN"


async def read_request(request: Request, max_bytes: int) -> GraphQLRequest:
    """The GraphQL request a GET query string or a JSON POST body carries.

    A body (or query string) over `max_bytes` is refused before it is read
    further, let alone parsed.
    """
    if request.method == "GET":
        if len(request.scope["query_string"]) > max_bytes:
            raise _too_large(max_bytes)
        params = request.query_params
        fields: Mapping[str, object] = {
            "query": params.get("query"),
            "operationName": params.get("operationName"),
            "variables": _json_param(params.get("variables"), "variables"),
        }
    elif request.method == "POST":
        content_type = request.headers.get("content-type", "")
        if "json" not in content_type.split(";")[0]:
            raise _failure(
                415, "BAD_REQUEST", "Send the request as JSON (Content-Type: application/json)."
            )
        body = await _body(request, max_bytes)
        if not body:
            raise _failure(400, "BAD_REQUEST", "The request body is empty; send a JSON object.")
        try:
            decoded = orjson.loads(body)
        except orjson.JSONDecodeError as error:
            raise _failure(
                400, "BAD_REQUEST", f"The request body is not valid JSON: {error}."
            ) from None
        if not isinstance(decoded, dict):
            raise _failure(
                400,
                "BAD_REQUEST",
                "The request body must be a JSON object (batches are not served).",
            )
        fields = decoded
    else:
        raise _failure(
            405,
            "METHOD_NOT_ALLOWED",
            "Send GraphQL requests by GET or POST.",
            headers={"allow": "GET, POST"},
        )
    return _validated(fields)


async def _body(request: Request, max_bytes: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > max_bytes:
        raise _too_large(max_bytes)
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > max_bytes:
            raise _too_large(max_bytes)
        chunks.append(chunk)
    return b"".join(chunks)


def _too_large(max_bytes: int) -> RequestFailure:
    return _failure(
        413,
        "REQUEST_TOO_LARGE",
        f"The request is larger than {max_bytes} bytes, over the limit (set by "
        "BFF_MAX_BODY_BYTES).",
    )


def _validated(fields: Mapping[str, object]) -> GraphQLRequest:
    query = fields.get("query")
    if not isinstance(query, str) or not query.strip():
        raise _failure(400, "BAD_REQUEST", "The request has no `query` string.")
    operation_name = fields.get("operationName")
    if operation_name is not None and not isinstance(operation_name, str):
        raise _failure(400, "BAD_REQUEST", "`operationName` must be a string or null.")
    variables = fields.get("variables")
    if variables is not None and not isinstance(variables, dict):
        raise _failure(400, "BAD_REQUEST", "`variables` must be a JSON object or null.")
    return GraphQLRequest(query, variables, operation_name or None)


def _json_param(raw: str | None, name: str) -> object:
    if raw is None or raw == "":
        return None
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise _failure(400, "BAD_REQUEST", f"The `{name}` parameter is not valid JSON.") from None


def _failure(
    status: int, code: str, message: str, headers: Mapping[str, str] | None = None
) -> RequestFailure:
    return RequestFailure(status, code, [GraphQLError(message)], headers)


def _wants_graphiql(request: Request) -> bool:
    return (
        request.method == "GET"
        and "query" not in request.query_params
        and "text/html" in request.headers.get("accept", "")
    )


def _request_id(request: Request) -> str:
    """The caller's `X-Request-Id` when well-formed, else a fresh one."""
    given = request.headers.get("x-request-id")
    if given is not None and _REQUEST_ID.fullmatch(given):
        return given
    return os.urandom(16).hex()


def _json(body: JsonDict, status: int, request_id: str, headers: Mapping[str, str]) -> Response:
    return _json_bytes(
        orjson.dumps(body), status, request_id, {"cache-control": "no-store", **headers}
    )


def _json_bytes(body: bytes, status: int, request_id: str, headers: Mapping[str, str]) -> Response:
    return Response(
        body,
        status_code=status,
        media_type="application/json",
        headers={"x-request-id": request_id, **headers},
    )
