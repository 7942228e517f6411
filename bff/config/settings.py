"""Typed settings, read once from `BFF_*` environment variables.

Each setting is declared once, below, as a dataclass field carrying its variable,
type, bounds, doc line and demo and production defaults (`bff.config.declare`).
The demo defaults point at the demo services, so a bare `bff serve` talks to
`python -m demo`. `Settings.from_environ` names the variable in every error and
refuses unknown `BFF_*` names. `bff settings` and docs/configuration.md list them.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from bff.config.declare import (
    Env,
    Environ,
    Profile,
    Secret,
    SettingsError,
    boolean,
    choice,
    comma_list,
    declared,
    each,
    group,
    inherited,
    integer,
    items,
    long_secret,
    megabytes,
    milliseconds,
    parsed,
    percent,
    secret,
    text,
)
from clients.breaker import BreakerPolicy
from clients.hedging import HedgePolicy
from clients.http import ServiceConfig
from clients.registry import DOWNSTREAM, SERVICES
from clients.resilience import ResiliencePolicy
from clients.retry import BudgetPolicy, RetryPolicy

__all__ = [
    "DEMO_PORTS",
    "DEMO_SUBJECT_KEY",
    "AuthSettings",
    "CompressionSettings",
    "DownstreamResilienceSettings",
    "DownstreamSettings",
    "HttpSettings",
    "LimitSettings",
    "PersistedSettings",
    "ProductSettings",
    "Profile",
    "RateLimitSettings",
    "RemoteCacheSettings",
    "ResilienceSettings",
    "Secret",
    "ServiceSettings",
    "Settings",
    "SettingsError",
    "SubscriptionSettings",
    "TracingSettings",
    "Variable",
]

PROFILES: tuple[Profile, ...] = ("demo", "production")
SAMPLERS = (
    "always_on",
    "always_off",
    "traceidratio",
    "parentbased_always_on",
    "parentbased_always_off",
    "parentbased_traceidratio",
)
DEMO_SUBJECT_KEY = "demo-usage-subject-key, published: never use it in production"
"""The demo's pseudonym key. Anyone can read it here, so production refuses it."""
DEMO_EXPERIMENTS = Path(__file__).resolve().parents[2] / "demo" / "experiments.toml"


@dataclass(frozen=True, slots=True)
class Variable:
    """One documented environment variable."""

    name: str
    default: str
    """Its demo default, as shown."""
    doc: str
    production: str = ""
    kind: str = ""
    section: str = ""


# Downstream services: where they are and how patient to be with them.
# Per-service variables are templates: `{SERVICE}` is the service's name in capitals.

DEMO_PORTS = {service.name: service.port for service in DOWNSTREAM}
"""Each service's default port, from the table of services (`clients.registry`)."""
_SERVICES = {service.name: service for service in DOWNSTREAM}


@dataclass(frozen=True, slots=True)
class DownstreamSettings:
    """Downstream calls, for every service."""

    timeout_s: float = milliseconds(
        "DOWNSTREAM_TIMEOUT_MS", 2000, "time a downstream call may take, per call", low=1
    )
    connect_timeout_s: float = milliseconds(
        "DOWNSTREAM_CONNECT_TIMEOUT_MS", 500, "time to open a downstream connection", low=1
    )
    max_connections: int = integer(
        "DOWNSTREAM_MAX_CONNECTIONS",
        64,
        "connections per downstream service; also the cap on its calls in flight",
        low=1,
    )
    ca_bundle: str = text(
        "DOWNSTREAM_CA_BUNDLE", "", "CA certificates (PEM) that downstream TLS must chain to"
    )
    client_cert: str = text(
        "DOWNSTREAM_CLIENT_CERT", "", "client certificate (PEM) presented downstream (mTLS)"
    )
    client_key: str = text("DOWNSTREAM_CLIENT_KEY", "", "... and its private key (PEM)")
    stream_idle_timeout_s: float = milliseconds(
        "DOWNSTREAM_STREAM_IDLE_TIMEOUT_MS",
        45_000,
        "time a downstream event stream may send nothing (no event, no keep-alive comment) "
        "before it is taken for broken and reopened",
        low=1,
    )


