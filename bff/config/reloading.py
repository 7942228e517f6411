"""A file read at start-up and again whenever it changes on disk.

A version that does not load is logged and the last good one stays in force;
at start-up, a file that does not load stops the start.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Callable
from pathlib import Path
from typing import Generic, TypeVar

_T = TypeVar("_T")
_log = logging.getLogger("bff.config.reloading")


class LoadError(ValueError):
    """The file cannot be used; the message says where and why."""


class ReloadingFile(Generic[_T]):
    """`current` is what `load` made of the file's latest loadable version."""

    def __init__(self, path: Path, load: Callable[[Path], _T], *, what: str) -> None:
        self.path = path
        self._load = load
        self._what = what
        self._version = self._stat()
        self.current: _T = load(path)

    def reload(self) -> bool:
        """Read the file again if it changed since the last read; True when it did."""
        version = self._stat()
        if version == self._version:
            return False
        self.current = self._load(self.path)
        self._version = version
        return True

    async def watch(self, interval_s: float) -> None:
        """Reload on change until cancelled; a bad version is logged and skipped."""
        while True:
            await asyncio.sleep(interval_s)
            try:
                # Off the event loop: a large file takes a while to parse.
                if await asyncio.to_thread(self.reload):
                    _log.info("%s reloaded from %s", self._what, self.path)
            except LoadError as error:
                _log.error("%s not reloaded, keeping the previous version: %s", self._what, error)

    def _stat(self) -> tuple[int, int]:
        try:
            stat = os.stat(self.path)
        except OSError as error:
            raise LoadError(f"{self.path}: cannot read it ({error.strerror})") from None
        # A ConfigMap update swaps a symlink: the size or the time changes.
        return stat.st_mtime_ns, stat.st_size
