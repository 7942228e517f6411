"""What a demo service was asked: request counts per route and a log of recent requests.

Tests and benchmarks assert batching by counting downstream requests, and check
propagated headers (trace context, auth, request ids) in the log. Only contract
endpoints are recorded: `/healthz` and `/_demo/*` never are.
"""

from collections import Counter, deque
from collections.abc import Iterable
from dataclasses import dataclass
from types import MappingProxyType
from typing import Final

from starlette.types import Scope

# Request headers worth asserting on; everything else is left out of the log.
LOGGED_HEADERS: Final = frozenset(
    {
        b"traceparent",
        b"tracestate",
        b"baggage",
        b"authorization",
        b"x-request-id",
        b"idempotency-key",
        b"x-user-id",
        b"x-forwarded-for",
        b"x-request-timeout-ms",
        b"if-none-match",
    }
)
RECENT_LIMIT: Final = 1_000


@dataclass(frozen=True, slots=True)
class RequestRecord:
    route: str
    method: str
    path: str
    query: str
    headers: MappingProxyType[str, str]

    def to_json(self) -> dict[str, object]:
        return {
            "route": self.route,
            "method": self.method,
            "path": self.path,
            "query": self.query,
            "headers": dict(self.headers),
        }


class Stats:
    """Counts per route template (`GET /users/{id}`) and the last `RECENT_LIMIT` requests."""

    def __init__(self, routes: Iterable[str] = ()) -> None:
        # Known routes are reported even while their count is zero.
        self._routes = tuple(routes)
        self._counts: Counter[str] = Counter(dict.fromkeys(self._routes, 0))
        self._gave_up: Counter[str] = Counter()
        self.in_flight = 0
        self.peak_in_flight = 0
        self._recent: deque[RequestRecord] = deque(maxlen=RECENT_LIMIT)

    def record(self, route: str, scope: Scope) -> None:
        self._counts[route] += 1
        headers = {
            name.decode("latin-1"): value.decode("latin-1")
            for name, value in scope["headers"]
            if name in LOGGED_HEADERS
        }
        self._recent.append(
            RequestRecord(
                route=route,
                method=scope["method"],
                path=scope["path"],
                query=scope["query_string"].decode("latin-1"),
                headers=MappingProxyType(headers),
            )
        )

    def entered(self) -> None:
        """A contract request started being answered."""
        self.in_flight += 1
        self.peak_in_flight = max(self.peak_in_flight, self.in_flight)

    def left(self) -> None:
        self.in_flight -= 1

    def gave_up(self, route: str) -> None:
        """A request was abandoned at its caller's deadline."""
        self._gave_up[route] += 1

    def abandoned(self) -> dict[str, int]:
        """Requests abandoned at their caller's deadline, per route."""
        return dict(self._gave_up)

    def total(self) -> int:
        return sum(self._counts.values())

    def by_route(self) -> dict[str, int]:
        return dict(self._counts)

    def recent(self) -> list[RequestRecord]:
        """The logged requests, oldest first."""
        return list(self._recent)

    def reset(self) -> None:
        self._counts = Counter(dict.fromkeys(self._routes, 0))
        self._gave_up.clear()
        self.peak_in_flight = self.in_flight
        self._recent.clear()
