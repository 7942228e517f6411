"""Money, exact in minor units and convenient in major ones."""

from __future__ import annotations

import strawberry

from schema.cache_control import INHERIT

# ISO 4217 currencies whose minor unit is not a hundredth.
_MINOR_DIGITS = {"JPY": 0, "KRW": 0, "ISK": 0, "BHD": 3, "KWD": 3, "OMR": 3, "TND": 3}


@strawberry.type(description="An amount of money in one currency.", directives=[INHERIT])
class Money:
    amount: float = strawberry.field(
        description="The amount in major units, e.g. 12.5 for twelve euros fifty."
    )
    cents: int = strawberry.field(
        description="The exact amount in minor units (cents); use this for arithmetic."
    )
    currency: str = strawberry.field(description="ISO 4217 currency code, e.g. EUR.")

    @classmethod
    def of(cls, cents: int, currency: str) -> Money:
        return cls(
            amount=cents / 10 ** _MINOR_DIGITS.get(currency, 2), cents=cents, currency=currency
        )
