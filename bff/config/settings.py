"""Typed settings, read once from `BFF_*` environment variables.

Unknown `BFF_*` names and malformed values stop start-up with a message naming
the variable; `bff settings` prints them all (see docs/configuration.md).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, TypeVar

from clients.breaker import BreakerPolicy
from clients.hedging import HedgePolicy
from clients.http import ServiceConfig
from clients.registry import DOWNSTREAM, SERVICES
from clients.resilience import ResiliencePolicy
from clients.retry import BudgetPolicy, RetryPolicy

Profile = Literal["demo", "production"]
PROFILES: tuple[Profile, ...] = ("demo", "production")
LOG_FORMATS = ("human", "json")
SAMPLERS = (
    "always_on",
    "always_off",
    "traceidratio",
    "parentbased_always_on",
    "parentbased_always_off",
    "parentbased_traceidratio",
)
PREFIX = "BFF_"
DOWNSTREAM_BY_NAME = {service.name: service for service in DOWNSTREAM}

_T = TypeVar("_T")
_S = TypeVar("_S", bound=str)


class SettingsError(ValueError):
    """An environment variable is missing, malformed or unknown."""


@dataclass(frozen=True, slots=True)
class Variable:
    """One documented environment variable."""

    name: str
    default: str
    doc: str


@dataclass(frozen=True, slots=True)
class TracingSettings:
    """Traces: the `OTEL_*` variables the BFF honours, and `BFF_FORWARD_BAGGAGE`."""

    forward_baggage: bool = False
    exporter: str = "none"
    endpoint: str | None = None
    headers: str = ""
    sampler: str = "parentbased_always_on"
    sampler_arg: str = ""
    service_name: str = "bff"
    resource_attributes: str = ""


class Secret(str):
    """A setting that must not show up in logs or reprs."""

    def __repr__(self) -> str:
        return "Secret('***')" if self else "Secret('')"


@dataclass(frozen=True, slots=True)
class AuthSettings:
    """Bearer-token checks (see `bff.security.auth`)."""

    jwks_url: str = ""
    issuer: str = ""
    audience: str = "bff"
    algorithms: tuple[str, ...] = ("RS256", "ES256")
    hs256_secret: Secret = field(default_factory=lambda: Secret(""))
    leeway_s: float = 30.0
    jwks_refresh_s: float = 30.0
    roles_claim: str = "roles"


@dataclass(frozen=True, slots=True)
class RemoteCacheSettings:
    """The downstream cache's Redis tier (see `clients.remote_cache`)."""

    enabled: bool = False
    prefix: str = "bff:dc"
    key: Secret = field(default_factory=lambda: Secret(""))
    """Encrypts private entries; without it they stay in process."""
    timeout_s: float = 0.05


@dataclass(frozen=True, slots=True)
class LimitSettings:
    """What one request may ask for (see `bff.execution.limits`)."""

    max_body_bytes: int = 100_000
    max_tokens: int = 5_000
    max_depth: int = 12
    max_aliases: int = 30
    max_root_fields: int = 20
    max_cost: int = 20_000
    default_list_size: int = 10
    max_validation_work: int = 20_000


@dataclass(frozen=True, slots=True)
class RateLimitSettings:
    """Token buckets per caller (see `bff.security.rate_limit`)."""

    enabled: bool = False
    capacity: int = 50_000
    refill_per_s: float = 5_000.0
    cost: str = "operation"
    trusted_proxies: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class HttpSettings:
    """The HTTP edge: TLS, CORS, CSRF prevention, introspection."""

    tls_cert_file: str = ""
    tls_key_file: str = ""
    cors_origins: tuple[str, ...] = ()
    csrf_prevention: bool = False
    introspection: bool = True


@dataclass(frozen=True, slots=True)
class PersistedSettings:
    """Persisted queries and trusted documents (see README, Persisted queries)."""

    apq: bool = True
    cache_max_bytes: int = 16 * 1024 * 1024
    redis_ttl_s: int = 7 * 24 * 3600
    trusted_documents: str = ""
    safelist: bool = False
    reload_interval_s: float = 2.0


@dataclass(frozen=True, slots=True)
class ProductSettings:
    """Experiments, feature flags and usage analytics (see README, Product decisions)."""

    experiments_file: str = ""
    reload_interval_s: float = 2.0
    exposure_window_s: float = 86_400.0
    usage_sink: str = "jsonl"
    usage_file: str = "usage.jsonl"
    usage_file_max_bytes: int = 64 * 1024 * 1024
    usage_file_keep: int = 4
    usage_stream: str = "bff:usage"
    usage_interval_s: float = 60.0
    usage_sample: float = 1.0
    """The fraction of operations also kept as raw events."""
    usage_queue: int = 10_000
    usage_batch: int = 500
    usage_flush_s: float = 1.0
    subject_key: Secret = field(default_factory=lambda: Secret(""))
    """Keys the pseudonym of a caller in exposure events (`bff.product.analytics.events`)."""

    @property
    def exposures(self) -> bool:
        """Can exposure events, which name callers by pseudonym, be written?"""
        return bool(self.experiments_file) and self.usage_sink != "none"


