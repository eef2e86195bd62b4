"""Prometheus metrics: requests by route and status, their latency, and the business
figures (searches and cache hits, bookings by outcome, payments, expired holds,
transaction retries, rate-limit refusals, MongoDB and Redis errors).

Under gunicorn every worker is a process of its own: with `PROMETHEUS_MULTIPROC_DIR` set
(gunicorn.conf.py sets it before any worker starts) each process writes its samples to
files there and `/metrics` adds them up, so the figures are the node's whichever worker
answers the scrape. Without it (`make run`, one process) the default registry is used.
"""

import ipaddress
import os
import secrets

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)

from domain.policy import COUNTED_POSTS

REQUESTS = Counter(
    "innkeeper_http_requests_total",
    "HTTP requests answered, by method, route template and status.",
    ["method", "route", "status"],
)
VERSIONS = Counter(
    "innkeeper_api_requests_by_version_total",
    "API requests answered, by the API version asked for (who still calls version 1).",
    ["version"],
)
LATENCY = Histogram(
    "innkeeper_http_request_duration_seconds",
    "Time to answer (to the headers, for a stream), by method and route template.",
    ["method", "route"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
SEARCHES = Counter(
    "innkeeper_searches_total",
    "Searches answered (kind: offers or calendar) by answer cache result (hit, miss, off).",
    ["kind", "cache"],
)
BOOKINGS = Counter(
    "innkeeper_booking_requests_total",
    "POST /bookings answers by status: 201 booked, 409 unavailable, 422 refused, ...",
    ["outcome"],
)
EVENTS = Counter(
    "innkeeper_events_total",
    "Business events committed: booking.created, booking.confirmed, booking.expired, "
    "booking.cancelled, booking.modified, payment.succeeded, payment.failed, "
    "payment.refunded, webhook.applied, webhook.duplicate, reconcile.drift.",
    ["event"],
)
TRANSACTIONS = Counter(
    "innkeeper_transactions_total",
    "MongoDB transactions by outcome: committed; aborted (the unit refused by a rule or "
    "failed); conflict (still conflicting when the request's deadline came).",
    ["outcome"],
)
TRANSACTION_RETRIES = Counter(
    "innkeeper_transaction_retries_total",
    "Transaction units run again after a write conflict with a racing transaction.",
)
RATE_LIMITED = Counter(
    "innkeeper_rate_limited_total", "Requests refused with 429, by route template.", ["route"]
)
BACKEND_ERRORS = Counter(
    "innkeeper_backend_errors_total",
    "MongoDB and Redis failures met while answering (unreachable, deadline, refused).",
    ["backend", "kind"],
)
LIVE_STREAMS = Gauge(
    "innkeeper_live_streams",
    "Live status streams open now (each holds a server thread, no database cursor).",
    multiprocess_mode="livesum",
)
# Eve's endpoints of the POSTs the domain counts by outcome.
COUNTED_ENDPOINTS = {f"{resource}|resource" for resource in COUNTED_POSTS}
SEARCH_KINDS = {"availability.search": "offers", "availability.price_calendar": "calendar"}


# Every label value comes from a closed set: a client's made-up method (or a cache header
# value) must not mint a new time series, or a flood of them grows /metrics without bound.
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
CACHE_RESULTS = frozenset({"hit", "miss", "off"})
OTHER = "other"


def observe_request(
    method, route, status, seconds, endpoint=None, search_cache=None, version=None
):
    """`route` is a rule template of the app or "<unmatched>" (plumbing/logs.route_of)."""
    method = method if method in METHODS else OTHER
    code = str(status) if 100 <= status <= 599 else OTHER
    REQUESTS.labels(method, route, code).inc()
    if version is not None:
        VERSIONS.labels(str(version)).inc()
    if search_cache and endpoint in SEARCH_KINDS:
        cache = search_cache if search_cache in CACHE_RESULTS else OTHER
        SEARCHES.labels(SEARCH_KINDS[endpoint], cache).inc()
    LATENCY.labels(method, route).observe(seconds)
    if method == "POST" and endpoint in COUNTED_ENDPOINTS:
        BOOKINGS.labels(code).inc()
    if status == 429:
        RATE_LIMITED.labels(route).inc()


def event(name, count=1):
    EVENTS.labels(name).inc(count)


def backend_error(backend, kind):
    BACKEND_ERRORS.labels(backend, kind).inc()


def exposition():
    """(body, content type) of every metric of this node."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
    else:
        registry = REGISTRY
    return generate_latest(registry), CONTENT_TYPE_LATEST


def may_scrape(config, client_ip, authorization):
    """From a configured network (METRICS_NETWORKS), or with METRICS_TOKEN as a bearer."""
    token = config.get("METRICS_TOKEN")
    if token and authorization.startswith("Bearer "):
        sent = authorization[7:].strip().encode("utf-8", "surrogateescape")
        return secrets.compare_digest(sent, token.encode())  # any bytes a client sends
    try:
        address = ipaddress.ip_address(client_ip or "")
    except ValueError:
        return False
    return any(
        address in ipaddress.ip_network(net, strict=False) for net in config["METRICS_NETWORKS"]
    )
