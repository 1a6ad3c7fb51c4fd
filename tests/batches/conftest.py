"""Batch fixtures: the API app of tests/api (real SQLite/PostgreSQL, real JWTs)."""

from api.conftest import anon, app, client, jwt_secret, settings, token

__all__ = ["anon", "app", "client", "jwt_secret", "settings", "token"]