@dataclass(frozen=True, slots=True)
class ResilienceSettings:
    """Time budgets, stale answers, load shedding and shutdown (see README, Resilience).

    Retries, breakers and hedging are per service, in `ServiceConfig.resilience`.
    """

    operation_budget_s: float = 2.5
    operation_budgets: Mapping[str, float] = field(default_factory=dict)
    """Per operation name, overriding `operation_budget_s`."""
    stale_if_error_s: float = 300.0
    max_in_flight: int = 512
    shutdown_delay_s: float = 0.0
    drain_timeout_s: float = 10.0

    def budget_for(self, operation_name: str | None) -> float:
        if operation_name is None:
            return self.operation_budget_s
        return self.operation_budgets.get(operation_name, self.operation_budget_s)


@dataclass(frozen=True, slots=True)
class SubscriptionSettings:
    """GraphQL over WebSocket (see `bff.ws.subscriptions`)."""

    max_per_connection: int = 10
    keepalive_s: float = 15.0
    """0: no keep-alive pings."""
    init_timeout_s: float = 3.0
    max_per_user: int = 30
    max_per_address: int = 300
    max_sockets_per_user: int = 10
    max_sockets_per_address: int = 100
    max_event_streams: int = 1000
    """Downstream event streams open at once in the process."""


@dataclass(frozen=True, slots=True)
class Settings:
    profile: Profile = "demo"
    host: str = "127.0.0.1"
    port: int = 8000
    workers: int = 1
    services: Mapping[str, ServiceConfig] = field(default_factory=dict)
    batching: bool = True
    graphiql: bool = True
    graphiql_token: str = ""
    """A bearer token GraphiQL's signed-in examples send; empty: they send none."""
    readiness_timeout_s: float = 1.0
    readiness_services: frozenset[str] | None = None
    """Services whose health gates `/readyz`; None: all of them."""
    log_level: str = "info"
    downstream_cache: bool = True
    downstream_cache_max_entries: int = 50_000
    downstream_cache_max_bytes: int = 64 * 1024 * 1024
    downstream_cache_redis: RemoteCacheSettings = field(
        default_factory=lambda: RemoteCacheSettings()
    )
    document_cache_bytes: int = 64 * 1024 * 1024
    """Prepared documents and refusals kept, by estimated bytes; 0: none."""
    planned_execution: bool = True
    debug: bool = True
    log_format: str = "human"
    metrics_max_operations: int = 100
    metrics_max_clients: int = 50
    resolver_spans: bool = False
    tracing: TracingSettings = field(default_factory=lambda: TracingSettings())
    response_cache: bool = True
    response_cache_max_bytes: int = 32 * 1024 * 1024
    response_cache_vary: tuple[str, ...] = ()
    auth: AuthSettings = field(default_factory=lambda: AuthSettings())
    limits: LimitSettings = field(default_factory=lambda: LimitSettings())
    rate_limit: RateLimitSettings = field(default_factory=lambda: RateLimitSettings())
    http: HttpSettings = field(default_factory=lambda: HttpSettings())
    resilience: ResilienceSettings = field(default_factory=lambda: ResilienceSettings())
    persisted: PersistedSettings = field(default_factory=lambda: PersistedSettings())
    product: ProductSettings = field(default_factory=lambda: ProductSettings())
    redis_url: str = ""
    compression_min_bytes: int | None = 1024
    """Smallest response body compressed; None: no compression."""
    subscriptions: SubscriptionSettings = field(default_factory=lambda: SubscriptionSettings())

    @classmethod
    def from_environ(cls, environ: Mapping[str, str]) -> Settings:
        env = _Reader(environ)
        settings = _read(env)
        env.refuse_unknown()
        _check_redis_uses(settings)
        _check_pseudonyms(settings.product)
        return settings

    @staticmethod
    def documented() -> list[Variable]:
        """Every variable with its default and meaning."""
        env = _Reader({})
        _read(env)
        return env.known


