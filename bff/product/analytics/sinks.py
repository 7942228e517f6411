"""Where usage events go, and how they are read back for reports.

JSON lines, Redis Streams, stdout (see docs/usage.md).
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Iterator, Sequence
from datetime import datetime
from pathlib import Path
from typing import Final, Protocol
from urllib.parse import parse_qs, urlsplit, urlunsplit

import orjson
import redis
from redis.asyncio import Redis

from bff.config.settings import ProductSettings
from bff.product.analytics.events import JsonObject, event_time
from bff.product.analytics.files import RotatingFile, open_all

DEFAULTS = ProductSettings()
"""The declared usage settings (`bff.config.settings`), what the defaults here come from."""
DEFAULT_STREAM: Final = DEFAULTS.usage_stream
_READ_CHUNK: Final = 1000


class Sink(Protocol):
    async def write(self, events: Sequence[JsonObject]) -> None: ...


def _lines(events: Sequence[JsonObject]) -> bytes:
    return b"".join(orjson.dumps(event) + b"\n" for event in events)


class JsonLinesSink:
    def __init__(
        self,
        path: Path,
        *,
        max_bytes: int = DEFAULTS.usage_file_max_bytes,
        keep: int = DEFAULTS.usage_file_keep,
    ) -> None:
        self.file = RotatingFile(path, max_bytes=max_bytes, keep=keep)

    async def write(self, events: Sequence[JsonObject]) -> None:
        await asyncio.to_thread(self.file.append, _lines(events))


class RedisStreamSink:
    def __init__(
        self, client: Redis, stream: str = DEFAULT_STREAM, *, max_length: int = 1_000_000
    ) -> None:
        self._redis = client
        self._stream = stream
        self._max_length = max_length

    async def write(self, events: Sequence[JsonObject]) -> None:
        async with self._redis.pipeline(transaction=False) as pipeline:
            for event in events:
                pipeline.xadd(
                    self._stream,
                    {"event": orjson.dumps(event)},
                    maxlen=self._max_length,
                    approximate=True,
                )
            await pipeline.execute()


class StdoutSink:
    async def write(self, events: Sequence[JsonObject]) -> None:
        sys.stdout.buffer.write(_lines(events))
        sys.stdout.buffer.flush()


def read_events(source: str, since: datetime | None = None) -> Iterator[JsonObject]:
    """The records a sink holds, oldest first, from `since` on when given.

    A file is read with its rotated copies (`usage.jsonl.2`, `.1`, then itself).
    """
    if source.startswith(("redis://", "rediss://")):
        yield from _read_stream(source, since)
        return
    with open_all(Path(source)) as files:
        for lines in files:
            for line in lines:
                if not line.strip():
                    continue
                try:
                    event = orjson.loads(line)
                except orjson.JSONDecodeError:
                    continue  # a line cut short by a crash: skip it, keep the rest
                if isinstance(event, dict) and _after(event, since):
                    yield event


def _read_stream(url: str, since: datetime | None) -> Iterator[JsonObject]:
    parts = urlsplit(url)
    stream = parse_qs(parts.query).get("stream", [DEFAULT_STREAM])[0]
    client = redis.Redis.from_url(urlunsplit(parts._replace(query="")))
    try:
        start = f"{int(since.timestamp() * 1000)}-0" if since is not None else "-"
        while True:
            entries = client.xrange(stream, min=start, count=_READ_CHUNK) or []
            for _, fields in entries:
                raw = fields.get(b"event") if fields else None
                event = orjson.loads(raw) if raw is not None else None
                if isinstance(event, dict) and _after(event, since):
                    yield event
            if len(entries) < _READ_CHUNK:
                return
            last = entries[-1][0]
            start = "(" + (last.decode() if isinstance(last, bytes) else str(last))
    finally:
        client.close()


def _after(event: JsonObject, since: datetime | None) -> bool:
    if since is None:
        return True
    moment = event_time(event)
    return moment is not None and moment >= since
