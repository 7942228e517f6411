from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest

from demo.launch import DemoProcess, launch
from tests.harness import Harness, running_bff


@pytest.fixture
async def bff() -> AsyncIterator[Harness]:
    """The BFF with default settings over fresh in-process demo services."""
    async with running_bff() as harness:
        yield harness


@pytest.fixture(scope="session")
def _shared_stack() -> Iterator[DemoProcess]:
    stack = launch()
    try:
        yield stack
    finally:
        stack.stop()


@pytest.fixture
def stack(_shared_stack: DemoProcess) -> DemoProcess:
    """Demo services on loopback ports (one process per test session), faults cleared."""
    _shared_stack.reset()
    return _shared_stack