def _read(env: _Reader) -> Settings:
    profile = env.choice(
        "PROFILE",
        PROFILES,
        "demo",
        "demo: developer conveniences on; production: off",
    )
    demo = profile == "demo"
    timeout_ms = env.integer(
        "DOWNSTREAM_TIMEOUT_MS", 2000, "time a downstream call may take, per call", low=1
    )
    connect_ms = env.integer(
        "DOWNSTREAM_CONNECT_TIMEOUT_MS", 500, "time to open a downstream connection", low=1
    )
    max_connections = env.integer(
        "DOWNSTREAM_MAX_CONNECTIONS",
        64,
        "connections per downstream service; also the cap on its calls in flight",
        low=1,
    )
    ca_bundle = env.text(
        "DOWNSTREAM_CA_BUNDLE", "", "CA certificates (PEM) that downstream TLS must chain to"
    )
    client_cert = env.text(
        "DOWNSTREAM_CLIENT_CERT", "", "client certificate (PEM) presented downstream (mTLS)"
    )
    client_key = env.text("DOWNSTREAM_CLIENT_KEY", "", "... and its private key (PEM)")
    stream_idle_timeout_s = env.milliseconds(
        "DOWNSTREAM_STREAM_IDLE_TIMEOUT_MS",
        45_000,
        "time a downstream event stream may send nothing (no event, no keep-alive comment) "
        "before it is taken for broken and reopened",
        low=1,
    )
    policy = _resilience_policy(env)
    services = {
        name: ServiceConfig(
            base_url=env.text(
                f"{name.upper()}_URL",
                DOWNSTREAM_BY_NAME[name].default_url,
                f"base URL of the {name} service",
            ),
            timeout_s=env.milliseconds(
                f"{name.upper()}_TIMEOUT_MS",
                timeout_ms,
                f"overrides BFF_DOWNSTREAM_TIMEOUT_MS for {name}",
                low=1,
            ),
            connect_timeout_s=connect_ms / 1000,
            max_connections=env.integer(
                f"{name.upper()}_MAX_CONNECTIONS",
                max_connections,
                f"overrides BFF_DOWNSTREAM_MAX_CONNECTIONS for {name}",
                low=1,
            ),
            health_path=env.text(
                f"{name.upper()}_HEALTH_PATH",
                DOWNSTREAM_BY_NAME[name].health_path,
                f"path /readyz probes on {name}",
            ),
            forward_authorization=env.boolean(
                f"{name.upper()}_FORWARD_AUTHORIZATION",
                True,
                f"pass the caller's Authorization header on to {name}",
            ),
            ca_bundle=ca_bundle or None,
            client_cert=client_cert or None,
            client_key=client_key or None,
            resilience=policy,
            stream_idle_timeout_s=stream_idle_timeout_s,
        )
        for name in SERVICES
    }
    return Settings(
        profile=profile,
        host=env.text("HOST", "127.0.0.1", "interface `bff serve` listens on"),
        port=env.integer("PORT", 8000, "port `bff serve` listens on", low=1, high=65535),
        workers=env.integer(
            "WORKERS",
            os.cpu_count() or 1,
            "worker processes for `bff serve`",
            low=1,
            shown="one per core",
        ),
        services=services,
        batching=env.boolean(
            "BATCHING", True, "per-request loaders; false makes one call per field (baseline)"
        ),
        graphiql=env.boolean(
            "GRAPHIQL",
            demo,
            "serve GraphiQL at GET /graphql (default: true in demo, false in production)",
        ),
        graphiql_token=env.text(
            "GRAPHIQL_TOKEN",
            "",
            "bearer token GraphiQL's signed-in examples send (development: `bff-demo` signs one)",
        ),
        readiness_timeout_s=env.milliseconds(
            "READINESS_TIMEOUT_MS", 1000, "time /readyz waits for each service", low=1
        ),
        readiness_services=env.parsed(
            "READINESS_SERVICES",
            None if demo else frozenset[str](),
            "services whose health gates /readyz: `all`, `none` (ready while serving: partial "
            "answers beat none) or a comma-separated list; the others are only reported "
            "(default: all in demo, none in production)",
            _readiness_services,
            shown="all in demo, none in production",
        ),
        downstream_cache=env.boolean(
            "DOWNSTREAM_CACHE",
            True,
            "shared cache of downstream reads (per Cache-Control) and request coalescing",
        ),
        downstream_cache_max_entries=env.integer(
            "DOWNSTREAM_CACHE_MAX_ENTRIES", 50_000, "most entries the shared cache keeps", low=1
        ),
        downstream_cache_max_bytes=env.integer(
            "DOWNSTREAM_CACHE_MAX_MB", 64, "most megabytes of JSON the shared cache keeps", low=1
        )
        * 1024
        * 1024,
        downstream_cache_redis=_downstream_cache_redis(env),
        document_cache_bytes=env.integer(
            "DOCUMENT_CACHE_MB",
            64,
            "megabytes of prepared documents (and refusals) kept, by estimate; 0: none",
            low=0,
        )
        * 1024
        * 1024,
        planned_execution=env.boolean(
            "PLANNED_EXECUTION",
            True,
            "run queries by per-document plans (execution.plan); false: graphql-core's executor",
        ),
        response_cache=env.boolean(
            "RESPONSE_CACHE", True, "whole responses of public queries, for their max-age"
        ),
        response_cache_max_bytes=env.integer(
            "RESPONSE_CACHE_MAX_MB", 32, "most megabytes of responses kept", low=1
        )
        * 1024
        * 1024,
        response_cache_vary=tuple(
            name.strip().lower()
            for name in env.text(
                "RESPONSE_CACHE_VARY",
                "",
                "comma-separated request headers that change a public response",
            ).split(",")
            if name.strip()
        ),
        debug=env.boolean(
            "DEBUG",
            demo,
            "answer `X-BFF-Debug: 1` with a timeline of downstream calls in the response "
            "(default: true in demo, false in production)",
        ),
        log_format=env.choice(
            "LOG_FORMAT",
            LOG_FORMATS,
            "human" if demo else "json",
            "log lines as JSON or for people (default: human in demo, json in production)",
        ),
        metrics_max_operations=env.integer(
            "METRICS_MAX_OPERATIONS",
            100,
            "distinct operation names kept as metric labels; later ones count as `other`",
            low=1,
        ),
        metrics_max_clients=env.integer(
            "METRICS_MAX_CLIENTS",
            50,
            "distinct client name/version pairs kept as metric labels; later ones as `other`",
            low=1,
        ),
        resolver_spans=env.boolean(
            "RESOLVER_SPANS", False, "a span per resolved field (costly; for deep debugging)"
        ),
        tracing=_tracing(env),
        auth=_auth(env, demo),
        limits=_limits(env),
        rate_limit=_rate_limit(env, demo),
        http=_http(env, demo),
        resilience=_resilience(env, demo),
        persisted=_persisted(env),
        product=_product(env, demo),
        redis_url=env.text(
            "REDIS_URL",
            "",
            "Redis shared by replicas: rate-limit buckets, persisted queries, the downstream "
            "cache's second tier, usage events; empty: each process keeps its own",
        ),
        compression_min_bytes=_compression(env),
        log_level=env.choice(
            "LOG_LEVEL", ("debug", "info", "warning", "error"), "info", "least severe level logged"
        ),
        subscriptions=_subscriptions(env),
    )


