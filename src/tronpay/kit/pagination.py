"""Opaque cursors for keyset pagination in a stable order of ``(created_at, id)``, newest first."""

from __future__ import annotations

import base64
import binascii
import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Final, Generic, TypeVar

from tronpay.errors import ValidationFailed

MAX_LIMIT = 500
DEFAULT_LIMIT = 50


class InvalidCursor(ValidationFailed):
    code = "invalid_cursor"
    title = "The pagination cursor is not valid"


# The ids this API hands out: a short lowercase prefix, "_", a 26-character ULID.
_ID_RE: Final = re.compile(r"[a-z]{2,4}_[0-9A-HJKMNP-TV-Z]{26}")
_NOT_OURS: Final = "cursor is not one this API returned"


@dataclass(frozen=True, slots=True)
class Cursor:
    """The position after which the next page starts: the last row's ``created_at`` and ``id``.

    Decoding is strict, so a forged cursor is ``invalid_cursor`` and never reaches the
    database: the text must be exactly what :meth:`encode` makes of a UTC time and one of
    our ids (no other offset, padding, whitespace or spelling of the same values).
    """

    created_at: datetime
    id: str

    def encode(self) -> str:
        raw = json.dumps([self.created_at.isoformat(), self.id], separators=(",", ":"))
        return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")

    @classmethod
    def decode(cls, text: str) -> Cursor:
        try:
            padded = text + "=" * (-len(text) % 4)
            document = json.loads(base64.urlsafe_b64decode(padded.encode()))
        except (ValueError, TypeError, binascii.Error, UnicodeError, RecursionError) as exc:
            raise InvalidCursor(_NOT_OURS) from exc
        if not (isinstance(document, list) and len(document) == 2):
            raise InvalidCursor(_NOT_OURS)
        created_at_text, id_ = document
        if not isinstance(created_at_text, str) or not isinstance(id_, str):
            raise InvalidCursor(_NOT_OURS)
        if _ID_RE.fullmatch(id_) is None:
            raise InvalidCursor(_NOT_OURS)
        try:
            created_at = datetime.fromisoformat(created_at_text)
        except ValueError as exc:
            raise InvalidCursor(_NOT_OURS) from exc
        if created_at.utcoffset() != timedelta(0):
            raise InvalidCursor(_NOT_OURS)  # we only ever write UTC (also: no overflow)
        cursor = cls(created_at=created_at.replace(tzinfo=UTC), id=id_)
        if cursor.encode() != text:
            raise InvalidCursor(_NOT_OURS)
        return cursor


T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    items: list[T]
    next_cursor: str | None
