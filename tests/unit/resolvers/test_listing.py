from __future__ import annotations

import pytest

from clients.errors import BadUserInput
from resolvers.listing import decode_cursor, encode_cursor


@pytest.mark.parametrize(("page", "skip"), [(None, 0), ("b2Zmc2V0OjUw", 7), ("x", 100)])
def test_cursors_round_trip(page: str | None, skip: int) -> None:
    assert decode_cursor(encode_cursor(page, skip)) == (page, skip)


@pytest.mark.parametrize(
    "cursor",
    ["", "!!!", "bm90IGpzb24", encode_cursor("x", 101), encode_cursor("x", -1), "WzEsMl0"],
)
def test_foreign_cursors_are_bad_user_input(cursor: str) -> None:
    with pytest.raises(BadUserInput, match="`after` is not a cursor"):
        decode_cursor(cursor)