def _readiness_services(text: str) -> frozenset[str] | None:
    if text.strip() == "all":
        return None
    if text.strip() == "none":
        return frozenset()
    named = frozenset(_list(text))
    unknown = sorted(named - set(SERVICES))
    if unknown:
        raise ValueError(f"unknown service {', '.join(unknown)}; known: {', '.join(SERVICES)}")
    return named


def _list(text: str) -> tuple[str, ...]:
    return tuple(item.strip() for item in text.split(",") if item.strip())


def _auth(env: _Reader, demo: bool) -> AuthSettings:
    return AuthSettings(
        jwks_url=env.text(
            "AUTH_JWKS_URL",
            "http://127.0.0.1:8107/.well-known/jwks.json" if demo else "",
            "where signing keys are fetched (default: the demo identity provider in demo)",
        ),
        issuer=env.text(
            "AUTH_ISSUER", "bff-demo-identity" if demo else "", "the `iss` tokens must carry"
        ),
        audience=env.text("AUTH_AUDIENCE", "bff", "the `aud` tokens must carry"),
        algorithms=_list(
            env.text("AUTH_ALGORITHMS", "RS256,ES256", "accepted signing algorithms (allowlist)")
        ),
        hs256_secret=Secret(
            env.text("AUTH_HS256_SECRET", "", "shared secret; only when set is HS256 accepted")
        ),
        leeway_s=env.integer("AUTH_LEEWAY_S", 30, "clock skew allowed on exp and nbf", low=0),
        jwks_refresh_s=env.integer(
            "AUTH_JWKS_REFRESH_S", 30, "least time between refetches for an unknown key id", low=0
        ),
        roles_claim=env.text("AUTH_ROLES_CLAIM", "roles", "the claim holding the caller's roles"),
    )


def _limits(env: _Reader) -> LimitSettings:
    return LimitSettings(
        max_body_bytes=env.integer(
            "MAX_BODY_BYTES", 100_000, "largest request body (or GET query string)", low=1
        ),
        max_tokens=env.integer("MAX_TOKENS", 5_000, "most lexical tokens in a document", low=1),
        max_depth=env.integer("MAX_DEPTH", 12, "deepest field nesting", low=1),
        max_aliases=env.integer("MAX_ALIASES", 30, "most aliased fields in an operation", low=0),
        max_root_fields=env.integer("MAX_ROOT_FIELDS", 20, "most top-level fields", low=1),
        max_cost=env.integer(
            "MAX_COST", 20_000, "largest estimated cost (fields times list sizes)", low=1
        ),
        default_list_size=env.integer(
            "DEFAULT_LIST_SIZE", 10, "list size the cost assumes without a `first`", low=1
        ),
        max_validation_work=env.integer(
            "MAX_VALIDATION_WORK",
            20_000,
            "comparisons of same-named fields validation may make (graphql-core's budget)",
            low=1,
        ),
    )


def _rate_limit(env: _Reader, demo: bool) -> RateLimitSettings:
    return RateLimitSettings(
        enabled=env.boolean(
            "RATE_LIMIT",
            not demo,
            "token-bucket rate limits per user, else per client IP (default: production only)",
        ),
        capacity=env.integer("RATE_LIMIT_CAPACITY", 50_000, "bucket size, in cost units", low=1),
        refill_per_s=env.integer(
            "RATE_LIMIT_REFILL_PER_S", 5_000, "cost units added back per second", low=1
        ),
        cost=env.choice(
            "RATE_LIMIT_COST",
            ("operation", "request"),
            "operation",
            "what a request takes from the bucket: its estimated cost, or 1",
        ),
        trusted_proxies=_list(
            env.text(
                "TRUSTED_PROXIES",
                "",
                "comma-separated proxy addresses or CIDRs whose X-Forwarded-For is believed",
            )
        ),
    )


