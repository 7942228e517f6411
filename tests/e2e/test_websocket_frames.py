"""`bff serve` holds WebSocket frames to `BFF_MAX_BODY_BYTES` in uvicorn's protocol layer."""

from __future__ import annotations

import pytest
from websockets.asyncio.client import connect
from websockets.frames import Frame, Opcode
from websockets.typing import Subprotocol

from tests.sockets import PATIENCE_S, Socket

pytestmark = pytest.mark.e2e

DECLARED_BYTES = 8 * 1024 * 1024
"""Far over the body limit, and under uvicorn's own default of 16 MiB."""


async def test_a_frame_over_the_body_limit_is_refused_from_its_header(bff_url: str) -> None:
    url = bff_url.replace("http://", "ws://") + "/graphql"
    async with connect(
        url, subprotocols=[Subprotocol("graphql-transport-ws")], open_timeout=PATIENCE_S
    ) as connection:
        frame = Frame(Opcode.TEXT, b"x" * DECLARED_BYTES).serialize(mask=True)
        # The header and a few bytes only: a server reading frames whole before
        # checking them would wait for the rest, and never close.
        connection.transport.write(frame[:1024])
        closed = await Socket(connection).closed()

    assert closed[0] == 1009
