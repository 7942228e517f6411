"""Log lines as JSON (for machines) or as text (for people), per `BFF_LOG_FORMAT`.

A record may carry structured `fields` (`extra={"fields": {...}}`); the JSON
form merges them into the line, the human form appends them as `key=value`.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping

import orjson


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, object] = {
            "time": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        fields = getattr(record, "fields", None)
        if isinstance(fields, Mapping):
            line.update(fields)
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return orjson.dumps(line, default=str).decode()


class HumanFormatter(logging.Formatter):
    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        fields = getattr(record, "fields", None)
        if isinstance(fields, Mapping):
            text += "".join(f" {key}={value}" for key, value in fields.items() if value)
        return text


def configure_logging(level: str, fmt: str) -> None:
    """Root logging for a server process: one handler on stderr, in the chosen form."""
    handler = logging.StreamHandler()
    handler.setFormatter(JsonFormatter() if fmt == "json" else HumanFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # httpx logs every downstream request at INFO: far too much for a service's log.
    logging.getLogger("httpx").setLevel(logging.WARNING)