def _downstream_cache_redis(env: _Reader) -> RemoteCacheSettings:
    return RemoteCacheSettings(
        enabled=env.boolean(
            "DOWNSTREAM_CACHE_REDIS",
            False,
            "a second tier of the downstream cache in BFF_REDIS_URL, shared by replicas "
            "(public answers only, unless BFF_DOWNSTREAM_CACHE_KEY is set)",
        ),
        prefix=env.text(
            "DOWNSTREAM_CACHE_REDIS_PREFIX", "bff:dc", "prefix of the Redis tier's keys"
        ),
        key=Secret(
            env.parsed(
                "DOWNSTREAM_CACHE_KEY",
                "",
                "secret (32+ characters) that lets private answers into Redis, "
                "encrypted (AES-GCM) under a name derived from the caller",
                _secret,
                shown="",
            )
        ),
        timeout_s=env.milliseconds(
            "DOWNSTREAM_CACHE_REDIS_TIMEOUT_MS",
            50,
            "time a Redis tier call may take before the read goes on without it",
            low=1,
        ),
    )


def _secret(raw: str) -> str:
    if len(raw) < 32:
        raise ValueError("must be at least 32 characters (e.g. `openssl rand -base64 32`)")
    return raw


def _check_pseudonyms(product: ProductSettings) -> None:
    """Exposure events need a key for their pseudonyms, refused at start-up without one.

    An unkeyed hash of a user id reverses by hashing every id; leaving callers out
    of exposures would lose the distinct-caller counts that experiments are read by.
    """
    if product.exposures and not product.subject_key:
        raise SettingsError(
            "BFF_EXPERIMENTS_FILE with usage events needs BFF_USAGE_SUBJECT_KEY "
            "(or BFF_USAGE_SINK=none)"
        )


def _check_redis_uses(settings: Settings) -> None:
    """Settings that put something in Redis need BFF_REDIS_URL, refused at start-up."""
    if settings.product.usage_sink == "redis" and not settings.redis_url:
        raise SettingsError("BFF_USAGE_SINK=redis needs BFF_REDIS_URL")
    if not settings.downstream_cache_redis.enabled:
        return
    if not settings.redis_url:
        raise SettingsError("BFF_DOWNSTREAM_CACHE_REDIS=true needs BFF_REDIS_URL")
    if not settings.downstream_cache:
        raise SettingsError("BFF_DOWNSTREAM_CACHE_REDIS=true needs BFF_DOWNSTREAM_CACHE=true")


def _compression(env: _Reader) -> int | None:
    enabled = env.boolean("COMPRESSION", True, "compress responses (br or gzip as accepted)")
    min_bytes = env.integer("COMPRESSION_MIN_BYTES", 1024, "smallest body compressed", low=0)
    return min_bytes if enabled else None


DEMO_EXPERIMENTS = Path(__file__).resolve().parents[2] / "demo" / "experiments.toml"


def _product(env: _Reader, demo: bool) -> ProductSettings:
    sink = env.choice(
        "USAGE_SINK",
        ("jsonl", "redis", "stdout", "none"),
        "jsonl",
        "where usage records go (redis: a stream in BFF_REDIS_URL)",
    )
    return ProductSettings(
        experiments_file=env.parsed(
            "EXPERIMENTS_FILE",
            str(DEMO_EXPERIMENTS) if demo else "",
            "experiments and feature flags (TOML), reloaded on change "
            "(default: the demo's in demo, none in production)",
            str,
            shown="demo/experiments.toml in demo",
        ),
        reload_interval_s=env.milliseconds(
            "EXPERIMENTS_RELOAD_MS", 2000, "how often the experiments file is checked", low=1
        ),
        exposure_window_s=env.integer(
            "EXPOSURE_WINDOW_S",
            86_400,
            "a caller's exposure to a variant counts once per this window (written once across "
            "workers and replicas with BFF_REDIS_URL; reports count it once either way)",
            low=1,
        ),
        usage_sink=sink,
        usage_file=env.text(
            "USAGE_FILE", "usage.jsonl", "the JSON lines file usage records go to (jsonl sink)"
        ),
        usage_file_max_bytes=env.integer(
            "USAGE_FILE_MAX_BYTES",
            64 * 1024 * 1024,
            "size at which the usage file is rotated (to usage.jsonl.1, .2, ...)",
            low=1,
            shown="67108864 (64 MiB)",
        ),
        usage_file_keep=env.integer(
            "USAGE_FILE_KEEP", 4, "rotated usage files kept besides the current one", low=1
        ),
        usage_stream=env.text(
            "USAGE_STREAM", "bff:usage", "the Redis stream usage records go to (redis sink)"
        ),
        usage_interval_s=env.milliseconds(
            "USAGE_INTERVAL_MS",
            60_000,
            "each worker writes its usage aggregates (counts, errors, latency, fields per "
            "operation and client) once per this interval, and at shutdown",
            low=1,
        ),
        usage_sample=env.parsed(
            "USAGE_SAMPLE",
            1.0 if demo else 0.01,
            "fraction of operations also written as a raw event, 0 to 1 "
            "(default: 1 in demo, 0.01 in production)",
            _fraction,
            shown="1 in demo, 0.01 in production",
        ),
        usage_queue=env.integer(
            "USAGE_QUEUE",
            10_000,
            "raw usage events (sampled operations, exposures) held before new ones are dropped",
            low=1,
        ),
        usage_batch=env.integer("USAGE_BATCH", 500, "raw usage events written at once", low=1),
        usage_flush_s=env.milliseconds(
            "USAGE_FLUSH_MS", 1000, "longest a raw usage event waits in the queue", low=1
        ),
        subject_key=Secret(
            env.parsed(
                "USAGE_SUBJECT_KEY",
                DEMO_SUBJECT_KEY if demo else "",
                "secret (32+ characters) keying the caller's pseudonym in exposure events "
                "(HMAC-SHA256); needed with an experiments file and a usage sink "
                "(default: a published key in demo, none in production)",
                _subject_key(demo),
                shown="a published key in demo",
            )
        ),
    )