@dataclass(frozen=True, slots=True)
class ServiceSettings:
    """One downstream service (`{SERVICE}`: its name in capitals)."""

    url: str = text("{SERVICE}_URL", "{url}", "base URL of the {service} service")
    timeout_s: float | None = inherited(
        "{SERVICE}_TIMEOUT_MS",
        "overrides BFF_DOWNSTREAM_TIMEOUT_MS for {service}",
        low=1,
        scale=1000,
        shown="BFF_DOWNSTREAM_TIMEOUT_MS",
    )
    max_connections: int | None = inherited(
        "{SERVICE}_MAX_CONNECTIONS",
        "overrides BFF_DOWNSTREAM_MAX_CONNECTIONS for {service}",
        low=1,
        shown="BFF_DOWNSTREAM_MAX_CONNECTIONS",
    )
    health_path: str = text("{SERVICE}_HEALTH_PATH", "{health}", "path /readyz probes on {service}")
    forward_authorization: bool = boolean(
        "{SERVICE}_FORWARD_AUTHORIZATION",
        True,
        "pass the caller's Authorization header on to {service}",
    )

    def config(
        self, downstream: DownstreamSettings, resilience: DownstreamResilienceSettings
    ) -> ServiceConfig:
        return ServiceConfig(
            base_url=self.url,
            timeout_s=downstream.timeout_s if self.timeout_s is None else self.timeout_s,
            connect_timeout_s=downstream.connect_timeout_s,
            max_connections=downstream.max_connections
            if self.max_connections is None
            else self.max_connections,
            health_path=self.health_path,
            forward_authorization=self.forward_authorization,
            ca_bundle=downstream.ca_bundle or None,
            client_cert=downstream.client_cert or None,
            client_key=downstream.client_key or None,
            resilience=resilience.policy(),
            stream_idle_timeout_s=downstream.stream_idle_timeout_s,
        )


def _service_names(name: str) -> Mapping[str, object]:
    return {
        "SERVICE": name.upper(),
        "service": name,
        "url": _SERVICES[name].default_url,
        "health": _SERVICES[name].health_path,
    }


# End of the per-service settings.


@dataclass(frozen=True, slots=True)
class DownstreamResilienceSettings:
    """Retries, retry budgets, circuit breakers and hedged reads, per downstream service."""

    retry_attempts: int = integer(
        "RETRY_ATTEMPTS", 3, "tries per idempotent downstream call, the first included", low=1
    )
    retry_base_delay_s: float = milliseconds(
        "RETRY_BASE_DELAY_MS", 25, "ceiling of the first jittered wait; doubles each time", low=0
    )
    retry_max_delay_s: float = milliseconds(
        "RETRY_MAX_DELAY_MS", 500, "largest ceiling of a jittered wait", low=0
    )
    retry_budget_ratio: float = percent(
        "RETRY_BUDGET_PERCENT",
        10,
        "retries and hedges may add this share of a service's calls (over 10 s)",
        low=0,
    )
    retry_budget_min_per_s: int = integer(
        "RETRY_BUDGET_MIN_PER_S", 1, "retries always allowed per second and service", low=0
    )
    breaker: bool = boolean("BREAKER", True, "a circuit breaker per downstream service")
    breaker_window_s: int = integer(
        "BREAKER_WINDOW_S", 10, "seconds of calls the failure ratio is taken over", low=1
    )
    breaker_min_calls: int = integer(
        "BREAKER_MIN_CALLS", 20, "calls in the window before the breaker may open", low=1
    )
    breaker_failure_ratio: float = percent(
        "BREAKER_FAILURE_PERCENT", 50, "failed calls that open the breaker", low=1, high=100
    )
    breaker_open_s: float = milliseconds(
        "BREAKER_OPEN_MS", 5000, "how long an open breaker fails calls fast", low=1
    )
    breaker_probes: int = integer(
        "BREAKER_PROBES", 3, "successful trial calls that close the breaker again", low=1
    )
    hedge: bool = boolean(
        "HEDGE", True, "send one duplicate of a read still unanswered after its p95"
    )
    hedge_min_delay_s: float = milliseconds(
        "HEDGE_MIN_DELAY_MS", 20, "never hedge sooner than this", low=0
    )

    def policy(self) -> ResiliencePolicy:
        return ResiliencePolicy(
            retry=RetryPolicy(
                attempts=self.retry_attempts,
                base_delay_s=self.retry_base_delay_s,
                max_delay_s=self.retry_max_delay_s,
            ),
            budget=BudgetPolicy(
                ratio=self.retry_budget_ratio, min_per_s=self.retry_budget_min_per_s
            ),
            breaker=BreakerPolicy(
                enabled=self.breaker,
                window_s=self.breaker_window_s,
                min_calls=self.breaker_min_calls,
                failure_ratio=self.breaker_failure_ratio,
                open_s=self.breaker_open_s,
                probes=self.breaker_probes,
            ),
            hedge=HedgePolicy(enabled=self.hedge, min_delay_s=self.hedge_min_delay_s),
        )


