"""Observability: Prometheus metrics (``metrics``, ``scrape``), structured logs (``logs``).

Domain-free: it imports prometheus-client, structlog and SQLAlchemy Core only, so every
layer (API, payouts, engine, webhooks) can record into it without import cycles.
"""
