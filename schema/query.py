"""The read entry points."""

from __future__ import annotations

from typing import Annotated

import strawberry

import resolvers.listing
import resolvers.orders
import resolvers.products
import resolvers.recommendations
import resolvers.users
from schema.cache_control import private, public
from schema.experiments import ExperimentAssignment, FeatureFlag
from schema.info import Info
from schema.orders import Order
from schema.products import Category, Product, ProductConnection
from schema.users import User


@strawberry.type(description="The read entry points.")
class Query:
    @strawberry.field(
        description=(
            "The signed-in caller (the `sub` of their bearer token); null when anonymous."
        ),
        directives=[private(30)],
    )
    async def me(self, info: Info) -> User | None:
        record = await resolvers.users.get_me(info.context)
        return None if record is None else User.from_record(record)

    @strawberry.field(
        description=(
            "A user by id; `User` says which of their fields are public. Null with NOT_FOUND "
            "when there is no such user."
        ),
        directives=[public(30)],
    )
    async def user(
        self,
        info: Info,
        id: Annotated[strawberry.ID, strawberry.argument(description="The user's id, e.g. u1.")],
    ) -> User | None:
        return User.from_record(await resolvers.users.find_user(info.context, id))

    @strawberry.field(
        description="A product by id; null with NOT_FOUND when the catalog has no such product."
    )
    async def product(
        self,
        info: Info,
        id: Annotated[strawberry.ID, strawberry.argument(description="The product's id, e.g. p1.")],
    ) -> Product | None:
        return Product.from_record(await resolvers.products.find_product(info.context, id))

    @strawberry.field(
        description=(
            "Products, optionally of one category, in id order; null when the catalog "
            "cannot answer."
        ),
        directives=[public(60)],
    )
    async def products(
        self,
        info: Info,
        category: Annotated[
            strawberry.ID | None,
            strawberry.argument(
                description="Only this category's products (an id such as c3); all when omitted."
            ),
        ] = None,
        first: Annotated[
            int,
            strawberry.argument(
                description=f"How many products, 1 to {resolvers.listing.MAX_FIRST}."
            ),
        ] = 20,
        after: Annotated[
            str | None,
            strawberry.argument(
                description=(
                    "Start after this cursor (`pageInfo.endCursor` or an edge's `cursor`); "
                    "omit for the first page."
                )
            ),
        ] = None,
    ) -> ProductConnection | None:
        listing = await resolvers.listing.list_products(info.context, category, first, after)
        return ProductConnection.from_listing(listing)

    @strawberry.field(
        description="A category by id; null with NOT_FOUND when the catalog has no such category."
    )
    async def category(
        self,
        info: Info,
        id: Annotated[
            strawberry.ID, strawberry.argument(description="The category's id, e.g. c3.")
        ],
    ) -> Category | None:
        return Category.from_record(await resolvers.products.find_category(info.context, id))

    @strawberry.field(description="One order; only its owner and admins may see it.")
    async def order(
        self,
        info: Info,
        id: Annotated[strawberry.ID, strawberry.argument(description="The order's id, e.g. o1.")],
    ) -> Order | None:
        return Order.from_record(await resolvers.orders.find_order(info.context, id))

    @strawberry.field(
        description=(
            "Products picked for the caller (a popular list when anonymous); null when "
            "the recommendations service cannot answer."
        ),
        directives=[private(60)],
    )
    async def recommendations(
        self,
        info: Info,
        first: Annotated[
            int,
            strawberry.argument(
                description=(
                    f"How many products, 1 to {resolvers.recommendations.MAX_RECOMMENDATIONS}; "
                    "fewer when the catalog no longer has some of those picked."
                )
            ),
        ] = 10,
        limit: Annotated[
            int | None,
            strawberry.argument(
                description="How many products; wins over `first` when given.",
                deprecation_reason="Use `first`, as every list of this API does.",
            ),
        ] = None,
    ) -> list[Product] | None:
        count, argument = (first, "first") if limit is None else (limit, "limit")
        records = await resolvers.recommendations.get_recommendations(
            info.context, count, argument=argument
        )
        return [Product.from_record(record) for record in records]

    @strawberry.field(
        description=(
            "The running experiments this caller takes part in, with their variants; "
            "listing one counts as serving it."
        ),
        directives=[private(0)],
    )
    async def experiments(self, info: Info) -> list[ExperimentAssignment]:
        assigned = await info.context.experiments.experiments()
        return [ExperimentAssignment(name=name, variant=variant) for name, variant in assigned]

    @strawberry.field(
        description="Every feature flag as it stands for this caller.", directives=[private(0)]
    )
    async def feature_flags(self, info: Info) -> list[FeatureFlag]:
        return [FeatureFlag.from_state(state) for state in await info.context.experiments.flags()]
