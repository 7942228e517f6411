"""The app's lifespan closes what it opened: in reverse order, and when starting fails."""

from __future__ import annotations

import httpx
import pytest

from bff.config.settings import Settings
from bff.http.app import create_app
from demo.services import ALL_NAMES, build_services


class Recorded(httpx.AsyncBaseTransport):
    """A transport that notes when it is closed, around another or failing every request."""

    def __init__(self, name: str, closed: list[str], inner: httpx.AsyncBaseTransport | None):
        self._name = name
        self._closed = closed
        self._inner = inner

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if self._inner is None:
            raise RuntimeError("the identity provider is broken")
        return await self._inner.handle_async_request(request)

    async def aclose(self) -> None:
        self._closed.append(self._name)


def _transports(
    closed: list[str], identity: httpx.AsyncBaseTransport | None
) -> dict[str, httpx.AsyncBaseTransport]:
    services = build_services(ALL_NAMES)
    wired: dict[str, httpx.AsyncBaseTransport] = {
        name: httpx.ASGITransport(app=service.app) for name, service in services.items()
    }
    wired["identity"] = Recorded("identity", closed, identity)
    return wired


async def test_a_failure_while_starting_closes_what_was_opened() -> None:
    closed: list[str] = []
    app = create_app(
        Settings.from_environ({"BFF_USAGE_SINK": "none"}), transports=_transports(closed, None)
    )

    with pytest.raises(RuntimeError, match="identity provider is broken"):
        async with app.router.lifespan_context(app):
            pass  # pragma: no cover: the JWKS fetch fails first

    assert closed == ["identity"]


async def test_stopping_drains_first_and_closes_the_identity_client() -> None:
    closed: list[str] = []
    transports = _transports(closed, None)
    transports["identity"] = Recorded(
        "identity", closed, httpx.ASGITransport(app=build_services(("identity",))["identity"].app)
    )
    app = create_app(Settings.from_environ({"BFF_USAGE_SINK": "none"}), transports=transports)

    async with app.router.lifespan_context(app):
        assert not app.state.lifecycle.draining
        assert closed == []

    assert app.state.lifecycle.draining
    assert closed == ["identity"]
