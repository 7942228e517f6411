"""Shared assertions and types for the demo service tests."""

from collections.abc import Callable

import httpx

from demo.services import DemoService

Connect = Callable[[DemoService], httpx.AsyncClient]


def error_code(response: httpx.Response) -> str:
    """The contract's error code, after checking the error body's shape."""
    body = response.json()
    assert set(body) == {"error"}
    assert isinstance(body["error"]["message"], str)
    code = body["error"]["code"]
    assert isinstance(code, str)
    return code