@dataclass(frozen=True, slots=True)
class RemoteCacheSettings:
    """The downstream cache's Redis tier (see `clients.remote_cache`)."""

    enabled: bool = boolean(
        "DOWNSTREAM_CACHE_REDIS",
        False,
        "a second tier of the downstream cache in BFF_REDIS_URL, shared by replicas "
        "(public answers only, unless BFF_DOWNSTREAM_CACHE_KEY is set)",
    )
    prefix: str = text("DOWNSTREAM_CACHE_REDIS_PREFIX", "bff:dc", "prefix of the Redis tier's keys")
    key: Secret = secret(
        "DOWNSTREAM_CACHE_KEY",
        "secret that lets private answers into Redis, encrypted (AES-GCM) under a name "
        "derived from the caller; without it they stay in process",
    )
    timeout_s: float = milliseconds(
        "DOWNSTREAM_CACHE_REDIS_TIMEOUT_MS",
        50,
        "time a Redis tier call may take before the read goes on without it",
        low=1,
    )


@dataclass(frozen=True, slots=True)
class CompressionSettings:
    """Response compression (see `bff.http.compression`)."""

    enabled: bool = boolean("COMPRESSION", True, "compress responses (br or gzip as accepted)")
    min_bytes: int = integer("COMPRESSION_MIN_BYTES", 1024, "smallest body compressed", low=0)


@dataclass(frozen=True, slots=True)
class TracingSettings:
    """Traces: the `OTEL_*` variables the BFF honours, and `BFF_FORWARD_BAGGAGE`."""

    forward_baggage: bool = boolean(
        "FORWARD_BAGGAGE",
        False,
        "pass a caller's W3C `baggage` header on to downstream services (the client writes it)",
    )
    otlp_endpoint: str = text(
        "OTEL_EXPORTER_OTLP_ENDPOINT", "", "OTLP/HTTP collector base URL (`/v1/traces` added)"
    )
    traces_endpoint: str = text(
        "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "", "full OTLP/HTTP traces URL; wins over the above"
    )
    exporter: str = choice(
        "OTEL_TRACES_EXPORTER",
        ("otlp", "console", "none"),
        "none",
        "where spans go",
        derive=lambda read: "otlp" if read["otlp_endpoint"] or read["traces_endpoint"] else "none",
        shown=("otlp with an endpoint, else none",) * 2,
    )
    headers: str = text("OTEL_EXPORTER_OTLP_HEADERS", "", "key=value,... sent with each export")
    sampler: str = choice(
        "OTEL_TRACES_SAMPLER",
        SAMPLERS,
        "parentbased_always_on",
        "which traces to record; parent-based ones follow the caller's decision",
    )
    sampler_arg: str = text("OTEL_TRACES_SAMPLER_ARG", "", "the ratio for *traceidratio")
    service_name: str = text("OTEL_SERVICE_NAME", "bff", "service.name of every span")
    resource_attributes: str = text(
        "OTEL_RESOURCE_ATTRIBUTES", "", "key=value,... added to every span's resource"
    )

    @property
    def endpoint(self) -> str | None:
        """Where spans are posted: the traces URL, else the base URL's `/v1/traces`."""
        if self.traces_endpoint:
            return self.traces_endpoint
        if self.otlp_endpoint:
            return self.otlp_endpoint.rstrip("/") + "/v1/traces"
        return None


