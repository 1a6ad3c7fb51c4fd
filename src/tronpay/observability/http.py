"""HTTP request metrics: ``tronpay_http_requests_total`` and ``..._request_seconds``.

``HttpMetrics`` is called once per answered request by the request-context middleware with
the ASGI scope (after the app ran), the status and the duration. The route label is the
route's template (``/v1/payouts/{payout_id}``), never the raw path; a path no route matched
is ``unmatched``. Children are cached per (route, method, status): after the first request of
a kind, recording is one dict lookup, one counter increment and one histogram observation.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

from prometheus_client.metrics import Counter, Histogram

from tronpay.observability.metrics import HTTP_REQUEST_SECONDS, HTTP_REQUESTS

# A route that answers without the router (the create fast lane) names its template here.
ROUTE_KEY: Final = "tronpay.route"
UNMATCHED: Final = "unmatched"
_METHODS: Final = frozenset({"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"})


@dataclass(frozen=True, slots=True)
class _Children:
    count: Counter
    seconds: Histogram


def route_template(scope: Any) -> str:
    named = scope.get(ROUTE_KEY)
    if named is not None:
        return str(named)
    route = scope.get("route")
    path = getattr(route, "path", None)
    return path if isinstance(path, str) else UNMATCHED


class HttpMetrics:
    def __init__(self) -> None:
        self._children: dict[tuple[str, str, int], _Children] = {}

    def __call__(self, scope: Any, status: int, seconds: float) -> None:
        route = scope.get(ROUTE_KEY) or route_template(scope)
        method = scope["method"]
        key = (route, method, status)
        children = self._children.get(key)
        if children is None:
            children = self._bind(route, method, status)
        children.count.inc()
        children.seconds.observe(seconds)

    def _bind(self, route: str, method: str, status: int) -> _Children:
        label = method if method in _METHODS else "other"
        children = _Children(
            HTTP_REQUESTS.labels(route, label, str(status)),
            HTTP_REQUEST_SECONDS.labels(route, label),
        )
        # A client can invent methods: the cache (not the labels, which are bounded) stops
        # growing at a size no real traffic reaches.
        if len(self._children) < 10_000:
            self._children[(route, method, status)] = children
        return children
