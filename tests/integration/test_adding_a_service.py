"""A seventh service, declared once, reaches the registry, /readyz and a client call.

The walk-through is docs/adding-a-service.md; this test does it with a small
service of its own, reached in-process as the demo services are.
"""

from __future__ import annotations

from dataclasses import dataclass

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from bff.config.settings import Settings
from bff.http.health import Readiness
from bff.pipeline.lifecycle import Lifecycle
from clients.base import ServiceClient
from clients.decoding import JsonObject, integer, text
from clients.http import CallScope, ServiceConfig
from clients.registry import DOWNSTREAM, SERVICES, Clients, Service, open_clients
from demo.services import ALL_NAMES, DEFAULT_PORTS, SERVICE_NAMES, build_services


@dataclass(frozen=True, slots=True)
class Forecast:
    city: str
    high_c: int

    @classmethod
    def from_json(cls, obj: JsonObject) -> Forecast:
        return cls(city=text(obj, "city"), high_c=integer(obj, "highC"))


class WeatherClient(ServiceClient):
    async def get_forecast(self, city: str) -> Forecast:
        return await self.get(
            "/forecasts/{id}", Forecast.from_json, resource="forecast", key=city, path={"id": city}
        )


WEATHER = Service("weather", WeatherClient, port=8108, health_path="/ping")


def weather_app(state: dict[str, bool]) -> Starlette:
    async def ping(request: Request) -> JSONResponse:
        return JSONResponse({"ok": True}, status_code=200 if state["up"] else 503)

    async def forecast(request: Request) -> JSONResponse:
        return JSONResponse({"city": request.path_params["city"], "highC": 21})

    return Starlette(
        routes=[Route("/ping", ping), Route("/forecasts/{city}", forecast)],
    )


def open_with_weather(state: dict[str, bool]) -> Clients:
    """The six services of the table plus the test's own, all in-process."""
    configs = {
        **Settings.from_environ({}).services,
        WEATHER.name: ServiceConfig(base_url=WEATHER.default_url, health_path=WEATHER.health_path),
    }
    transports: dict[str, httpx.AsyncBaseTransport] = {
        name: httpx.ASGITransport(app=service.app)
        for name, service in build_services(ALL_NAMES).items()
    }
    transports[WEATHER.name] = httpx.ASGITransport(app=weather_app(state))
    return open_clients(configs, transports, services=(*DOWNSTREAM, WEATHER))


async def readyz(clients: Clients, required: frozenset[str] | None = None) -> httpx.Response:
    readiness = Readiness(lambda: clients, 1.0, Lifecycle(), required)
    app = Starlette(routes=[Route("/readyz", readiness.readyz)])
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://bff.test") as http:
        return await http.get("/readyz")


def test_the_table_declares_each_service_once_and_the_settings_follow_it() -> None:
    settings = Settings.from_environ({})

    assert tuple(service.name for service in DOWNSTREAM) == SERVICES
    assert list(settings.services) == list(SERVICES)
    for service in DOWNSTREAM:
        config = settings.services[service.name]
        assert config.base_url == f"http://127.0.0.1:{service.port}"
        assert config.health_path == service.health_path
    assert Clients.catalog is next(s for s in DOWNSTREAM if s.name == "catalog")


def test_the_demo_serves_each_service_on_its_declared_port() -> None:
    assert SERVICE_NAMES == SERVICES
    assert {name: DEFAULT_PORTS[name] for name in SERVICES} == {s.name: s.port for s in DOWNSTREAM}
    assert len(set(DEFAULT_PORTS.values())) == len(DEFAULT_PORTS)


async def test_an_added_service_is_opened_probed_and_called() -> None:
    state = {"up": True}
    clients = open_with_weather(state)
    try:
        assert list(clients) == [*SERVICES, "weather"]
        weather = clients[WEATHER]
        assert isinstance(weather, WeatherClient)
        assert clients.circuits()["weather"] == "closed"

        forecast = await weather.get_forecast("lisbon")
        ready = await readyz(clients)
        state["up"] = False
        down = await readyz(clients)
        gated_elsewhere = await readyz(clients, frozenset({"catalog"}))
    finally:
        await clients.aclose()

    assert forecast == Forecast(city="lisbon", high_c=21)
    assert ready.status_code == 200
    assert ready.json()["services"] == {**dict.fromkeys(SERVICES, "up"), "weather": "up"}
    assert down.status_code == 503
    assert down.json()["down"] == ["weather"]
    assert gated_elsewhere.status_code == 200
    assert gated_elsewhere.json()["services"]["weather"] == "down"


async def test_typed_access_reads_the_same_client_as_the_table() -> None:
    clients = open_with_weather({"up": True})
    try:
        assert clients.orders is clients[Clients.orders]
        assert clients.orders is clients.all()["orders"]
        scoped = clients.scoped(CallScope(request_id="r1"))
        assert list(scoped) == list(clients)
        assert scoped.catalog is not clients.catalog
        assert type(scoped[WEATHER]) is WeatherClient
    finally:
        await clients.aclose()
