"""Who is calling: the verified subject of a token and its scopes."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Principal:
    """An authenticated caller. ``subject`` is the token's ``sub`` claim."""

    subject: str
    scopes: frozenset[str]

    def has(self, *scopes: str) -> bool:
        """True when every given scope is granted."""
        return all(scope in self.scopes for scope in scopes)

    def missing(self, scopes: Iterable[str]) -> list[str]:
        """The given scopes that are not granted, in the order given."""
        return [scope for scope in scopes if scope not in self.scopes]
