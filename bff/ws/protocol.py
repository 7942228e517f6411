"""GraphQL over WebSocket on the wire: subprotocols, messages and close codes.

See docs/subscriptions.md.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import orjson

from bff.execution.request import GraphQLRequest

Message = Mapping[str, object]


class CloseCode:
    """Close codes of the protocol (RFC 6455 ones below 4000)."""

    GOING_AWAY = 1001
    TOO_BIG = 1009
    TRY_AGAIN_LATER = 1013
    BAD_REQUEST = 4400
    UNAUTHORIZED = 4401
    FORBIDDEN = 4403
    SUBPROTOCOL_NOT_ACCEPTABLE = 4406
    INIT_TIMEOUT = 4408
    SUBSCRIBER_EXISTS = 4409
    TOO_MANY_INITS = 4429
    INTERNAL = 4500


@dataclass(frozen=True, slots=True)
class Dialect:
    protocol: str
    subscribe: str
    stop: str
    next: str
    keepalive: str
    legacy: bool


TRANSPORT_WS = Dialect(
    "graphql-transport-ws", "subscribe", "complete", "next", "ping", legacy=False
)
LEGACY_WS = Dialect("graphql-ws", "start", "stop", "data", "ka", legacy=True)


def negotiate(offered: Iterable[str]) -> Dialect | None:
    """The dialect for the subprotocols a client offers, the current one first."""
    names = set(offered)
    return next((d for d in (TRANSPORT_WS, LEGACY_WS) if d.protocol in names), None)


class ProtocolError(Exception):
    """A message breaks the protocol: the socket closes with `code` and the message."""

    def __init__(self, reason: str, code: int = CloseCode.BAD_REQUEST) -> None:
        super().__init__(reason)
        self.reason = reason
        self.code = code


def parse(raw: str) -> Message:
    """A message: a JSON object with a string `type`."""
    try:
        decoded = orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise ProtocolError("Invalid message received: not JSON") from None
    if not isinstance(decoded, dict) or not isinstance(decoded.get("type"), str):
        raise ProtocolError("Invalid message received: no message type")
    return decoded


def payload_of(message: Message) -> Mapping[str, object]:
    """A `connection_init` payload: an object, or nothing."""
    payload = message.get("payload")
    if payload is None:
        return {}
    if not isinstance(payload, dict):
        raise ProtocolError("Invalid message received: the payload must be an object")
    return payload


def operation_id(message: Message) -> str:
    found = message.get("id")
    if not isinstance(found, str) or not found:
        raise ProtocolError(f"Invalid message received: {message['type']} needs an id")
    return found


def subscribe_request(message: Message) -> GraphQLRequest:
    """The GraphQL request a `subscribe` (or `start`) message carries."""
    payload = message.get("payload")
    if not isinstance(payload, dict):
        raise ProtocolError("Invalid message received: subscribe needs a payload object")
    query = payload.get("query")
    variables = payload.get("variables")
    name = payload.get("operationName")
    if not isinstance(query, str) or not query.strip():
        raise ProtocolError("Invalid message received: the payload has no query")
    if variables is not None and not isinstance(variables, dict):
        raise ProtocolError("Invalid message received: variables must be an object")
    if name is not None and not isinstance(name, str):
        raise ProtocolError("Invalid message received: operationName must be a string")
    return GraphQLRequest(query, variables, name or None)


def encode(message: Message) -> str:
    return orjson.dumps(message).decode()