@dataclass(frozen=True, slots=True)
class AuthSettings:
    """Bearer-token checks (see `bff.security.auth`)."""

    jwks_url: str = text(
        "AUTH_JWKS_URL",
        "http://127.0.0.1:8107/.well-known/jwks.json",
        "where signing keys are fetched (the demo identity provider in demo)",
        production="",
    )
    issuer: str = text(
        "AUTH_ISSUER", "bff-demo-identity", "the `iss` tokens must carry", production=""
    )
    audience: str = text("AUTH_AUDIENCE", "bff", "the `aud` tokens must carry")
    algorithms: tuple[str, ...] = items(
        "AUTH_ALGORITHMS", ("RS256", "ES256"), "accepted signing algorithms (allowlist)"
    )
    hs256_secret: Secret = secret(
        "AUTH_HS256_SECRET", "shared secret; only when set is HS256 accepted", checked=False
    )
    leeway_s: float = integer("AUTH_LEEWAY_S", 30, "clock skew allowed on exp and nbf", low=0)
    jwks_refresh_s: float = integer(
        "AUTH_JWKS_REFRESH_S", 30, "least time between refetches for an unknown key id", low=0
    )
    roles_claim: str = text("AUTH_ROLES_CLAIM", "roles", "the claim holding the caller's roles")


@dataclass(frozen=True, slots=True)
class LimitSettings:
    """What one request may ask for (see `bff.execution.limits`)."""

    max_body_bytes: int = integer(
        "MAX_BODY_BYTES", 100_000, "largest request body (or GET query string)", low=1
    )
    max_tokens: int = integer("MAX_TOKENS", 5_000, "most lexical tokens in a document", low=1)
    max_depth: int = integer("MAX_DEPTH", 12, "deepest field nesting", low=1)
    max_aliases: int = integer("MAX_ALIASES", 30, "most aliased fields in an operation", low=0)
    max_root_fields: int = integer("MAX_ROOT_FIELDS", 20, "most top-level fields", low=1)
    max_cost: int = integer(
        "MAX_COST", 20_000, "largest estimated cost (fields times list sizes)", low=1
    )
    default_list_size: int = integer(
        "DEFAULT_LIST_SIZE", 10, "list size the cost assumes without a `first`", low=1
    )
    batch_max: int = integer(
        "BATCH_MAX",
        0,
        "most operations in one batched POST (a JSON array, as Apollo's BatchHttpLink sends); "
        "0: batches are refused",
        low=0,
    )
    batch_max_cost: int = integer(
        "BATCH_MAX_COST",
        20_000,
        "largest estimated cost of all a batch's operations together",
        low=1,
    )
    max_validation_work: int = integer(
        "MAX_VALIDATION_WORK",
        20_000,
        "comparisons of same-named fields validation may make (graphql-core's budget)",
        low=1,
    )


@dataclass(frozen=True, slots=True)
class RateLimitSettings:
    """Token buckets per caller (see `bff.security.rate_limit`)."""

    enabled: bool = boolean(
        "RATE_LIMIT",
        False,
        "token-bucket rate limits per user, else per client IP",
        production=True,
    )
    capacity: int = integer("RATE_LIMIT_CAPACITY", 50_000, "bucket size, in cost units", low=1)
    refill_per_s: float = integer(
        "RATE_LIMIT_REFILL_PER_S", 5_000, "cost units added back per second", low=1
    )
    cost: str = choice(
        "RATE_LIMIT_COST",
        ("operation", "request"),
        "operation",
        "what a request takes from the bucket: its estimated cost, or 1",
    )
    trusted_proxies: tuple[str, ...] = items(
        "TRUSTED_PROXIES",
        (),
        "proxy addresses or CIDRs whose X-Forwarded-For is believed",
    )


@dataclass(frozen=True, slots=True)
class HttpSettings:
    """The HTTP edge: TLS, CORS, CSRF prevention, introspection."""

    tls_cert_file: str = text("TLS_CERT_FILE", "", "serve HTTPS with this certificate (PEM)")
    tls_key_file: str = text("TLS_KEY_FILE", "", "... and this private key (PEM)")
    cors_origins: tuple[str, ...] = items(
        "CORS_ORIGINS", ("*",), "origins allowed to call from browsers", production=()
    )
    csrf_prevention: bool = boolean(
        "CSRF_PREVENTION",
        False,
        "refuse GET and non-JSON requests without a preflight-forcing header",
        production=True,
    )
    introspection: bool = boolean(
        "INTROSPECTION", True, "answer __schema and __type", production=False
    )


