"""A BFF wired to in-process demo services, and ways to talk to it."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable, Iterable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from functools import cache
from typing import Any, TypeVar

import httpx
from opentelemetry.sdk.trace import TracerProvider
from prometheus_client.parser import text_string_to_metric_families
from starlette.applications import Starlette

from bff.config.settings import Settings
from bff.contract.examples import Example
from bff.execution.operations import Operations
from bff.http.app import create_app
from clients.errors import DownstreamError
from demo.identity import IdentityProvider
from demo.services import ALL_NAMES, IDENTITY, DemoService, build_services

Json = Any
"""A decoded GraphQL response: arbitrary JSON, which the tests index freely."""
Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]
"""Prometheus samples by name and sorted labels."""


_T = TypeVar("_T")


def answered(value: _T | DownstreamError) -> _T:
    """A batch read's value for one id, failing the test when the id failed."""
    assert not isinstance(value, DownstreamError), value
    return value


def parsed_metrics(text: str) -> Samples:
    """Prometheus text, as samples by name and sorted labels."""
    return {
        (item.name, tuple(sorted(item.labels.items()))): item.value
        for family in text_string_to_metric_families(text)
        for item in family.samples
    }


def sample(samples: Samples, name: str, **labels: str) -> float:
    """One sample's value; 0 when absent (a counter not yet incremented)."""
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


@dataclass
class Reply:
    status: int
    body: dict[str, Json]
    headers: httpx.Headers

    @property
    def data(self) -> dict[str, Json]:
        data = self.body.get("data")
        assert isinstance(data, dict), self.body
        return data

    @property
    def errors(self) -> list[dict[str, Json]]:
        errors = self.body.get("errors", [])
        assert isinstance(errors, list)
        return errors

    def codes(self) -> list[str]:
        return [error["extensions"]["code"] for error in self.errors]

    def error_at(self, *path: str | int) -> dict[str, Json]:
        for error in self.errors:
            if error.get("path") == list(path):
                return error
        raise AssertionError(f"no error at {list(path)}: {self.errors}")


DEFAULT_SCOPE = "orders:write"


@cache
def _identity() -> IdentityProvider:
    return IdentityProvider()


def signed_in(
    user_id: str, *, scope: str = DEFAULT_SCOPE, roles: tuple[str, ...] = ()
) -> dict[str, str]:
    """Headers carrying a demo-signed bearer token for `user_id`."""
    return {"Authorization": f"Bearer {_identity().sign(user_id, scope=scope, roles=roles)}"}


class Clock:
    """A clock the tests move by hand, to age caches without waiting."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@dataclass
class Harness:
    http: httpx.AsyncClient
    demo: dict[str, DemoService]
    app: Starlette | None = None
    """The BFF app, for tests that read its state (`app.state.operations`)."""

    @property
    def operations(self) -> Operations:
        assert self.app is not None, "this harness was built without its app"
        operations: Operations = self.app.state.operations
        return operations

    async def query(
        self,
        query: str,
        variables: Mapping[str, object] | None = None,
        *,
        headers: Mapping[str, str] | None = None,
        operation_name: str | None = None,
    ) -> Reply:
        payload: dict[str, object] = {"query": query}
        if variables is not None:
            payload["variables"] = dict(variables)
        if operation_name is not None:
            payload["operationName"] = operation_name
        # As current clients do: the media type whose status codes tell request errors apart.
        sent = {"accept": "application/graphql-response+json", **(headers or {})}
        response = await self.http.post("/graphql", json=payload, headers=sent)
        return Reply(response.status_code, response.json(), response.headers)

    async def run(self, example: Example, **variables: object) -> Reply:
        headers = signed_in(example.signed_in_as) if example.signed_in_as else {}
        return await self.query(example.query, {**example.variables, **variables}, headers=headers)

    @property
    def downstream(self) -> dict[str, DemoService]:
        """The contract's services (the identity provider left out)."""
        return {name: service for name, service in self.demo.items() if name != IDENTITY}

    def calls(self) -> int:
        """Downstream requests made so far, counted by the demo services."""
        return sum(service.stats.total() for service in self.downstream.values())

    def calls_by_route(self) -> dict[str, int]:
        """Non-zero request counts keyed by service and route, e.g. `catalog GET /products`."""
        counts: dict[str, int] = {}
        for name, service in self.downstream.items():
            for route, count in service.stats.by_route().items():
                if count:
                    counts[f"{name} {route}"] = count
        return counts

    async def metrics(self) -> Samples:
        """Scrape `/metrics` and parse it."""
        response = await self.http.get("/metrics")
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/plain")
        return parsed_metrics(response.text)

    def reset_calls(self) -> None:
        for service in self.demo.values():
            service.stats.reset()


@asynccontextmanager
async def running_bff(
    env: Mapping[str, str] | None = None,
    *,
    demo: dict[str, DemoService] | None = None,
    transports: Mapping[str, httpx.AsyncBaseTransport] | None = None,
    network: Iterable[str] = (),
    clock: Callable[[], float] = time.monotonic,
    tracer_provider: TracerProvider | None = None,
) -> AsyncIterator[Harness]:
    """The BFF app in-process, its lifespan running, over in-process demo services.

    `transports` overrides the transport to individual services (e.g. a real
    network transport to a closed port, for a stopped service); services named
    in `network` get the BFF's own network transport (TLS settings included);
    `clock` ages the BFF's caches.
    """
    services = demo if demo is not None else build_services(ALL_NAMES)
    wired: dict[str, httpx.AsyncBaseTransport] = {
        name: httpx.ASGITransport(app=service.app) for name, service in services.items()
    }
    wired.update(transports or {})
    for name in network:
        wired.pop(name, None)
    # Usage events are tested where they are the subject; elsewhere they would litter.
    app = create_app(
        Settings.from_environ({"BFF_USAGE_SINK": "none", **(env or {})}),
        transports=wired,
        clock=clock,
        tracer_provider=tracer_provider,
    )
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://bff.test") as http:
            yield Harness(http, services, app)
