"""The `/graphql` HTTP endpoint: GraphQL over HTTP in, JSON out.

Every failure, down to a body that is not JSON, is answered with a GraphQL
error body (`errors[].message` and `extensions.code`) and a fitting status,
never with plain text or a traceback.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping

import orjson
from graphql import GraphQLError, OperationType
from starlette.requests import Request
from starlette.responses import Response

from bff.contract.persisted import PersistedQueries
from bff.execution.cache_policy import NOT_CACHEABLE
from bff.execution.errors import JsonDict, RequestFailure, format_error, request_error
from bff.execution.operations import Operations
from bff.execution.request import client_id_of, client_of, failure, read_request, request_id_of
from bff.execution.response_cache import ResponseCache
from bff.http.media import GRAPHQL_RESPONSE_JSON, JSON, negotiate
from bff.pipeline.admission import admit, refused
from bff.pipeline.observation import Observation, Telemetry
from bff.security.auth import AuthenticationFailed, Authenticator
from bff.security.http_headers import looks_like_csrf
from bff.security.rate_limit import FREE, Charge, RateLimiter
from resolvers.context import Caller, Context
from resolvers.experiments import Subject

ContextFactory = Callable[[str, Caller, Observation, float, Subject], Context]
"""Builds the per-request context from the request id, the caller, its observation,
its deadline (`time.monotonic()` by which it must be answered) and who it is for
experiments."""

METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]
"""Methods routed here, so that unsupported ones get a GraphQL-shaped 405."""


class GraphQLEndpoint:
    def __init__(
        self,
        operations: Operations,
        make_context: ContextFactory,
        authenticator: Authenticator,
        telemetry: Telemetry,
        *,
        graphiql_page: Callable[[], Response] | None = None,
        responses: ResponseCache | None = None,
        debug: bool = False,
        max_body_bytes: int,
        rate_limiter: RateLimiter | None = None,
        csrf_prevention: bool = False,
        budget_for: Callable[[str | None], float],
        max_in_flight: int,
        persisted: PersistedQueries | None = None,
        vary: tuple[str, ...] = (),
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
        self._budget_for = budget_for
        self._max_in_flight = max_in_flight
        self._in_flight = 0
        self._persisted = persisted or PersistedQueries(None)
        # What a shared cache (a CDN in front of GET) must key public responses by.
        self._vary = ", ".join(["Accept", *vary])

    async def handle(self, request: Request) -> Response:
        arrived = time.monotonic()
        if self._graphiql_page is not None and _wants_graphiql(request):
            return self._graphiql_page()
        request_id = request_id_of(request)
        media = negotiate(request.headers.get("accept"))
        if media is None:
            error = request_error(
                GraphQLError(
                    "The Accept header allows no type this endpoint sends: accept "
                    "application/graphql-response+json or application/json."
                ),
                "NOT_ACCEPTABLE",
            )
            return _json({"errors": [error]}, 406, request_id, {}, JSON)
        if self._in_flight >= self._max_in_flight:
            # Shed at once: queueing would only make every waiting request late.
            self._telemetry.metrics.shed.inc()
            error = request_error(
                GraphQLError("The server is at capacity: retry in a moment."), "SERVICE_OVERLOADED"
            )
            return _json({"errors": [error]}, 503, request_id, {"retry-after": "1"}, media)
        self._in_flight += 1
        detailed = self._debug and request.headers.get("x-bff-debug") == "1"
        try:
            with self._telemetry.operation(
                request_id=request_id, client=client_of(request), detailed=detailed
            ) as observation:
                try:
                    return await self._answer(request, request_id, observation, arrived, media)
                except RequestFailure as failed:
                    refusal = failed.refusal
                    observation.error_codes.append(refusal.code)
                    status = (
                        refusal.status if media == GRAPHQL_RESPONSE_JSON else refusal.legacy_status
                    )
                    body: JsonDict = {"errors": list(refusal.errors)}
                    return _json(body, status, request_id, refusal.headers, media)
        finally:
            self._in_flight -= 1

    async def _answer(
        self,
        request: Request,
        request_id: str,
        observation: Observation,
        arrived: float,
        media: str,
    ) -> Response:
        charge = self._charge(request, None)
        try:
            caller = await self._identify(request)
            charge = self._charge(request, caller.user_id)
            if self._csrf_prevention and looks_like_csrf(request):
                raise failure(
                    400,
                    "BAD_REQUEST",
                    "This request was refused as a possible cross-site request forgery: send it "
                    "with 'Content-Type: application/json' or an 'Apollo-Require-Preflight' "
                    "header.",
                    legacy_status=400,
                )
            graphql_request = await read_request(request, self._max_body_bytes)
            prepared = await admit(graphql_request, self._persisted, self._operations, charge)
        except RequestFailure as failed:
            await refused(charge, failed)
            raise
        observation.named(prepared)
        if request.method == "GET" and prepared.operation_type != OperationType.QUERY:
            raise failure(
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
                headers = {
                    "cache-control": prepared.policy.header(),
                    "age": str(age),
                    "vary": self._vary,
                }
                return _json_bytes(stored.body, 200, request_id, headers, media)
        deadline = arrived + self._budget_for(prepared.operation_name)
        client_name, client_version = client_of(request)
        subject = Subject(caller.user_id or client_id_of(request), client_name, client_version)
        context = self._make_context(request_id, caller, observation, deadline, subject)
        with self._telemetry.tracer.start_as_current_span("graphql.execute"):
            result = await self._operations.execute(prepared, graphql_request.variables, context)
        observation.variants = context.experiments.served
        body: JsonDict = {"data": result.data}
        policy = prepared.policy
        observation.outcome = "ok"
        extensions: JsonDict = {}
        degraded = observation.degraded
        if degraded:
            # Stale data is still data, but neither fresh nor to be cached.
            policy = NOT_CACHEABLE
            observation.outcome = "degraded"
            extensions["degraded"] = degraded
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
            extensions["debug"] = observation.debug_extension()
        if extensions:
            body["extensions"] = extensions
        encoded = orjson.dumps(body)
        if cache_key is not None and policy.shared:
            assert self._responses is not None
            self._responses.put(cache_key, encoded, policy.max_age)
        headers = {"cache-control": policy.header()}
        if policy.shared:
            headers["vary"] = self._vary
        return _json_bytes(encoded, 200, request_id, headers, media)

    def _charge(self, request: Request, user_id: str | None) -> Charge:
        """The request's charge on its caller's bucket: the address's while nobody is known."""
        if self._rate_limiter is None:
            return FREE
        return self._rate_limiter.charge(
            user_id=user_id,
            peer=request.client.host if request.client else None,
            forwarded_for=request.headers.get("x-forwarded-for"),
        )

    async def _identify(self, request: Request) -> Caller:
        try:
            return await self._authenticator.caller(request.headers.get("authorization"))
        except AuthenticationFailed as refused:
            # The description is the BFF's own text: nothing the client sent reaches a header.
            raise failure(
                401,
                "UNAUTHENTICATED",
                refused.message,
                headers={
                    "www-authenticate": f'Bearer error="invalid_token", '
                    f'error_description="{refused.description}"'
                },
            ) from None


def _code(error: JsonDict) -> str:
    extensions = error.get("extensions")
    code = extensions.get("code") if isinstance(extensions, dict) else None
    return str(code) if code else "UNKNOWN"


def _wants_graphiql(request: Request) -> bool:
    return (
        request.method == "GET"
        and "query" not in request.query_params
        and "text/html" in request.headers.get("accept", "")
    )


def _json(
    body: JsonDict, status: int, request_id: str, headers: Mapping[str, str], media: str
) -> Response:
    return _json_bytes(
        orjson.dumps(body), status, request_id, {"cache-control": "no-store", **headers}, media
    )


def _json_bytes(
    body: bytes, status: int, request_id: str, headers: Mapping[str, str], media: str
) -> Response:
    return Response(
        body,
        status_code=status,
        media_type=f"{media}; charset=utf-8",
        headers={"x-request-id": request_id, **headers},
    )