@dataclass(frozen=True, slots=True)
class ResilienceSettings:
    """Time budgets, stale answers, load shedding and shutdown.

    Retries, breakers and hedging are per service, in `DownstreamResilienceSettings`.
    """

    operation_budget_s: float = milliseconds(
        "OPERATION_BUDGET_MS",
        2500,
        "time an operation may take in all; downstream calls get what is left",
        low=1,
    )
    operation_budgets: Mapping[str, float] = parsed(
        "OPERATION_BUDGETS",
        {},
        "per-operation budgets in ms, e.g. `HomeFeed=1500,CategoryListing=3000`, "
        "overriding BFF_OPERATION_BUDGET_MS",
        lambda raw: _budgets(raw),
        kind="Name=milliseconds,...",
        shown=("", ""),
    )
    stale_if_error_s: float = integer(
        "STALE_IF_ERROR_S",
        300,
        "how long past expiry a cached read may stand in for a failed one",
        low=0,
    )
    max_in_flight: int = integer(
        "MAX_IN_FLIGHT", 512, "operations answered at once; more get 503 with Retry-After", low=1
    )
    shutdown_delay_s: float = milliseconds(
        "SHUTDOWN_DELAY_MS",
        0,
        "on SIGTERM, time /readyz answers 503 before the server stops accepting",
        low=0,
        production=5000,
    )
    drain_timeout_s: float = milliseconds(
        "DRAIN_TIMEOUT_MS", 10_000, "time in-flight requests get to finish at shutdown", low=0
    )

    def budget_for(self, operation_name: str | None) -> float:
        if operation_name is None:
            return self.operation_budget_s
        return self.operation_budgets.get(operation_name, self.operation_budget_s)


def _budgets(raw: str) -> dict[str, float]:
    budgets: dict[str, float] = {}
    for item in comma_list(raw):
        name, equals, value = item.partition("=")
        name = name.strip()
        if not equals or not name or not value.strip().isdigit() or int(value) < 1:
            raise ValueError(f"expected Name=milliseconds, got {item!r}")
        budgets[name] = int(value) / 1000
    return budgets


@dataclass(frozen=True, slots=True)
class PersistedSettings:
    """Persisted queries and trusted documents (see `bff.contract`)."""

    trusted_documents: str = text(
        "TRUSTED_DOCUMENTS",
        "",
        "manifest of trusted operations (Apollo persisted-query manifest or {id: document})",
    )
    mode: str = choice(
        "DOCUMENTS_MODE",
        ("open", "safelist"),
        "open",
        "open: any operation runs; safelist: only the trusted documents",
    )
    apq: bool = boolean(
        "APQ", True, "automatic persisted queries: clients may send a hash for a known document"
    )
    cache_max_bytes: int = megabytes(
        "APQ_CACHE_MB", 16, "most megabytes of registered documents kept in process", low=1
    )
    redis_ttl_s: int = integer(
        "APQ_REDIS_TTL_S",
        7 * 24 * 3600,
        "how long Redis keeps a registered document (with BFF_REDIS_URL)",
        low=1,
    )
    reload_interval_s: float = milliseconds(
        "TRUSTED_DOCUMENTS_RELOAD_MS", 2000, "how often the manifest is checked", low=1
    )

    @property
    def safelist(self) -> bool:
        return self.mode == "safelist"


def _fraction(raw: str) -> float:
    try:
        value = float(raw)
    except ValueError:
        raise ValueError(f"must be a number from 0 to 1, got {raw!r}") from None
    if not 0.0 <= value <= 1.0:
        raise ValueError(f"must be from 0 to 1, got {raw}")
    return value