def _fraction(raw: str) -> float:
    try:
        value = float(raw)
    except ValueError:
        raise ValueError(f"must be a number from 0 to 1, got {raw!r}") from None
    if not 0.0 <= value <= 1.0:
        raise ValueError(f"must be from 0 to 1, got {raw}")
    return value


DEMO_SUBJECT_KEY = "demo-usage-subject-key, published: never use it in production"
"""The demo's pseudonym key. Anyone can read it here, so production refuses it."""


def _subject_key(demo: bool) -> Callable[[str], str]:
    def parse(raw: str) -> str:
        if not demo and raw == DEMO_SUBJECT_KEY:
            raise ValueError("is the demo's published key: anyone could recompute pseudonyms")
        return _secret(raw)

    return parse


def _persisted(env: _Reader) -> PersistedSettings:
    trusted = env.text(
        "TRUSTED_DOCUMENTS",
        "",
        "manifest of trusted operations (Apollo persisted-query manifest or {id: document})",
    )
    mode = env.choice(
        "DOCUMENTS_MODE",
        ("open", "safelist"),
        "open",
        "open: any operation runs; safelist: only the trusted documents",
    )
    if mode == "safelist" and not trusted:
        raise SettingsError("BFF_DOCUMENTS_MODE=safelist needs BFF_TRUSTED_DOCUMENTS")
    return PersistedSettings(
        apq=env.boolean(
            "APQ", True, "automatic persisted queries: clients may send a hash for a known document"
        ),
        cache_max_bytes=env.integer(
            "APQ_CACHE_MB", 16, "most megabytes of registered documents kept in process", low=1
        )
        * 1024
        * 1024,
        redis_ttl_s=env.integer(
            "APQ_REDIS_TTL_S",
            7 * 24 * 3600,
            "how long Redis keeps a registered document (with BFF_REDIS_URL)",
            low=1,
        ),
        trusted_documents=trusted,
        safelist=mode == "safelist",
        reload_interval_s=env.milliseconds(
            "TRUSTED_DOCUMENTS_RELOAD_MS", 2000, "how often the manifest is checked", low=1
        ),
    )


def _http(env: _Reader, demo: bool) -> HttpSettings:
    return HttpSettings(
        tls_cert_file=env.text("TLS_CERT_FILE", "", "serve HTTPS with this certificate (PEM)"),
        tls_key_file=env.text("TLS_KEY_FILE", "", "... and this private key (PEM)"),
        cors_origins=_list(
            env.text(
                "CORS_ORIGINS",
                "*" if demo else "",
                "origins allowed to call from browsers (default: any in demo, none in production)",
            )
        ),
        csrf_prevention=env.boolean(
            "CSRF_PREVENTION",
            not demo,
            "refuse GET and non-JSON requests without a preflight-forcing header",
        ),
        introspection=env.boolean(
            "INTROSPECTION", demo, "answer __schema and __type (default: demo only)"
        ),
    )


