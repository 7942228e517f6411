"""From a GraphQL request to a prepared operation, paying for each step before it runs.

HTTP and WebSocket requests are admitted alike.
"""

from __future__ import annotations

from graphql import GraphQLError

from bff.contract.persisted import PersistedQueries
from bff.execution.errors import RequestFailure
from bff.execution.operations import Operations, Prepared
from bff.execution.request import GraphQLRequest
from bff.security.rate_limit import Charge, preparation_units
from clients.errors import ErrorCode

RATE_LIMITED = ErrorCode.RATE_LIMITED


async def admit(
    request: GraphQLRequest, persisted: PersistedQueries, operations: Operations, charge: Charge
) -> Prepared:
    """The operation `request` names, prepared; a `RequestFailure` when it cannot run."""
    query = await persisted.query_for(request)
    known = operations.known(query, request.operation_name)
    await pay(charge, known.cost if isinstance(known, Prepared) else preparation_units(query))
    prepared = await operations.prepare(query, request.operation_name)
    await pay(charge, prepared.cost)
    return prepared


async def pay(charge: Charge, units: int) -> None:
    """Bring the request's payment up to `units`, or refuse it (429)."""
    decision = await charge.at_least(units)
    if not decision.allowed:
        wait = decision.retry_after_header
        raise RequestFailure(
            429,
            RATE_LIMITED,
            [GraphQLError(f"Too many requests: try again in {wait} s.")],
            {"retry-after": wait},
        )


async def refused(charge: Charge, failure: RequestFailure) -> None:
    """A refused request pays the minimum, unless the refusal was for want of budget."""
    if failure.code != RATE_LIMITED:
        await charge.at_least(1)
