"""Payouts: models, schemas, the state machine, repository, service and HTTP endpoints."""
