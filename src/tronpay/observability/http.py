"""HTTP request metrics: ``tronpay_http_requests_total`` and ``..._request_seconds``.

``HTTP_METRICS`` is called once per answered request by the request-context middleware with
the ASGI scope (after the app ran), the status and the duration. The route label is the
route's template (``/v1/payouts/{payout_id}``), never the raw path; a path no route matched
is ``unmatched``.

Every request pays for this, the create fast lane included, so it is kept to a dict lookup
and three integer/float additions: the series live in plain Python objects (the event loop
thread is the only writer) and become Prometheus families only when a scrape collects them,
instead of a prometheus-client counter and histogram (two locks and a loop over buckets
per request).
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterator
from typing import Any, Final

from prometheus_client.core import CounterMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.registry import REGISTRY, Collector

# A route that answers without the router (the create fast lane) names its template here.
ROUTE_KEY: Final = "tronpay.route"
UNMATCHED: Final = "unmatched"
BUCKETS: Final = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
_METHODS: Final = frozenset({"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"})
_MAX_SERIES: Final = 10_000
_REQUESTS_HELP: Final = "HTTP requests answered, by route template"
_SECONDS_HELP: Final = "HTTP request duration, by route template"


class _Timings:
    """One (route, method)'s histogram: per-bucket counts (not cumulative) and the sum."""

    __slots__ = ("counts", "total")

    def __init__(self) -> None:
        self.counts = [0] * (len(BUCKETS) + 1)
        self.total = 0.0


class _Series:
    """One (route, method, status): its request count and its route's timings."""

    __slots__ = ("count", "timings")

    def __init__(self, timings: _Timings) -> None:
        self.count = 0
        self.timings = timings


def route_template(scope: Any) -> str:
    named = scope.get(ROUTE_KEY)
    if named is not None:
        return str(named)
    path = getattr(scope.get("route"), "path", None)
    return path if isinstance(path, str) else UNMATCHED


class HttpMetrics(Collector):
    """The two HTTP families; one instance per process (``HTTP_METRICS``)."""

    def __init__(self) -> None:
        self._series: dict[tuple[str, str, int], _Series] = {}
        self._timings: dict[tuple[str, str], _Timings] = {}

    def __call__(self, scope: Any, status: int, seconds: float) -> None:
        key = (route_template(scope), scope["method"], status)
        series = self._series.get(key)
        if series is None:
            series = self._add(*key)
        series.count += 1
        timings = series.timings
        timings.total += seconds
        timings.counts[bisect_left(BUCKETS, seconds)] += 1

    def _add(self, route: str, method: str, status: int) -> _Series:
        label = method if method in _METHODS else "other"
        # A client can invent methods: past the cap, new kinds are lumped together, uncached.
        full = len(self._series) >= _MAX_SERIES
        bounded = (UNMATCHED, label, 0) if full else (route, label, status)
        timings = self._timings.setdefault((bounded[0], bounded[1]), _Timings())
        series = self._series.setdefault(bounded, _Series(timings))
        if not full:
            self._series[(route, method, status)] = series
        return series

    def describe(self) -> Iterator[Metric]:
        yield CounterMetricFamily("tronpay_http_requests", _REQUESTS_HELP)
        yield HistogramMetricFamily("tronpay_http_request_seconds", _SECONDS_HELP)

    def collect(self) -> Iterator[Metric]:
        requests = CounterMetricFamily(
            "tronpay_http_requests", _REQUESTS_HELP, labels=["route", "method", "status"]
        )
        seen: set[int] = set()
        for (route, method, status), series in list(self._series.items()):
            if id(series) in seen or method not in _METHODS | {"other"}:
                continue
            seen.add(id(series))
            requests.add_metric([route, method, str(status)], series.count)
        yield requests
        seconds = HistogramMetricFamily(
            "tronpay_http_request_seconds", _SECONDS_HELP, labels=["route", "method"]
        )
        for (route, method), timings in list(self._timings.items()):
            cumulative = 0
            buckets: list[tuple[str, float]] = []
            for bound, count in zip((*BUCKETS, float("inf")), timings.counts, strict=True):
                cumulative += count
                buckets.append(("+Inf" if bound == float("inf") else str(bound), cumulative))
            seconds.add_metric([route, method], buckets, timings.total)
        yield seconds


HTTP_METRICS: Final = HttpMetrics()
REGISTRY.register(HTTP_METRICS)
