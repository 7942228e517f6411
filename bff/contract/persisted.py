"""Persisted queries: a request may name its document by hash instead of sending it.

Answers a hash from the trusted documents or the automatic persisted queries
registered so far (see docs/api-contract.md, Persisted queries).
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Callable, Mapping
from typing import Final, Protocol

from cachetools import LRUCache
from graphql import GraphQLError
from redis.asyncio import Redis
from redis.exceptions import RedisError

from bff.contract.trusted_documents import TrustedDocuments
from bff.execution.documents import sha256_of
from bff.execution.errors import RequestFailure
from bff.execution.request import GraphQLRequest
from clients.errors import ErrorCode

_SHA256: Final = re.compile(r"[0-9a-f]{64}")
REDIS_PREFIX: Final = "bff:apq:"
_log = logging.getLogger("bff.contract.persisted")


class QueryStore(Protocol):
    """Registered documents by SHA-256."""

    async def get(self, sha256: str) -> str | None: ...

    async def put(self, sha256: str, query: str) -> None: ...


class LocalQueryStore:
    """An LRU bounded by the bytes of the documents it holds."""

    def __init__(self, max_bytes: int) -> None:
        self._queries: LRUCache[str, str] = LRUCache(max_bytes, getsizeof=len)

    async def get(self, sha256: str) -> str | None:
        return self.peek(sha256)

    def peek(self, sha256: str) -> str | None:
        return self._queries.get(sha256)

    async def put(self, sha256: str, query: str) -> None:
        if len(query) <= self._queries.maxsize:
            self._queries[sha256] = query


class RedisQueryStore:
    """Redis shared by every replica, with the local LRU in front of it.

    Documents read back from Redis are hashed again before use, so a corrupted
    or tampered entry is ignored rather than run.
    """

    def __init__(
        self,
        redis: Redis,
        local: LocalQueryStore,
        *,
        ttl_s: int,
        timeout_s: float = 0.25,
        on_error: Callable[[str], None] = lambda action: None,
    ) -> None:
        self._redis = redis
        self._local = local
        self._ttl_s = ttl_s
        self._timeout_s = timeout_s
        self._on_error = on_error

    async def get(self, sha256: str) -> str | None:
        known = self._local.peek(sha256)
        if known is not None:
            return known
        try:
            async with asyncio.timeout(self._timeout_s):
                stored = await self._redis.get(REDIS_PREFIX + sha256)
        except (RedisError, OSError, TimeoutError) as error:
            self._failed("get", error)
            return None
        if stored is None:
            return None
        query = stored.decode() if isinstance(stored, bytes) else str(stored)
        if sha256_of(query) != sha256:
            return None
        await self._local.put(sha256, query)
        return query

    async def put(self, sha256: str, query: str) -> None:
        await self._local.put(sha256, query)
        try:
            async with asyncio.timeout(self._timeout_s):
                await self._redis.set(REDIS_PREFIX + sha256, query, ex=self._ttl_s)
        except (RedisError, OSError, TimeoutError) as error:
            self._failed("put", error)

    def _failed(self, action: str, error: BaseException) -> None:
        _log.warning("persisted-query store in Redis failed (%s): %s", action, type(error).__name__)
        self._on_error(action)


class PersistedQueries:
    """Turns a request that names its document into the document's text.

    `store` None turns automatic persisted queries off; `safelist` runs only
    what `trusted` holds.
    """

    def __init__(
        self,
        store: QueryStore | None,
        trusted: TrustedDocuments | None = None,
        *,
        safelist: bool = False,
        count: Callable[[str], None] = lambda outcome: None,
    ) -> None:
        if safelist and trusted is None:
            raise ValueError("safelist mode needs a trusted-documents manifest")
        self._store = store
        self._trusted = trusted
        self._safelist = safelist
        self._count = count

    async def query_for(self, request: GraphQLRequest) -> str:
        """The document to run; a `RequestFailure` when it is unknown or not allowed."""
        document_id = _requested_id(request)
        query = request.query
        if document_id is None:
            assert query is not None
            if self._safelist and not self._is_trusted(sha256_of(query)):
                self._count("refused")
                raise _not_trusted()
            return query
        if query is not None:
            return await self._register(document_id, query)
        trusted = self._trusted.get(document_id) if self._trusted is not None else None
        if trusted is not None:
            self._count("trusted")
            return trusted
        if self._safelist:
            self._count("refused")
            raise _not_trusted()
        if self._store is None:
            raise _answer(ErrorCode.PERSISTED_QUERY_NOT_SUPPORTED, "PersistedQueryNotSupported")
        known = await self._store.get(document_id)
        if known is None:
            self._count("miss")
            # 200 whatever the media type: Apollo's link treats other statuses as
            # failures and stops persisting.
            raise _answer(ErrorCode.PERSISTED_QUERY_NOT_FOUND, "PersistedQueryNotFound")
        self._count("hit")
        return known

    async def _register(self, document_id: str, query: str) -> str:
        if sha256_of(query) != document_id.lower():
            self._count("mismatch")
            raise RequestFailure(
                400,
                ErrorCode.PERSISTED_QUERY_HASH_MISMATCH,
                [GraphQLError("The SHA-256 of `query` is not the hash sent with it.")],
            )
        if self._safelist:
            if not self._is_trusted(document_id.lower()):
                self._count("refused")
                raise _not_trusted()
            return query
        if self._store is None:
            raise _answer(ErrorCode.PERSISTED_QUERY_NOT_SUPPORTED, "PersistedQueryNotSupported")
        if await self._store.get(document_id) is None:
            await self._store.put(document_id, query)
            self._count("registered")
        return query

    def _is_trusted(self, sha256: str) -> bool:
        return self._trusted is not None and self._trusted.has_sha256(sha256)


def _requested_id(request: GraphQLRequest) -> str | None:
    if request.document_id is not None:
        prefix, _, rest = request.document_id.partition(":")
        return rest if prefix == "sha256" and rest else request.document_id
    extensions: Mapping[str, object] = request.extensions or {}
    persisted = extensions.get("persistedQuery")
    if persisted is None:
        return None
    if not isinstance(persisted, dict) or persisted.get("version") != 1:
        raise RequestFailure(
            400,
            ErrorCode.BAD_REQUEST,
            [GraphQLError("Unsupported `extensions.persistedQuery`: send version 1 and a hash.")],
        )
    sha256 = persisted.get("sha256Hash")
    if not isinstance(sha256, str) or not _SHA256.fullmatch(sha256.lower()):
        raise RequestFailure(
            400,
            ErrorCode.BAD_REQUEST,
            [GraphQLError("`persistedQuery.sha256Hash` must be a hex SHA-256 digest.")],
        )
    return sha256.lower()


def _answer(code: ErrorCode, message: str) -> RequestFailure:
    return RequestFailure(200, code, [GraphQLError(message)])


def _not_trusted() -> RequestFailure:
    return RequestFailure(
        400,
        ErrorCode.PERSISTED_QUERY_REQUIRED,
        [
            GraphQLError(
                "Only trusted documents run here: send the id of an operation from the "
                "app's persisted-query manifest."
            )
        ],
    )
