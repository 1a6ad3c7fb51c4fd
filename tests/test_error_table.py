"""Every ``TronpayError`` subclass against the error tables in docs/api.md.

Each module under ``tronpay`` is imported, every subclass of ``TronpayError`` is collected
(recursively), and its ``(code, status, title)`` must be the row for its code; every row must
name a code that some error class raises. Classes that share a code (a base and a private
subclass) must therefore agree with the one row too.
"""

from __future__ import annotations

import importlib
import pkgutil
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import tronpay
from tronpay.errors import TronpayError

API_DOC = Path(__file__).resolve().parent.parent / "docs" / "api.md"
TABLE_HEADER = "| status | code | title | when |"
_ROW = re.compile(r"^\| (?P<status>\d{3}) \| `(?P<code>[a-z_]+)` \| (?P<title>[^|]+?) \| [^|]+ \|$")


@dataclass(frozen=True)
class Documented:
    code: str
    status: int
    title: str


def _subclasses(cls: type[TronpayError]) -> Iterator[type[TronpayError]]:
    for sub in cls.__subclasses__():
        yield sub
        yield from _subclasses(sub)


def tronpay_errors() -> list[type[TronpayError]]:
    for module in pkgutil.walk_packages(tronpay.__path__, "tronpay."):
        importlib.import_module(module.name)
    found = {TronpayError, *_subclasses(TronpayError)}
    return sorted(found, key=lambda cls: f"{cls.__module__}.{cls.__qualname__}")


def documented_errors() -> dict[str, Documented]:
    """The rows of every ``status | code | title | when`` table in docs/api.md, by code."""
    rows: dict[str, Documented] = {}
    in_table = False
    for line in API_DOC.read_text().splitlines():
        if line == TABLE_HEADER:
            in_table = True
            continue
        if not line.startswith("|"):
            in_table = False
            continue
        if not in_table or line.startswith("|---"):
            continue
        match = _ROW.match(line)
        assert match is not None, f"docs/api.md error row not in the table's form: {line}"
        code = match["code"]
        assert code not in rows, f"docs/api.md lists {code} twice"
        rows[code] = Documented(code, int(match["status"]), match["title"])
    return rows


def test_the_walk_finds_errors_of_every_kind() -> None:
    names = {cls.__qualname__ for cls in tronpay_errors()}
    # One from the root, the API layer, auth, a service, the pure packages and start-up.
    expected = {
        "TronpayError",
        "PayloadTooLarge",
        "InvalidToken",
        "PayoutNotFound",
        "DecodeError",
        "KeystoreError",
        "ConfigError",
    }
    assert expected <= names


def test_documented_rows_parse() -> None:
    rows = documented_errors()
    assert rows["internal_error"] == Documented("internal_error", 500, "Internal error")
    assert rows["missing_token"].status == 401


def test_every_error_matches_its_row_in_docs_api() -> None:
    rows = documented_errors()
    mismatches = []
    for cls in tronpay_errors():
        actual = Documented(cls.code, cls.status, cls.title)
        if rows.get(cls.code) != actual:
            mismatches.append(
                f"{cls.__module__}.{cls.__qualname__}: {actual} vs docs {rows.get(cls.code)}"
            )
    assert mismatches == []


def test_every_documented_code_is_an_error_class() -> None:
    raised = {cls.code for cls in tronpay_errors()}
    assert sorted(set(documented_errors()) - raised) == []
