"""The operations of one batched request, as the pipeline runs them together.

Each operation of a batch goes through `Pipeline.execute` on its own (its
checks, charge and limits); what they share is decided here. Every operation
waits, once admitted, until all of the batch's are admitted or refused: then
the batch is refused whole if one of them is not a trusted document (under the
safelist) or if they cost more in all than the batch may, and otherwise all
start together, on one set of loaders, so that their reads land in the same
ticks and go out as the calls one operation would make.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from graphql import GraphQLError

from bff.execution.errors import RequestFailure
from bff.execution.operations import Prepared
from bff.pipeline.observation import SharedObserver
from clients.errors import ErrorCode
from resolvers.loaders import Loaders

OpenLoaders = Callable[[SharedObserver, float | None], Loaders]
"""Builds the batch's loaders, reporting to `SharedObserver`, with their deadline."""


class Batch:
    """What a batch's operations share: their loaders, and the decision to run them."""

    def __init__(
        self,
        operations: int,
        *,
        max_cost: int,
        arrived: float,
        budget_for: Callable[[str | None], float],
        open_loaders: OpenLoaders,
    ) -> None:
        self.size = operations
        self.observer = SharedObserver()
        self.refusal: RequestFailure | None = None
        """Why the batch is refused whole, once decided; None while it may run."""
        self._waiting = operations
        self._max_cost = max_cost
        self._arrived = arrived
        self._budget_for = budget_for
        self._open_loaders = open_loaders
        self._admitted: list[Prepared] = []
        self._untrusted = 0
        self._decided = asyncio.Event()
        self._loaders: Loaders | None = None

    async def admitted(self, prepared: Prepared) -> Loaders:
        """The operation is admitted: its loaders once all are, or the batch's refusal."""
        self._admitted.append(prepared)
        self._arrive()
        await self._decided.wait()
        if self.refusal is not None:
            raise self.refusal
        assert self._loaders is not None
        return self._loaders

    def left(self, error: BaseException) -> None:
        """The operation was refused before it was admitted (or failed)."""
        if isinstance(error, RequestFailure) and error.code == ErrorCode.PERSISTED_QUERY_REQUIRED:
            self._untrusted += 1
        self._arrive()

    def _arrive(self) -> None:
        self._waiting -= 1
        if self._waiting == 0:
            self._decide()

    def _decide(self) -> None:
        cost = sum(prepared.cost for prepared in self._admitted)
        if self._untrusted:
            self.refusal = RequestFailure(
                400,
                ErrorCode.PERSISTED_QUERY_REQUIRED,
                [
                    GraphQLError(
                        f"{self._untrusted} of the batch's {self.size} operations are not "
                        "trusted documents: in safelist mode a batch runs only when all are."
                    )
                ],
                legacy_status=400,
            )
        elif cost > self._max_cost:
            self.refusal = RequestFailure(
                400,
                ErrorCode.BATCH_LIMIT_EXCEEDED,
                [
                    GraphQLError(
                        f"The batch's operations cost {cost} in all, over the limit of "
                        f"{self._max_cost} (set by BFF_BATCH_MAX_COST): send fewer in one request.",
                        extensions={
                            "limit": "batch cost",
                            "measured": cost,
                            "maximum": self._max_cost,
                        },
                    )
                ],
                legacy_status=400,
            )
        elif self._admitted:
            budget = max(self._budget_for(prepared.operation_name) for prepared in self._admitted)
            self._loaders = self._open_loaders(self.observer, self._arrived + budget)
        self._decided.set()