def _resilience_policy(env: _Reader) -> ResiliencePolicy:
    return ResiliencePolicy(
        retry=RetryPolicy(
            attempts=env.integer(
                "RETRY_ATTEMPTS",
                3,
                "tries per idempotent downstream call, the first included",
                low=1,
            ),
            base_delay_s=env.milliseconds(
                "RETRY_BASE_DELAY_MS",
                25,
                "ceiling of the first jittered wait; doubles each time",
                low=0,
            ),
            max_delay_s=env.milliseconds(
                "RETRY_MAX_DELAY_MS", 500, "largest ceiling of a jittered wait", low=0
            ),
        ),
        budget=BudgetPolicy(
            ratio=env.integer(
                "RETRY_BUDGET_PERCENT",
                10,
                "retries and hedges may add this share of a service's calls (over 10 s)",
                low=0,
            )
            / 100,
            min_per_s=env.integer(
                "RETRY_BUDGET_MIN_PER_S", 1, "retries always allowed per second and service", low=0
            ),
        ),
        breaker=BreakerPolicy(
            enabled=env.boolean("BREAKER", True, "a circuit breaker per downstream service"),
            window_s=env.integer(
                "BREAKER_WINDOW_S", 10, "seconds of calls the failure ratio is taken over", low=1
            ),
            min_calls=env.integer(
                "BREAKER_MIN_CALLS", 20, "calls in the window before the breaker may open", low=1
            ),
            failure_ratio=env.integer(
                "BREAKER_FAILURE_PERCENT", 50, "failed calls that open the breaker", low=1, high=100
            )
            / 100,
            open_s=env.milliseconds(
                "BREAKER_OPEN_MS", 5000, "how long an open breaker fails calls fast", low=1
            ),
            probes=env.integer(
                "BREAKER_PROBES", 3, "successful trial calls that close the breaker again", low=1
            ),
        ),
        hedge=HedgePolicy(
            enabled=env.boolean(
                "HEDGE", True, "send one duplicate of a read still unanswered after its p95"
            ),
            min_delay_s=env.milliseconds(
                "HEDGE_MIN_DELAY_MS", 20, "never hedge sooner than this", low=0
            ),
        ),
    )


def _resilience(env: _Reader, demo: bool) -> ResilienceSettings:
    return ResilienceSettings(
        operation_budget_s=env.milliseconds(
            "OPERATION_BUDGET_MS",
            2500,
            "time an operation may take in all; downstream calls get what is left",
            low=1,
        ),
        operation_budgets=env.parsed(
            "OPERATION_BUDGETS",
            {},
            "per-operation budgets in ms, e.g. `HomeFeed=1500,CategoryListing=3000`",
            _budgets,
            shown="",
        ),
        stale_if_error_s=env.integer(
            "STALE_IF_ERROR_S",
            300,
            "how long past expiry a cached read may stand in for a failed one",
            low=0,
        ),
        max_in_flight=env.integer(
            "MAX_IN_FLIGHT",
            512,
            "operations answered at once; more get 503 with Retry-After",
            low=1,
        ),
        shutdown_delay_s=env.milliseconds(
            "SHUTDOWN_DELAY_MS",
            0 if demo else 5000,
            "on SIGTERM, time /readyz answers 503 before the server stops accepting "
            "(default: 0 in demo, 5000 in production)",
            low=0,
        ),
        drain_timeout_s=env.milliseconds(
            "DRAIN_TIMEOUT_MS", 10_000, "time in-flight requests get to finish at shutdown", low=0
        ),
    )


def _budgets(raw: str) -> dict[str, float]:
    budgets: dict[str, float] = {}
    for item in _list(raw):
        name, equals, value = item.partition("=")
        name = name.strip()
        if not equals or not name or not value.strip().isdigit() or int(value) < 1:
            raise ValueError(f"expected Name=milliseconds, got {item!r}")
        budgets[name] = int(value) / 1000
    return budgets


def _subscriptions(env: _Reader) -> SubscriptionSettings:
    return SubscriptionSettings(
        max_per_connection=env.integer(
            "MAX_SUBSCRIPTIONS_PER_CONNECTION",
            10,
            "subscriptions one WebSocket connection may run at once",
            low=1,
        ),
        keepalive_s=env.milliseconds(
            "SUBSCRIPTION_KEEPALIVE_MS",
            15_000,
            "interval of the server's keep-alive pings on a WebSocket; 0: none",
            low=0,
        ),
        init_timeout_s=env.milliseconds(
            "SUBSCRIPTION_INIT_TIMEOUT_MS",
            3_000,
            "time a new WebSocket has to send `connection_init` before it is closed (4408)",
            low=1,
        ),
        max_per_user=env.integer(
            "MAX_SUBSCRIPTIONS_PER_USER",
            30,
            "subscriptions one signed-in user may run at once over all its WebSockets, "
            "counted per process",
            low=1,
        ),
        max_per_address=env.integer(
            "MAX_SUBSCRIPTIONS_PER_ADDRESS",
            300,
            "subscriptions one client address (as BFF_TRUSTED_PROXIES finds it) may run at "
            "once over all its WebSockets, counted per process",
            low=1,
        ),
        max_sockets_per_user=env.integer(
            "MAX_WEBSOCKETS_PER_USER",
            10,
            "WebSockets one signed-in user may hold open, counted per process; more are "
            "closed with 1013 at `connection_init`",
            low=1,
        ),
        max_sockets_per_address=env.integer(
            "MAX_WEBSOCKETS_PER_ADDRESS",
            100,
            "WebSockets one client address (as BFF_TRUSTED_PROXIES finds it) may hold open, "
            "counted per process; more are closed with 1013",
            low=1,
        ),
        max_event_streams=env.integer(
            "MAX_EVENT_STREAMS",
            1000,
            "downstream event streams one process holds open at once; a subscription that "
            "finds none free ends with SERVICE_OVERLOADED",
            low=1,
        ),
    )