@dataclass(frozen=True, slots=True)
class ProductSettings:
    """Experiments, feature flags and usage analytics (see `bff.product`)."""

    experiments_file: str = text(
        "EXPERIMENTS_FILE",
        str(DEMO_EXPERIMENTS),
        "experiments and feature flags (TOML), reloaded on change",
        production="",
        shown=("demo/experiments.toml", ""),
    )
    reload_interval_s: float = milliseconds(
        "EXPERIMENTS_RELOAD_MS", 2000, "how often the experiments file is checked", low=1
    )
    exposure_window_s: float = integer(
        "EXPOSURE_WINDOW_S",
        86_400,
        "a caller's exposure to a variant counts once per this window (written once across "
        "workers and replicas with BFF_REDIS_URL; reports count it once either way)",
        low=1,
    )
    usage_sink: str = choice(
        "USAGE_SINK",
        ("jsonl", "redis", "stdout", "none"),
        "jsonl",
        "where usage records go (redis: a stream in BFF_REDIS_URL)",
    )
    usage_file: str = text(
        "USAGE_FILE", "usage.jsonl", "the JSON lines file usage records go to (jsonl sink)"
    )
    usage_file_max_bytes: int = integer(
        "USAGE_FILE_MAX_BYTES",
        64 * 1024 * 1024,
        "size at which the usage file is rotated (to usage.jsonl.1, .2, ...)",
        low=1,
        shown=("67108864 (64 MiB)",) * 2,
    )
    usage_file_keep: int = integer(
        "USAGE_FILE_KEEP", 4, "rotated usage files kept besides the current one", low=1
    )
    usage_stream: str = text(
        "USAGE_STREAM", "bff:usage", "the Redis stream usage records go to (redis sink)"
    )
    usage_interval_s: float = milliseconds(
        "USAGE_INTERVAL_MS",
        60_000,
        "each worker writes its usage aggregates (counts, errors, latency, fields per "
        "operation and client) once per this interval, and at shutdown",
        low=1,
    )
    usage_sample: float = parsed(
        "USAGE_SAMPLE",
        1.0,
        "fraction of operations also written as a raw event",
        _fraction,
        kind="number 0-1",
        production=0.01,
        shown=("1", "0.01"),
    )
    usage_queue: int = integer(
        "USAGE_QUEUE",
        10_000,
        "raw usage events (sampled operations, exposures) held before new ones are dropped",
        low=1,
    )
    usage_batch: int = integer("USAGE_BATCH", 500, "raw usage events written at once", low=1)
    usage_flush_s: float = milliseconds(
        "USAGE_FLUSH_MS", 1000, "longest a raw usage event waits in the queue", low=1
    )
    subject_key: Secret = parsed(
        "USAGE_SUBJECT_KEY",
        Secret(DEMO_SUBJECT_KEY),
        "secret keying the caller's pseudonym in exposure events (HMAC-SHA256); needed with "
        "an experiments file and a usage sink; production refuses the demo's",
        lambda raw: Secret(long_secret(raw)),
        kind="secret, 32+ characters",
        production=Secret(""),
        shown=("a published key", ""),
    )

    @property
    def exposures(self) -> bool:
        """Can exposure events, which name callers by pseudonym, be written?"""
        return bool(self.experiments_file) and self.usage_sink != "none"


@dataclass(frozen=True, slots=True)
class SubscriptionSettings:
    """GraphQL over WebSocket (see `bff.ws`)."""

    max_per_connection: int = integer(
        "MAX_SUBSCRIPTIONS_PER_CONNECTION",
        10,
        "subscriptions one WebSocket connection may run at once",
        low=1,
    )
    keepalive_s: float = milliseconds(
        "SUBSCRIPTION_KEEPALIVE_MS",
        15_000,
        "interval of the server's keep-alive pings on a WebSocket; 0: none",
        low=0,
    )
    init_timeout_s: float = milliseconds(
        "SUBSCRIPTION_INIT_TIMEOUT_MS",
        3_000,
        "time a new WebSocket has to send `connection_init` before it is closed (4408)",
        low=1,
    )
    max_per_user: int = integer(
        "MAX_SUBSCRIPTIONS_PER_USER",
        30,
        "subscriptions one signed-in user may run at once over all its WebSockets, "
        "counted per process",
        low=1,
    )
    max_per_address: int = integer(
        "MAX_SUBSCRIPTIONS_PER_ADDRESS",
        300,
        "subscriptions one client address (as BFF_TRUSTED_PROXIES finds it) may run at "
        "once over all its WebSockets, counted per process",
        low=1,
    )
    max_sockets_per_user: int = integer(
        "MAX_WEBSOCKETS_PER_USER",
        10,
        "WebSockets one signed-in user may hold open, counted per process; more are "
        "closed with 1013 at `connection_init`",
        low=1,
    )
    max_sockets_per_address: int = integer(
        "MAX_WEBSOCKETS_PER_ADDRESS",
        100,
        "WebSockets one client address (as BFF_TRUSTED_PROXIES finds it) may hold open, "
        "counted per process; more are closed with 1013",
        low=1,
    )
    max_event_streams: int = integer(
        "MAX_EVENT_STREAMS",
        1000,
        "downstream event streams one process holds open at once; a subscription that "
        "finds none free ends with SERVICE_OVERLOADED",
        low=1,
    )


