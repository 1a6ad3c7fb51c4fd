"""Opaque cursors for keyset pagination in a stable order of ``(created_at, id)``, newest first."""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Generic, TypeVar

from tronpay.errors import ValidationFailed

MAX_LIMIT = 500
DEFAULT_LIMIT = 50


class InvalidCursor(ValidationFailed):
    code = "invalid_cursor"
    title = "The pagination cursor is not valid"


@dataclass(frozen=True, slots=True)
class Cursor:
    """The position after which the next page starts: the last row's ``created_at`` and ``id``."""

    created_at: datetime
    id: str

    def encode(self) -> str:
        raw = json.dumps([self.created_at.isoformat(), self.id], separators=(",", ":"))
        return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")

    @classmethod
    def decode(cls, text: str) -> Cursor:
        try:
            padded = text + "=" * (-len(text) % 4)
            created_at_text, id_ = json.loads(base64.urlsafe_b64decode(padded.encode()))
            created_at = datetime.fromisoformat(created_at_text)
        except (ValueError, TypeError, binascii.Error, UnicodeError) as exc:
            raise InvalidCursor("cursor is not one this API returned") from exc
        if not isinstance(id_, str) or created_at.tzinfo is None:
            raise InvalidCursor("cursor is not one this API returned")
        return cls(created_at=created_at, id=id_)


T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    items: list[T]
    next_cursor: str | None
