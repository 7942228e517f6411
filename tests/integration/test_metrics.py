"""`/metrics`: Prometheus text that parses, with counters that move as they should."""

from __future__ import annotations

from bff.contract.examples import PRODUCT_PAGE
from demo.services import build_services
from tests.harness import running_bff, sample


async def test_operations_are_counted_by_client_and_outcome() -> None:
    web = {"apollographql-client-name": "web", "apollographql-client-version": "1.4.0"}
    ios = {"x-client-name": "ios", "x-client-version": "7.2"}
    async with running_bff() as bff:
        before = await bff.metrics()
        for _ in range(3):
            await bff.query(PRODUCT_PAGE.query, {"id": "p1"}, headers=web)
        await bff.query(PRODUCT_PAGE.query, {"id": "p999999"}, headers=ios)
        await bff.query("{ nope }", headers=ios)
        after = await bff.metrics()

    labels = {"operation_name": "ProductPage", "operation_type": "query"}
    ok_web = {**labels, "client_name": "web", "client_version": "1.4.0", "outcome": "ok"}
    missing_ios = {**labels, "client_name": "ios", "client_version": "7.2", "outcome": "error"}
    invalid = {
        "operation_name": "unknown",
        "operation_type": "unknown",
        "client_name": "ios",
        "client_version": "7.2",
        "outcome": "error",
    }
    for series, moved in ((ok_web, 3), (missing_ios, 1), (invalid, 1)):
        assert (
            sample(after, "bff_graphql_requests_total", **series)
            - sample(before, "bff_graphql_requests_total", **series)
            == moved
        ), series
    histogram = {**labels, "client_name": "web", "client_version": "1.4.0"}
    assert sample(after, "bff_graphql_request_duration_seconds_count", **histogram) == 3
    assert sample(after, "bff_graphql_requests_in_flight") == 0


async def test_downstream_calls_caches_and_batches_are_measured() -> None:
    async with running_bff() as bff:
        await bff.run(PRODUCT_PAGE, id="p1")
        await bff.run(PRODUCT_PAGE, id="p1")  # from the response cache
        samples = await bff.metrics()

    assert (
        sample(
            samples,
            "bff_downstream_requests_total",
            service="catalog",
            route="/products",
            status="200",
        )
        == 1
    )
    assert (
        sample(
            samples,
            "bff_downstream_request_duration_seconds_count",
            service="accounts",
            route="/users",
        )
        == 1
    )
    assert sample(samples, "bff_cache_lookups_total", cache="response", result="hit") == 1
    assert sample(samples, "bff_cache_lookups_total", cache="response", result="miss") == 1
    assert sample(samples, "bff_cache_lookups_total", cache="downstream", result="miss") >= 6
    assert sample(samples, "bff_cache_lookups_total", cache="document", result="miss") == 1
    assert sample(samples, "bff_loader_batch_size_count", loader="users") == 1
    assert sample(samples, "bff_loader_batch_size_sum", loader="users") == 5


async def test_failed_downstream_calls_are_counted_by_status() -> None:
    demo = build_services()
    demo["inventory"].faults.error_rate = 1.0
    async with running_bff(demo=demo) as bff:
        await bff.run(PRODUCT_PAGE, id="p1")
        samples = await bff.metrics()

    assert (
        sample(
            samples,
            "bff_downstream_requests_total",
            service="inventory",
            route="/stock",
            status="503",
        )
        == 3  # each attempt counts: the first and two retries
    )
    assert (
        sample(
            samples,
            "bff_graphql_requests_total",
            operation_name="ProductPage",
            operation_type="query",
            client_name="unknown",
            client_version="unknown",
            outcome="partial",
        )
        == 1
    )


async def test_operation_and_client_labels_stay_bounded() -> None:
    env = {"BFF_METRICS_MAX_OPERATIONS": "2", "BFF_METRICS_MAX_CLIENTS": "1"}
    async with running_bff(env) as bff:
        for n in range(5):
            await bff.query(f"query Op{n} {{ __typename }}", headers={"x-client-name": f"app{n}"})
        samples = await bff.metrics()

    names = {
        dict(labels)["operation_name"]
        for (name, labels) in samples
        if name == "bff_graphql_requests_total"
    }
    clients = {
        dict(labels)["client_name"]
        for (name, labels) in samples
        if name == "bff_graphql_requests_total"
    }
    assert names == {"Op0", "Op1", "other"}
    assert clients == {"app0", "other"}
