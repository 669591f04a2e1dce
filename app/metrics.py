"""Prometheus metrics, correct with several worker processes.

With PROMETHEUS_MULTIPROC_DIR set (as the container does, with two workers), every
process writes its samples to that directory and /metrics aggregates them.
"""

import os

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)

HTTP_REQUESTS = Counter(
    "lotgate_http_requests_total",
    "HTTP requests served, by method, route template and status",
    ["method", "route", "status"],
)
HTTP_LATENCY = Histogram(
    "lotgate_http_request_duration_seconds",
    "Time to serve a request, by method and route template",
    ["method", "route"],
    buckets=(0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)
DECISIONS = Counter(
    "lotgate_decisions_total",
    "Lot decisions recorded (decision events), by resulting status",
    ["status"],
)

DATA_VERSION_WATCH = Counter(
    "lotgate_data_version_watch_events_total",
    "The LISTEN connection that learns of data changes: connected; lost or not made "
    "(the data version is then read per request until it is back); missed (a version "
    "the periodic check read was never announced)",
    ["event"],
)


def render() -> tuple[bytes, str]:
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        return generate_latest(registry), CONTENT_TYPE_LATEST
    return generate_latest(REGISTRY), CONTENT_TYPE_LATEST
