"""A JSON lines file bounded by size, rotated, and shared safely by worker processes.

Writes hold an exclusive `flock` and re-check the file after locking, so
workers never interleave records or rotate twice (see docs/usage.md).
"""

from __future__ import annotations

import fcntl
import os
import re
import stat
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import BinaryIO


class RotatingFile:
    def __init__(self, path: Path, *, max_bytes: int, keep: int) -> None:
        assert keep >= 1, "the settings refuse fewer"
        self.path = path
        self._max_bytes = max_bytes
        self._keep = keep

    def append(self, data: bytes) -> None:
        """Write `data` (whole lines) at the end of the current file, rotating first if due."""
        while True:
            with _locked_current(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT) as (fd, info):
                regular = stat.S_ISREG(info.st_mode)  # /dev/null and pipes do not rotate
                if regular and info.st_size > 0 and info.st_size + len(data) > self._max_bytes:
                    self._rotate()
                    continue  # write to the new file, under its own lock
                view = memoryview(data)
                while view:
                    view = view[os.write(fd, view) :]
                return

    def _rotate(self) -> None:
        """Shift the rotated files up by one and the current file to `.1`; under its lock."""
        last = 1  # the first number free, or `keep`, whose file the shift replaces
        while last < self._keep and rotated(self.path, last).exists():
            last += 1
        for number in range(last - 1, 0, -1):
            os.replace(rotated(self.path, number), rotated(self.path, number + 1))
        os.replace(self.path, rotated(self.path, 1))


def rotated(path: Path, number: int) -> Path:
    return path.with_name(f"{path.name}.{number}")


@contextmanager
def open_all(path: Path) -> Iterator[list[BinaryIO]]:
    """The current file and its rotated copies, oldest first, opened as one consistent set."""
    pattern = re.compile(re.escape(path.name) + r"\.(\d+)")
    with ExitStack() as stack:
        with _locked_current(path, os.O_RDONLY, shared=True) as (fd, _):
            numbers = sorted(
                (
                    int(match.group(1))
                    for name in os.listdir(path.parent)
                    if (match := pattern.fullmatch(name))
                ),
                reverse=True,
            )
            files: list[BinaryIO] = []
            for number in numbers:
                try:
                    files.append(stack.enter_context(rotated(path, number).open("rb")))
                except FileNotFoundError:
                    continue
            files.append(stack.enter_context(os.fdopen(os.dup(fd), "rb")))
        yield files


@contextmanager
def _locked_current(
    path: Path, flags: int, *, shared: bool = False
) -> Iterator[tuple[int, os.stat_result]]:
    """A descriptor of the file now at `path`, locked, with its status."""
    while True:
        fd = os.open(path, flags, 0o640)
        try:
            fcntl.flock(fd, fcntl.LOCK_SH if shared else fcntl.LOCK_EX)
            info = os.fstat(fd)
            try:
                now = os.stat(path)
            except FileNotFoundError:
                continue  # rotated away while we waited for the lock
            if (now.st_dev, now.st_ino) != (info.st_dev, info.st_ino):
                continue
            yield fd, info
            return
        finally:
            os.close(fd)  # closing releases the lock
