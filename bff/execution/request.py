"""A GraphQL request's parameters, whatever carried them, and who sends it.

Reading them off an HTTP request is `bff.http.reading`'s.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass

from graphql import GraphQLError
from starlette.datastructures import Headers
from starlette.requests import HTTPConnection
from starlette.types import Scope

from bff.execution.errors import RequestFailure
from bff.observability.metrics import UNKNOWN
from clients.errors import ErrorCode

_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")
REQUEST_ID_KEY = "bff.request_id"
"""Where a request's id is kept in its ASGI scope, once `bff.http.last_resort` has given it."""
# No "@": a client name that looks like an address must not become a metric label.
_LABEL = re.compile(r"[A-Za-z0-9._:/+-]{1,64}")


@dataclass(frozen=True, slots=True)
class GraphQLRequest:
    """The request's parameters; `query` may be absent when a persisted id stands in."""

    query: str | None
    variables: Mapping[str, object] | None
    operation_name: str | None
    extensions: Mapping[str, object] | None = None
    document_id: str | None = None


def failure(
    status: int,
    code: ErrorCode | str,
    message: str,
    headers: Mapping[str, str] | None = None,
    *,
    legacy_status: int | None = None,
) -> RequestFailure:
    """A request that cannot run, with one GraphQL error saying why."""
    return RequestFailure(
        status, code, [GraphQLError(message)], headers, legacy_status=legacy_status
    )


def client_of(request: HTTPConnection) -> tuple[str, str]:
    """The calling app's name and version, as Apollo's and generic headers give them."""
    headers = request.headers
    name = headers.get("apollographql-client-name") or headers.get("x-client-name")
    version = headers.get("apollographql-client-version") or headers.get("x-client-version")
    return _label(name), _label(version)


def _label(value: str | None) -> str:
    if not value or not _LABEL.fullmatch(value):
        return UNKNOWN
    return value


def client_id_of(request: HTTPConnection) -> str | None:
    """An anonymous caller's stable id (`X-Client-Id`, set once per install), when well-formed."""
    given = request.headers.get("x-client-id")
    return given if given is not None and _REQUEST_ID.fullmatch(given) else None


def request_id_of(request: HTTPConnection) -> str:
    """The request's id (`request_id_for`)."""
    return request_id_for(request.scope)


def request_id_for(scope: Scope) -> str:
    """The id given to the request already, else the caller's `X-Request-Id` when
    well-formed, else a fresh one."""
    given = scope.get(REQUEST_ID_KEY)
    if isinstance(given, str):
        return given
    sent = Headers(scope=scope).get("x-request-id")
    if sent is not None and _REQUEST_ID.fullmatch(sent):
        return sent
    return os.urandom(16).hex()
