from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest

from tests.harness import Harness, running_bff
from tests.loopback import DemoStack, demo_stack


@pytest.fixture
async def bff() -> AsyncIterator[Harness]:
    """The BFF with default settings over fresh in-process demo services."""
    async with running_bff() as harness:
        yield harness


@pytest.fixture(scope="session")
def _shared_stack() -> Iterator[DemoStack]:
    with demo_stack() as stack:
        yield stack


@pytest.fixture
def stack(_shared_stack: DemoStack) -> DemoStack:
    """Demo services on loopback ports (one process per test session), faults cleared."""
    _shared_stack.reset()
    return _shared_stack
