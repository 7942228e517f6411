"""Incremental delivery on the wire: `multipart/mixed; deferSpec=20220824`, as Apollo sends it.

Each payload is one part, `Content-Type: application/json; charset=utf-8`,
followed at once by the boundary (`-`), so a reader (Apollo Client's
`HttpLink`, GraphiQL's meros) takes it as soon as it arrives, not when the
next one does; the last boundary is closed with `--`.
See docs/incremental-delivery.md.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Mapping
from typing import Final

import orjson
from starlette.responses import StreamingResponse
from starlette.types import Receive, Scope, Send

from bff.execution.errors import JsonDict
from bff.http.media import DEFER_SPEC
from bff.pipeline.operation import Streamed

CONTENT_TYPE: Final = f'multipart/mixed; boundary="-"; deferSpec={DEFER_SPEC}'
_BOUNDARY: Final = b"\r\n---"
_PART_HEADERS: Final = b"\r\nContent-Type: application/json; charset=utf-8\r\n\r\n"
_END: Final = b"--\r\n"


def part(payload: JsonDict) -> bytes:
    """One payload as a part, its boundary after it."""
    return _PART_HEADERS + orjson.dumps(payload) + _BOUNDARY


async def _body(outcome: Streamed) -> AsyncIterator[bytes]:
    yield _BOUNDARY + part(outcome.initial)
    async for payload in outcome.rest:
        yield part(payload)
    yield _END


class MultipartResponse(StreamingResponse):
    """The parts of one operation; `ended` runs once when the response is done or abandoned."""

    def __init__(
        self, outcome: Streamed, headers: Mapping[str, str], ended: Callable[[], None]
    ) -> None:
        super().__init__(_body(outcome), headers=dict(headers), media_type=CONTENT_TYPE)
        self._outcome = outcome
        self._ended: Callable[[], None] | None = ended

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            await self._outcome.close()
            ended, self._ended = self._ended, None
            if ended is not None:
                ended()