def _tracing(env: _Reader) -> TracingSettings:
    forward_baggage = env.boolean(
        "FORWARD_BAGGAGE",
        False,
        "pass a caller's W3C `baggage` header on to downstream services (the client writes it)",
    )
    endpoint = env.text(
        "OTEL_EXPORTER_OTLP_ENDPOINT", "", "OTLP/HTTP collector base URL (`/v1/traces` added)"
    )
    traces_endpoint = env.text(
        "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "", "full OTLP/HTTP traces URL; wins over the above"
    )
    if traces_endpoint:
        endpoint = traces_endpoint
    elif endpoint:
        endpoint = endpoint.rstrip("/") + "/v1/traces"
    return TracingSettings(
        forward_baggage=forward_baggage,
        exporter=env.choice(
            "OTEL_TRACES_EXPORTER",
            ("otlp", "console", "none"),
            "otlp" if endpoint else "none",
            "where spans go (default: otlp when an endpoint is set, else none)",
        ),
        endpoint=endpoint or None,
        headers=env.text("OTEL_EXPORTER_OTLP_HEADERS", "", "key=value,... sent with each export"),
        sampler=env.choice(
            "OTEL_TRACES_SAMPLER",
            SAMPLERS,
            "parentbased_always_on",
            "which traces to record; parent-based ones follow the caller's decision",
        ),
        sampler_arg=env.text("OTEL_TRACES_SAMPLER_ARG", "", "the ratio for *traceidratio"),
        service_name=env.text("OTEL_SERVICE_NAME", "bff", "service.name of every span"),
        resource_attributes=env.text(
            "OTEL_RESOURCE_ATTRIBUTES", "", "key=value,... added to every span's resource"
        ),
    )


class _Reader:
    """Reads `BFF_*` variables, remembering which exist for docs and typo checks."""

    def __init__(self, environ: Mapping[str, str]) -> None:
        self._environ = environ
        self.known: list[Variable] = []

    def _get(
        self,
        name: str,
        default: _T,
        doc: str,
        parse: Callable[[str], _T],
        shown: str | None = None,
    ) -> _T:
        # OpenTelemetry's own variables keep their standard names.
        full = name if name.startswith("OTEL_") else PREFIX + name
        if shown is None:
            shown = str(default).lower() if isinstance(default, bool) else str(default)
        self.known.append(Variable(full, shown, doc))
        raw = self._environ.get(full)
        if raw is None or raw == "":
            return default
        try:
            return parse(raw.strip())
        except ValueError as error:
            raise SettingsError(f"{full}: {error}") from None

    def text(self, name: str, default: str, doc: str) -> str:
        return self._get(name, default, doc, str)

    def parsed(
        self, name: str, default: _T, doc: str, parse: Callable[[str], _T], *, shown: str
    ) -> _T:
        """A value with its own syntax; `parse` raises ValueError with the reason."""
        return self._get(name, default, doc, parse, shown)

    def integer(
        self,
        name: str,
        default: int,
        doc: str,
        *,
        low: int | None = None,
        high: int | None = None,
        shown: str | None = None,
    ) -> int:
        def parse(raw: str) -> int:
            try:
                value = int(raw)
            except ValueError:
                raise ValueError(f"must be an integer, got {raw!r}") from None
            if (low is not None and value < low) or (high is not None and value > high):
                bounds = f"at least {low}" if high is None else f"between {low} and {high}"
                raise ValueError(f"must be {bounds}, got {value}")
            return value

        return self._get(name, default, doc, parse, shown)

    def milliseconds(self, name: str, default: int, doc: str, *, low: int | None = None) -> float:
        """A duration given in whole milliseconds, as seconds."""
        return self.integer(name, default, doc, low=low) / 1000

    def boolean(self, name: str, default: bool, doc: str) -> bool:
        def parse(raw: str) -> bool:
            lowered = raw.lower()
            if lowered in ("1", "true", "yes", "on"):
                return True
            if lowered in ("0", "false", "no", "off"):
                return False
            raise ValueError(f"must be true or false, got {raw!r}")

        return self._get(name, default, doc, parse)

    def choice(self, name: str, options: tuple[_S, ...], default: _S, doc: str) -> _S:
        def parse(raw: str) -> _S:
            for option in options:
                if raw.lower() == option:
                    return option
            raise ValueError(f"must be one of {', '.join(options)}, got {raw!r}")

        return self._get(name, default, f"{doc} ({' | '.join(options)})", parse)

    def refuse_unknown(self) -> None:
        names = {variable.name for variable in self.known}
        unknown = sorted(
            key for key in self._environ if key.startswith(PREFIX) and key not in names
        )
        if unknown:
            raise SettingsError(f"unknown setting {', '.join(unknown)}; see `bff settings`")
