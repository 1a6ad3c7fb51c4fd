"""HTTP plumbing shared by every router: problem+json handlers, request ids, body limits,
idempotency and readiness checks."""
