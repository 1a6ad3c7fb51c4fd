"""Webhooks: the transactional outbox, subscriptions, signing and delivery."""
