"""Fixtures: a fresh set of demo services per test, and clients wired to them in-process."""

from collections.abc import AsyncIterator

import httpx
import pytest

from demo.data import DemoData, generate
from demo.services import DemoService, build_services
from tests.demo.support import Connect


@pytest.fixture
def data() -> DemoData:
    return generate(42)


@pytest.fixture
def services() -> dict[str, DemoService]:
    return build_services()


@pytest.fixture
async def connect() -> AsyncIterator[Connect]:
    """Make an `httpx.AsyncClient` talking to a service's ASGI app; closed after the test."""
    clients: list[httpx.AsyncClient] = []

    def client(service: DemoService) -> httpx.AsyncClient:
        transport = httpx.ASGITransport(app=service.app)
        clients.append(httpx.AsyncClient(transport=transport, base_url="http://test"))
        return clients[-1]

    yield client
    for opened in clients:
        await opened.aclose()


@pytest.fixture
def accounts(services: dict[str, DemoService], connect: Connect) -> httpx.AsyncClient:
    return connect(services["accounts"])


@pytest.fixture
def catalog(services: dict[str, DemoService], connect: Connect) -> httpx.AsyncClient:
    return connect(services["catalog"])


@pytest.fixture
def inventory(services: dict[str, DemoService], connect: Connect) -> httpx.AsyncClient:
    return connect(services["inventory"])


@pytest.fixture
def reviews(services: dict[str, DemoService], connect: Connect) -> httpx.AsyncClient:
    return connect(services["reviews"])


@pytest.fixture
def orders(services: dict[str, DemoService], connect: Connect) -> httpx.AsyncClient:
    return connect(services["orders"])


@pytest.fixture
def recommendations(services: dict[str, DemoService], connect: Connect) -> httpx.AsyncClient:
    return connect(services["recommendations"])
