"""Incremental delivery (`@defer`, `@stream`): the one interface both executors answer with.

`Operations.execute_incrementally` returns an `Incremental`: the initial
result, then an async iterator of `Subsequent` payloads. Both are in the shape
of the deferSpec=20220824 wire format Apollo Router and Apollo Client's
`Defer20220824Handler` speak, field for field, with errors still
`GraphQLError`s (the pipeline formats them, with their codes and the request
id, as it does every error):

    initial      {"data": ..., "errors"?: [...], "hasNext": true}
    subsequent   {"incremental": [{"data": {...} | "items": [...], "path": [...],
                                   "label"?: ..., "errors"?: [...], "extensions"?: {...}}],
                  "hasNext": bool}

An executor producing these (graphql-core's `experimental_execute_incrementally`
through `from_graphql_core`, or the planned executor's
`bff.execution.incremental_plan`) must:

- give each deferred fragment's data at the path of the object it was spread
  on, and each streamed batch of items at the path of the list plus the index
  of its first item (`["products", 2]`);
- give a part whose error propagated to the fragment's root `data: null` (or
  `items: null`) with its errors, at that part's path;
- end with `has_next=False`, even when the last payload carries no part.

`Incremental.payloads()` guards the stream with the operation's deadline:
parts still pending when it passes end in a last payload carrying a
DOWNSTREAM_TIMEOUT error at each of their paths. `merged()` assembles the
whole response for a client that did not ask for multipart. `initial_payload()`
and `Subsequent.wire()` give the payloads as sent, errors shaped by a formatter
(GraphQL's own by default; the pipeline passes its own, with codes).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import suppress
from dataclasses import dataclass, field
from typing import Any

from graphql import ExecutionResult, GraphQLError
from graphql.execution import (
    ExperimentalIncrementalExecutionResults,
    IncrementalDeferResult,
    IncrementalStreamResult,
    PendingResult,
    SubsequentIncrementalExecutionResult,
)

from clients.errors import BffError, ErrorCode

Path = tuple[str | int, ...]
JsonDict = dict[str, Any]
ErrorFormatter = Callable[[Sequence[GraphQLError]], list[JsonDict]]
"""Errors as sent: GraphQL's own format (`graphql_formatted`), or the pipeline's, with codes."""


def graphql_formatted(errors: Sequence[GraphQLError]) -> list[JsonDict]:
    """GraphQL's own error format: message, locations, path."""
    return [dict(error.formatted) for error in errors]


class BudgetSpent(BffError):
    """The operation's time budget ran out while a part was still being answered."""

    code = ErrorCode.DOWNSTREAM_TIMEOUT


@dataclass(frozen=True, slots=True)
class Part:
    """One entry of `incremental`: a deferred fragment's data, or a batch of streamed items."""

    path: Path
    data: dict[str, Any] | None = None
    items: list[Any] | None = None
    streamed: bool = False
    """True for `items` (a `@stream` batch), False for `data` (a `@defer` fragment)."""
    label: str | None = None
    errors: tuple[GraphQLError, ...] = ()
    extensions: dict[str, Any] | None = None

    def wire(self, format_errors: ErrorFormatter = graphql_formatted) -> JsonDict:
        """The entry of `incremental`, as sent."""
        shaped: JsonDict = {"items": self.items} if self.streamed else {"data": self.data}
        shaped["path"] = list(self.path)
        if self.label is not None:
            shaped["label"] = self.label
        if self.errors:
            shaped["errors"] = format_errors(self.errors)
        if self.extensions:
            shaped["extensions"] = self.extensions
        return shaped


@dataclass(frozen=True, slots=True)
class Subsequent:
    """A payload after the initial one."""

    parts: tuple[Part, ...]
    has_next: bool

    def wire(self, format_errors: ErrorFormatter = graphql_formatted) -> JsonDict:
        """`{"incremental"?: [...], "hasNext": bool}`, as sent."""
        body: JsonDict = {}
        if self.parts:
            body["incremental"] = [part.wire(format_errors) for part in self.parts]
        body["hasNext"] = self.has_next
        return body


@dataclass(slots=True)
class Pending:
    """A part announced and not yet delivered in full."""

    path: Path
    label: str | None
    next_item: int | None = None
    """For a stream, the index its next batch starts at; None for a deferred fragment."""

    def part_path(self) -> Path:
        """Where a payload for it goes: a stream's batch names its first item's index."""
        return self.path if self.next_item is None else (*self.path, self.next_item)

    def failed(self, errors: Sequence[GraphQLError]) -> Part:
        """Its part as it ends when an error took its place: no data, only `errors`."""
        return Part(
            self.part_path(),
            streamed=self.next_item is not None,
            label=self.label,
            errors=tuple(errors),
        )


