"""Caps on what one caller holds open at once: WebSockets, subscriptions.

See docs/subscriptions.md, How much one caller may hold.
"""

from __future__ import annotations

from collections import Counter
from typing import Literal

Cap = Literal["user", "address"]


class Hold:
    """Places one thing takes under the caps; given back together, once."""

    def __init__(self) -> None:
        self._taken: list[tuple[Counter[str], str]] = []

    def add(self, counts: Counter[str], key: str) -> None:
        counts[key] += 1
        self._taken.append((counts, key))

    def release(self) -> None:
        for counts, key in self._taken:
            counts[key] -= 1
            if counts[key] <= 0:
                del counts[key]
        self._taken.clear()


class Quota:
    """How many things of one kind each user and each address holds, and their caps."""

    def __init__(self, *, per_user: int, per_address: int) -> None:
        self.per_user = per_user
        self.per_address = per_address
        self._users: Counter[str] = Counter()
        self._addresses: Counter[str] = Counter()

    def take(
        self, hold: Hold, *, address: str | None = None, user_id: str | None = None
    ) -> Cap | None:
        """Count `hold` for `address` and `user_id` (those given); the cap that is
        full instead, taking nothing, if one is."""
        if user_id is not None and self._users[user_id] >= self.per_user:
            return "user"
        if address is not None and self._addresses[address] >= self.per_address:
            return "address"
        if user_id is not None:
            hold.add(self._users, user_id)
        if address is not None:
            hold.add(self._addresses, address)
        return None

    def maximum(self, cap: Cap) -> int:
        return self.per_user if cap == "user" else self.per_address
