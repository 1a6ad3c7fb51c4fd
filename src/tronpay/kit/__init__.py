"""Domain-free helpers: money, ids, clock, pagination. Imports no domain package."""
