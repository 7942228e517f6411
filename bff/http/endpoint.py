"""The `/graphql` HTTP endpoint: GraphQL over HTTP in, JSON out.

The request is read and its caller identified here; the operation runs
through the pipeline (`bff.pipeline.operation`), whose outcomes this module
maps to statuses (`bff.http.statuses`) and headers. Every failure, down to a
body that is not JSON, is answered with a GraphQL error body
(`errors[].message` and `extensions.code`) and a fitting status, never with
plain text or a traceback.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Mapping

import orjson
from graphql import GraphQLError, OperationType
from starlette.requests import Request
from starlette.responses import Response

from bff.execution.errors import JsonDict, RequestFailure, request_error
from bff.execution.operations import Prepared
from bff.execution.request import (
    GraphQLRequest,
    client_id_of,
    client_of,
    failure,
    request_id_of,
)
from bff.http.media import GRAPHQL_RESPONSE_JSON, JSON, accepts_multipart, negotiate
from bff.http.multipart import MultipartResponse
from bff.http.reading import Entry, read_request
from bff.http.statuses import status_of
from bff.pipeline.admission import refused
from bff.pipeline.operation import (
    Answered,
    Pipeline,
    Refused,
    Streamed,
)
from bff.security.auth import AuthenticationFailed, Authenticator
from bff.security.http_headers import looks_like_csrf
from bff.security.rate_limit import Charge
from clients.errors import ErrorCode
from resolvers.context import Caller

METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]
"""Methods routed here, so that unsupported ones get a GraphQL-shaped 405."""


class GraphQLEndpoint:
    def __init__(
        self,
        pipeline: Pipeline,
        authenticator: Authenticator,
        *,
        graphiql_page: Callable[[], Response] | None = None,
        debug: bool = False,
        max_body_bytes: int,
        csrf_prevention: bool = False,
        max_in_flight: int,
        vary: tuple[str, ...] = (),
        batch_max: int = 0,
        batch_max_cost: int = 0,
    ) -> None:
        self._pipeline = pipeline
        self._batch_max = batch_max
        self._batch_max_cost = batch_max_cost
        self._authenticator = authenticator
        self._telemetry = pipeline.telemetry
        self._graphiql_page = graphiql_page
        self._debug = debug
        self._max_body_bytes = max_body_bytes
        self._csrf_prevention = csrf_prevention
        self._max_in_flight = max_in_flight
        self._in_flight = 0
        # What a shared cache (a CDN in front of GET) must key public responses by.
        self._vary = ", ".join(["Accept", *vary])

    async def handle(self, request: Request) -> Response:
        arrived = time.monotonic()
        if self._graphiql_page is not None and _wants_graphiql(request):
            return self._graphiql_page()
        request_id = request_id_of(request)
        accept = request.headers.get("accept")
        multipart = accepts_multipart(accept)
        media = negotiate(accept) or (JSON if multipart else None)
        if media is None:
            error = request_error(
                GraphQLError(
                    "The Accept header allows no type this endpoint sends: accept "
                    "application/graphql-response+json, application/json or (for @defer "
                    "and @stream) multipart/mixed;deferSpec=20220824."
                ),
                ErrorCode.NOT_ACCEPTABLE,
            )
            return _json({"errors": [error]}, 406, request_id, {}, JSON)
        if self._in_flight >= self._max_in_flight:
            return self._shed(request_id, media)
        self._in_flight += 1
        streaming = False
        detailed = self._debug and request.headers.get("x-bff-debug") == "1"
        client = client_of(request)
        started = time.perf_counter()
        try:
            try:
                caller, charge, graphql_request = await self._read(request)
            except RequestFailure as failed:
                with self._telemetry.operation(
                    request_id=request_id, client=client, detailed=detailed, started=started
                ) as observation:
                    # Refused before the pipeline: the statuses are this edge's own.
                    refusal = failed.refusal
                    observation.error_codes.append(refusal.code)
                    status = (
                        refusal.status if media == GRAPHQL_RESPONSE_JSON else refusal.legacy_status
                    )
                    return _json(
                        {"errors": list(refusal.errors)}, status, request_id, refusal.headers, media
                    )
            if isinstance(graphql_request, list):
                # Each entry is an operation in flight: a batch is shed whole if they do not fit.
                more = len(graphql_request) - 1
                if self._in_flight + more > self._max_in_flight:
                    return self._shed(request_id, media)
                self._in_flight += more
                try:
                    return await self._batch(
                        request, graphql_request, request_id, caller, arrived, media, detailed
                    )
                finally:
                    self._in_flight -= more
            with self._telemetry.operation(
                request_id=request_id, client=client, detailed=detailed, started=started
            ) as observation:
                outcome = await self._pipeline.execute(
                    graphql_request,
                    request_id=request_id,
                    caller=caller,
                    charge=charge,
                    observation=observation,
                    arrived=arrived,
                    subject_id=client_id_of(request),
                    client=client,
                    headers=request.headers,
                    check=_query_only if request.method == "GET" else _any,
                    multipart=multipart,
                )
                if isinstance(outcome, Streamed):
                    # The operation ends with its last part: observed, and counted in flight,
                    # until then.
                    streaming = True
                    return self._streamed(outcome, request_id, observation.keep_open())
                return self._response(outcome, request_id, media)
        finally:
            if not streaming:
                self._in_flight -= 1

    def _streamed(self, outcome: Streamed, request_id: str, finish: Callable[[], None]) -> Response:
        """The parts as a `multipart/mixed` stream; the operation ends when it does."""

        def ended() -> None:
            self._in_flight -= 1
            finish()

        policy = outcome.policy
        headers = {"x-request-id": request_id, "cache-control": policy.header()}
        if policy.shared:
            headers["vary"] = self._vary
        return MultipartResponse(outcome, headers, ended)

    def _shed(self, request_id: str, media: str) -> Response:
        """At capacity: shed at once, as queueing would only make every waiting request late."""
        self._telemetry.metrics.shed.inc()
        error = request_error(
            GraphQLError("The server is at capacity: retry in a moment."),
            ErrorCode.SERVICE_OVERLOADED,
        )
        return _json({"errors": [error]}, 503, request_id, {"retry-after": "1"}, media)

    async def _batch(
        self,
        request: Request,
        entries: list[Entry],
        request_id: str,
        caller: Caller,
        arrived: float,
        media: str,
        detailed: bool,
    ) -> Response:
        """A batch: each entry through the pipeline on its own, concurrently, answered in order.

        An entry refused on its own is answered in its slot, and the batch with 200;
        a batch refused whole (untrusted under the safelist, over its cost) gets one
        error body and 400, which a batching client reads as a failure of every entry.
        """
        pipeline = self._pipeline
        batch = pipeline.batch(
            sum(isinstance(entry, GraphQLRequest) for entry in entries),
            request_id=request_id,
            caller=caller,
            arrived=arrived,
            max_cost=self._batch_max_cost,
        )
        client = client_of(request)
        peer = request.client.host if request.client else None
        forwarded_for = request.headers.get("x-forwarded-for")
        subject_id = client_id_of(request)

        async def one(index: int, entry: Entry) -> bytes:
            with self._telemetry.operation(
                request_id=request_id, client=client, detailed=detailed
            ) as observation:
                observation.batched(len(entries), index)
                # Each entry pays for itself, on the caller's bucket.
                charge = pipeline.charge(caller.user_id, peer, forwarded_for)
                if isinstance(entry, RequestFailure):
                    observation.error_codes.append(entry.code)
                    await refused(charge, entry)
                    return orjson.dumps({"errors": list(entry.refusal.errors)})
                outcome = await pipeline.execute(
                    entry,
                    request_id=request_id,
                    caller=caller,
                    charge=charge,
                    observation=observation,
                    arrived=arrived,
                    subject_id=subject_id,
                    client=client,
                    headers=request.headers,
                    check=_batched,
                    batch=batch,
                )
                if isinstance(outcome, Refused):
                    return orjson.dumps({"errors": list(outcome.refusal.errors)})
                # Not asked for parts (`multipart`): a batch's entries are answered whole.
                assert isinstance(outcome, Answered)
                return outcome.body

        bodies = await asyncio.gather(*(one(index, entry) for index, entry in enumerate(entries)))
        if batch.refusal is not None:
            refusal = batch.refusal.refusal
            return _json({"errors": list(refusal.errors)}, 400, request_id, refusal.headers, media)
        # Entries' policies are not merged: a batch is a POST, which shared caches do not keep.
        return _json_bytes(
            b"[" + b",".join(bodies) + b"]", 200, request_id, {"cache-control": "no-store"}, media
        )

    async def _read(self, request: Request) -> tuple[Caller, Charge, GraphQLRequest | list[Entry]]:
        """Who sends the request, its charge, and the GraphQL request it carries."""
        peer = request.client.host if request.client else None
        forwarded_for = request.headers.get("x-forwarded-for")
        charge = self._pipeline.charge(None, peer, forwarded_for)
        try:
            caller = await self._identify(request)
            charge = self._pipeline.charge(caller.user_id, peer, forwarded_for)
            if self._csrf_prevention and looks_like_csrf(request):
                raise failure(
                    400,
                    ErrorCode.BAD_REQUEST,
                    "This request was refused as a possible cross-site request forgery: send it "
                    "with 'Content-Type: application/json' or an 'Apollo-Require-Preflight' "
                    "header.",
                    legacy_status=400,
                )
            graphql_request = await read_request(request, self._max_body_bytes, self._batch_max)
        except RequestFailure as failed:
            await refused(charge, failed)
            raise
        return caller, charge, graphql_request

    def _response(self, outcome: Answered | Refused, request_id: str, media: str) -> Response:
        """An outcome of the pipeline as an HTTP response."""
        if isinstance(outcome, Refused):
            refusal = outcome.refusal
            body: JsonDict = {"errors": list(refusal.errors)}
            return _json(body, status_of(refusal, media), request_id, refusal.headers, media)
        policy = outcome.policy
        headers = {"cache-control": policy.header()}
        if outcome.age is not None:
            headers["age"] = str(outcome.age)
            headers["vary"] = self._vary
        elif policy.shared:
            headers["vary"] = self._vary
        return _json_bytes(outcome.body, 200, request_id, headers, media)

    async def _identify(self, request: Request) -> Caller:
        try:
            return await self._authenticator.caller(request.headers.get("authorization"))
        except AuthenticationFailed as refused:
            # The description is the BFF's own text: nothing the client sent reaches a header.
            raise failure(
                401,
                ErrorCode.UNAUTHENTICATED,
                refused.message,
                headers={
                    "www-authenticate": f'Bearer error="invalid_token", '
                    f'error_description="{refused.description}"'
                },
            ) from None


def _query_only(prepared: Prepared) -> None:
    """GET runs queries only: a mutation must not be one link away."""
    if prepared.operation_type != OperationType.QUERY:
        raise failure(
            405,
            ErrorCode.METHOD_NOT_ALLOWED,
            "Only queries may be sent by GET; use POST.",
            headers={"allow": "POST"},
        )


def _any(prepared: Prepared) -> None:
    """POST runs any operation HTTP serves."""


def _batched(prepared: Prepared) -> None:
    """A batch runs queries and mutations: a subscription needs a stream of its own."""
    if prepared.operation_type == OperationType.SUBSCRIPTION:
        raise failure(
            400,
            ErrorCode.BAD_REQUEST,
            "Subscriptions are not served in a batch: subscribe over the WebSocket "
            "(graphql-transport-ws).",
        )


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