def _readiness_services(text: str) -> frozenset[str] | None:
    if text.strip() == "all":
        return None
    if text.strip() == "none":
        return frozenset()
    named = frozenset(comma_list(text))
    unknown = sorted(named - set(SERVICES))
    if unknown:
        raise ValueError(f"unknown service {', '.join(unknown)}; known: {', '.join(SERVICES)}")
    return named


@dataclass(frozen=True, slots=True)
class Settings:
    """Everything the BFF reads from its environment."""

    profile: Profile = choice(
        "PROFILE",
        PROFILES,
        "demo",
        "demo: developer conveniences on; production: off",
        production="production",
    )
    host: str = text("HOST", "127.0.0.1", "interface `bff serve` listens on")
    port: int = integer("PORT", 8000, "port `bff serve` listens on", low=1, high=65535)
    workers: int = integer(
        "WORKERS",
        os.cpu_count() or 1,
        "worker processes for `bff serve`",
        low=1,
        shown=("one per core",) * 2,
    )
    log_level: str = choice(
        "LOG_LEVEL", ("debug", "info", "warning", "error"), "info", "least severe level logged"
    )
    log_format: str = choice(
        "LOG_FORMAT",
        ("human", "json"),
        "human",
        "log lines as JSON or for people",
        production="json",
    )
    debug: bool = boolean(
        "DEBUG",
        True,
        "answer `X-BFF-Debug: 1` with a timeline of downstream calls in the response",
        production=False,
    )
    graphiql: bool = boolean("GRAPHIQL", True, "serve GraphiQL at GET /graphql", production=False)
    graphiql_token: str = text(
        "GRAPHIQL_TOKEN", "", "bearer token GraphiQL's signed-in examples send; empty: none"
    )
    batching: bool = boolean(
        "BATCHING", True, "per-request loaders; false makes one call per field (baseline)"
    )
    planned_execution: bool = boolean(
        "PLANNED_EXECUTION",
        True,
        "run queries by per-document plans (execution.plan); false: graphql-core's executor",
    )
    readiness_timeout_s: float = milliseconds(
        "READINESS_TIMEOUT_MS", 1000, "time /readyz waits for each service", low=1
    )
    readiness_services: frozenset[str] | None = parsed(
        "READINESS_SERVICES",
        None,
        "services whose health gates /readyz: `all`, `none` (ready while serving: partial "
        "answers beat none) or a comma-separated list; the others are only reported",
        _readiness_services,
        kind="`all` \\| `none` \\| list",
        production=frozenset[str](),
        shown=("all", "none"),
    )
    redis_url: str = text(
        "REDIS_URL",
        "",
        "Redis shared by replicas: rate-limit buckets, persisted queries, the downstream "
        "cache's second tier, usage events; empty: each process keeps its own",
    )
    metrics_max_operations: int = integer(
        "METRICS_MAX_OPERATIONS",
        100,
        "distinct operation names kept as metric labels; later ones count as `other`",
        low=1,
    )
    metrics_max_clients: int = integer(
        "METRICS_MAX_CLIENTS",
        50,
        "distinct client name/version pairs kept as metric labels; later ones as `other`",
        low=1,
    )
    resolver_spans: bool = boolean(
        "RESOLVER_SPANS", False, "a span per resolved field (costly; for deep debugging)"
    )
    downstream_cache: bool = boolean(
        "DOWNSTREAM_CACHE",
        True,
        "shared cache of downstream reads (per Cache-Control) and request coalescing",
    )
    downstream_cache_max_entries: int = integer(
        "DOWNSTREAM_CACHE_MAX_ENTRIES", 50_000, "most entries the shared cache keeps", low=1
    )
    downstream_cache_max_bytes: int = megabytes(
        "DOWNSTREAM_CACHE_MAX_MB", 64, "most megabytes of JSON the shared cache keeps", low=1
    )
    document_cache_bytes: int = megabytes(
        "DOCUMENT_CACHE_MB",
        64,
        "megabytes of prepared documents (and refusals) kept, by estimate; 0: none",
        low=0,
    )
    response_cache: bool = boolean(
        "RESPONSE_CACHE", True, "whole responses of public queries, for their max-age"
    )
    response_cache_max_bytes: int = megabytes(
        "RESPONSE_CACHE_MAX_MB", 32, "most megabytes of responses kept", low=1
    )
    response_cache_vary: tuple[str, ...] = items(
        "RESPONSE_CACHE_VARY", (), "request headers that change a public response", lower=True
    )

    # Downstream services: the calls, then each service (kept together).
    downstream: DownstreamSettings = group(DownstreamSettings, "Downstream services")
    service_settings: Mapping[str, ServiceSettings] = each(
        ServiceSettings, "Downstream services", SERVICES, _service_names
    )
    services: Mapping[str, ServiceConfig] = field(default_factory=dict)
    """Built from the two above by `from_environ`."""

    downstream_resilience: DownstreamResilienceSettings = group(
        DownstreamResilienceSettings, "Downstream resilience"
    )
    downstream_cache_redis: RemoteCacheSettings = group(
        RemoteCacheSettings, "Downstream cache in Redis"
    )
    resilience: ResilienceSettings = group(ResilienceSettings, "Budgets and shutdown")
    limits: LimitSettings = group(LimitSettings, "Request limits")
    rate_limit: RateLimitSettings = group(RateLimitSettings, "Rate limits")
    auth: AuthSettings = group(AuthSettings, "Authentication")
    http: HttpSettings = group(HttpSettings, "HTTP edge")
    compression: CompressionSettings = group(CompressionSettings, "Compression")
    persisted: PersistedSettings = group(PersistedSettings, "Persisted queries")
    subscriptions: SubscriptionSettings = group(SubscriptionSettings, "Subscriptions")
    tracing: TracingSettings = group(TracingSettings, "Tracing")
    product: ProductSettings = group(ProductSettings, "Experiments and usage")

    @property
    def compression_min_bytes(self) -> int | None:
        """Smallest response body compressed; None: no compression."""
        return self.compression.min_bytes if self.compression.enabled else None

    @classmethod
    def from_environ(cls, environ: Mapping[str, str]) -> Settings:
        profile_env = _env_of(cls, "profile")
        profile: Profile = Environ(environ, "demo").value(profile_env, {})
        env = Environ(environ, profile)
        settings = env.group(cls)
        env.refuse_unknown()
        _check(settings)
        return replace(
            settings,
            services={
                name: service.config(settings.downstream, settings.downstream_resilience)
                for name, service in settings.service_settings.items()
            },
        )

    @staticmethod
    def documented() -> list[Variable]:
        """Every variable with its defaults, syntax and meaning, in sections."""
        return [
            Variable(env.full, env.show("demo"), env.doc, env.show("production"), env.kind, title)
            for title, env in declared(Settings, "General")
        ]


def _env_of(cls: type[Any], name: str) -> Env:
    (env,) = (item.metadata["bff.env"] for item in fields(cls) if item.name == name)
    assert isinstance(env, Env)
    return env


def _check(settings: Settings) -> None:
    """What no single variable shows: combinations refused at start-up."""
    if settings.persisted.safelist and not settings.persisted.trusted_documents:
        raise SettingsError("BFF_DOCUMENTS_MODE=safelist needs BFF_TRUSTED_DOCUMENTS")
    if settings.profile == "production" and settings.product.subject_key == DEMO_SUBJECT_KEY:
        raise SettingsError(
            "BFF_USAGE_SUBJECT_KEY: is the demo's published key: anyone could recompute pseudonyms"
        )
    _check_redis_uses(settings)
    # Exposure events need a key for their pseudonyms: an unkeyed hash of a user id
    # reverses by hashing every id, and leaving callers out of exposures would lose
    # the distinct-caller counts that experiments are read by.
    if settings.product.exposures and not settings.product.subject_key:
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