@dataclass(slots=True)
class Incremental:
    """An operation answered in parts: the initial result, then the rest as it comes.

    `pending` lists what the initial result announced (updated as payloads go
    by): what a deadline cuts short is answered at these paths.
    """

    initial: ExecutionResult
    subsequent: AsyncIterator[Subsequent]
    pending: dict[str, Pending] = field(default_factory=dict)
    close: Callable[[], Any] | None = None
    """Stops the work still running (awaitable or not), when the stream is abandoned."""

    def initial_payload(self, format_errors: ErrorFormatter = graphql_formatted) -> JsonDict:
        """`{"data": ..., "errors"?: [...], "hasNext": true}`, as sent."""
        payload: JsonDict = {"data": self.initial.data}
        if self.initial.errors:
            payload["errors"] = format_errors(self.initial.errors)
        payload["hasNext"] = True
        return payload

    async def payloads(self, deadline: float | None) -> AsyncIterator[Subsequent]:
        """The subsequent payloads, ended with a coded error at the deadline, never a hang."""
        try:
            while True:
                left = None if deadline is None else deadline - time.monotonic()
                try:
                    async with asyncio.timeout(left):
                        payload = await anext(self.subsequent)
                except StopAsyncIteration:
                    return
                except TimeoutError:
                    yield self._timed_out()
                    return
                yield payload
                if not payload.has_next:
                    return
        finally:
            await self.aclose()

    async def aclose(self) -> None:
        """Stop what still runs; safe to call more than once."""
        close, self.close = self.close, None
        if close is not None:
            outcome = close()
            if asyncio.iscoroutine(outcome):
                with suppress(Exception):
                    await outcome

    def _timed_out(self) -> Subsequent:
        message = "The operation's time budget ran out before this part was answered."
        parts = tuple(
            pending.failed(
                [
                    GraphQLError(
                        message, path=list(pending.path), original_error=BudgetSpent(message)
                    )
                ]
            )
            for pending in self.pending.values()
        )
        self.pending.clear()
        return Subsequent(parts, has_next=False)

    async def merged(self, deadline: float | None) -> ExecutionResult:
        """The whole response, every part merged in at its path, as one result."""
        data = self.initial.data
        errors = list(self.initial.errors or ())
        async for payload in self.payloads(deadline):
            for part in payload.parts:
                errors.extend(part.errors)
                if data is not None:
                    data = _merge_part(data, part)
        return ExecutionResult(data=data, errors=errors or None)


def _merge_part(data: dict[str, Any], part: Part) -> dict[str, Any]:
    """`data` with `part` merged in: a failed part nulls what it was spread on."""
    path = list(part.path)
    if part.streamed:
        path = path[:-1] if path and isinstance(path[-1], int) else path
    if not path:
        if part.data is not None:
            _deep_merge(data, part.data)
        return data
    parent: Any = data
    for key in path[:-1]:
        parent = parent[key] if parent is not None else None
    last = path[-1]
    if parent is None:
        return data
    target = parent[last]
    if part.streamed:
        if part.items is None:
            parent[last] = None
        elif target is not None:
            target.extend(part.items)
    elif part.data is None:
        parent[last] = None
    elif target is not None:
        _deep_merge(target, part.data)
    return data


def _deep_merge(target: dict[str, Any], source: dict[str, Any]) -> None:
    for key, value in source.items():
        present = target.get(key)
        if isinstance(present, dict) and isinstance(value, dict):
            _deep_merge(present, value)
        elif isinstance(present, list) and isinstance(value, list):
            for mine, theirs in zip(present, value, strict=False):
                if isinstance(mine, dict) and isinstance(theirs, dict):
                    _deep_merge(mine, theirs)
        else:
            target[key] = value


def from_graphql_core(results: ExperimentalIncrementalExecutionResults) -> Incremental:
    """graphql-core 3.3's results (pending/completed ids) in the deferSpec=20220824 shape."""
    initial = results.initial_result
    converter = _Converter(initial.data)
    converter.announce(initial.pending)
    incremental = Incremental(
        initial=ExecutionResult(data=initial.data, errors=initial.errors),
        subsequent=converter.converted(results.subsequent_results),
        pending=converter.pending,
    )
    incremental.close = results.subsequent_results.aclose
    return incremental


class _Converter:
    """Maps ids back to paths and labels, and numbers streamed items.

    graphql-core does not say where a stream's batch starts: the list's length
    when it was announced, found in the data delivered so far (the initial data
    or a part of the same payload), is where.
    """

    def __init__(self, data: dict[str, Any] | None) -> None:
        self.pending: dict[str, Pending] = {}
        self._delivered: dict[Path, Any] = {(): data}

    def announce(self, announced: Sequence[PendingResult]) -> None:
        for entry in announced:
            path = tuple(entry.path)
            value = self._at(path)
            start = len(value) if isinstance(value, list) else None
            self.pending[entry.id] = Pending(path, entry.label, start)

    def _at(self, path: Path) -> Any:
        # A deferred part holds its fragment's fields only: the longest delivered
        # prefix that holds the whole path is the one.
        for length in range(len(path), -1, -1):
            if path[:length] not in self._delivered:
                continue
            value = self._delivered[path[:length]]
            try:
                for key in path[length:]:
                    value = value[key]
            except (KeyError, IndexError, TypeError):
                continue
            return value
        return None

    async def converted(
        self, source: AsyncIterator[SubsequentIncrementalExecutionResult]
    ) -> AsyncIterator[Subsequent]:
        async for result in source:
            parts = [self._part(entry) for entry in result.incremental or ()]
            self.announce(result.pending or ())
            for completed in result.completed or ():
                known = self.pending.pop(completed.id)
                if completed.errors:
                    # The error propagated to the part's root: the part is null.
                    parts.append(known.failed(completed.errors))
            if parts or not result.has_next:
                yield Subsequent(tuple(parts), result.has_next)

    def _part(self, entry: IncrementalDeferResult | IncrementalStreamResult) -> Part:
        known = self.pending[entry.id]
        path = known.path + tuple(entry.sub_path or ())
        errors = tuple(entry.errors or ())
        if isinstance(entry, IncrementalStreamResult):
            start = known.next_item or 0
            items = list(entry.items)
            known.next_item = start + len(items)
            for index, item in enumerate(items):
                self._delivered[(*path, start + index)] = item
            return Part(
                (*path, start),
                items=items,
                streamed=True,
                label=known.label,
                errors=errors,
                extensions=entry.extensions,
            )
        self._delivered[path] = entry.data
        return Part(
            path, data=entry.data, label=known.label, errors=errors, extensions=entry.extensions
        )
