"""The usage file: bounded by size and rotation, shared by processes without losing a record."""

from __future__ import annotations

import multiprocessing
import os
import stat
from pathlib import Path

import orjson

from bff.product.analytics.files import RotatingFile
from bff.product.analytics.sinks import read_events


def _line(number: int, writer: str = "w") -> bytes:
    return orjson.dumps({"writer": writer, "n": number, "pad": "x" * 12}) + b"\n"


def test_a_file_is_rotated_before_it_outgrows_its_size(tmp_path: Path) -> None:
    path = tmp_path / "usage.jsonl"
    size = len(_line(100))  # every line as long as the next: three fit in a file
    usage = RotatingFile(path, max_bytes=3 * size, keep=2)

    for number in range(100, 120):
        usage.append(_line(number))

    names = sorted(file.name for file in tmp_path.iterdir())
    assert names == ["usage.jsonl", "usage.jsonl.1", "usage.jsonl.2"]
    assert all(file.stat().st_size <= 3 * size for file in tmp_path.iterdir())
    # Oldest first across the files; what is older than the kept files is gone.
    assert [record["n"] for record in read_events(str(path))] == list(range(112, 120))
    assert [orjson.loads(line)["n"] for line in path.read_bytes().splitlines()] == [118, 119]


def test_a_write_bigger_than_the_limit_starts_a_file_of_its_own(tmp_path: Path) -> None:
    path = tmp_path / "usage.jsonl"
    usage = RotatingFile(path, max_bytes=100, keep=3)

    usage.append(_line(1))
    usage.append(b"".join(_line(number) for number in range(2, 10)))
    usage.append(_line(10))

    assert [record["n"] for record in read_events(str(path))] == list(range(1, 11))
    assert len((tmp_path / "usage.jsonl.1").read_bytes().splitlines()) == 8


def test_a_device_is_written_and_never_rotated(tmp_path: Path) -> None:
    devnull = RotatingFile(Path(os.devnull), max_bytes=1, keep=1)

    devnull.append(_line(1))
    devnull.append(_line(2))

    assert stat.S_ISCHR(os.stat(os.devnull).st_mode)
    assert not Path(f"{os.devnull}.1").exists()


WRITES = 3000


MAX_BYTES = 512


def _write_many(path: str, writer: str, start: multiprocessing.synchronize.Event) -> None:
    usage = RotatingFile(Path(path), max_bytes=MAX_BYTES, keep=10_000)
    start.wait()
    for number in range(WRITES):
        usage.append(_line(number, writer))


def test_two_processes_rotating_one_file_lose_and_interleave_nothing(tmp_path: Path) -> None:
    path = tmp_path / "usage.jsonl"
    context = multiprocessing.get_context("spawn")
    start = context.Event()
    writers = [context.Process(target=_write_many, args=(str(path), name, start)) for name in "ab"]
    for writer in writers:
        writer.start()
    start.set()  # both at once, so that they race for every rotation
    for writer in writers:
        writer.join(timeout=120)

    assert [writer.exitcode for writer in writers] == [0, 0]
    files = list(tmp_path.iterdir())
    assert len(files) > 50  # rotated many times over
    longest = len(_line(WRITES, "a"))
    # Only a full file was rotated: never one another process had just rotated in.
    assert all(
        MAX_BYTES - longest < file.stat().st_size <= MAX_BYTES for file in files if file != path
    )
    lines = [line for file in files for line in file.read_bytes().splitlines()]
    assert len(lines) == 2 * WRITES
    records = list(read_events(str(path)))  # every line whole
    for name in "ab":
        # Each writer's records all there, in its order, across the rotated files.
        assert [record["n"] for record in records if record["writer"] == name] == list(
            range(WRITES)
        )
