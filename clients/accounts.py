"""The accounts service: users."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from clients.base import PerId, ServiceClient, firsts
from clients.decoding import JsonObject, choice, text, timestamp

Tier = Literal["gold", "silver", "standard"]
TIERS: tuple[Tier, ...] = ("gold", "silver", "standard")


@dataclass(frozen=True, slots=True)
class UserRecord:
    id: str
    name: str
    email: str
    tier: Tier
    country: str
    created_at: datetime

    @classmethod
    def from_json(cls, obj: JsonObject) -> UserRecord:
        return cls(
            id=text(obj, "id"),
            name=text(obj, "name"),
            email=text(obj, "email"),
            tier=choice(obj, "tier", TIERS),
            country=text(obj, "country"),
            created_at=timestamp(obj, "createdAt"),
        )


class AccountsClient(ServiceClient):
    async def get_user(self, user_id: str) -> UserRecord:
        return await self.get(
            "/users/{id}", UserRecord.from_json, resource="user", key=user_id, path={"id": user_id}
        )

    async def get_users(self, user_ids: Sequence[str]) -> PerId[UserRecord]:
        """The users found, by id; unknown ids are left out."""
        found = await self.get_batch(
            "/users", "ids", user_ids, UserRecord.from_json, _id, resource="users"
        )
        return firsts(found)


def _id(user: UserRecord) -> str:
    return user.id
