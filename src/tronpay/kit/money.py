"""Exact conversion between decimal strings and integer base units.

Amounts are integers in base units in code and storage (sun for TRX, 1e-6 USDT for USDT);
JSON carries decimal strings. No float ever touches an amount: parsing is done on the
characters of the string. :class:`Asset` is the one list of what tronpay pays out;
:data:`Sun` and :data:`TokenUnits` name which base unit an ``int`` holds.
"""

from __future__ import annotations

import re
from enum import StrEnum
from typing import Final, NewType

from tronpay.errors import ValidationFailed

Sun = NewType("Sun", int)
"""An amount of TRX in sun (1 TRX = 1,000,000 sun): balances, fees, fee limits."""

TokenUnits = NewType("TokenUnits", int)
"""An amount of the TRC20 token (USDT) in its base unit (1 USDT = 1,000,000 units)."""


class Asset(StrEnum):
    """What a payout pays: the TRC20 token (USDT) or TRX itself; both have 6 decimals."""

    USDT = "USDT"
    TRX = "TRX"


DECIMALS: Final = 6
SCALE: Final = 10**DECIMALS
# 64-bit signed column limit: the largest amount a Money column can hold.
MAX_BASE_UNITS: Final = 2**63 - 1

# Matched with fullmatch: "$" would also match before a trailing newline ("1\n").
_AMOUNT_RE: Final = re.compile(r"(?P<int>0|[1-9][0-9]{0,18})(?:\.(?P<frac>[0-9]{1,32}))?")


class InvalidAmount(ValidationFailed):
    code = "invalid_amount"
    title = "The amount is not valid"


def parse_amount(text: str, *, decimals: int = DECIMALS, allow_zero: bool = False) -> int:
    """Parse a plain decimal string (``"12.500001"``) into base units, exactly.

    Rejects signs, exponents, whitespace, leading zeros, more than ``decimals`` fractional
    digits, zero (unless ``allow_zero``) and values that do not fit a 64-bit column.
    """
    if not isinstance(text, str):
        raise InvalidAmount('amount must be a decimal string such as "12.5"')
    match = _AMOUNT_RE.fullmatch(text)
    if match is None:
        raise InvalidAmount(f'amount {text[:40]!r} is not a plain decimal string such as "12.5"')
    int_part: str = match.group("int")
    frac: str = match.group("frac") or ""
    if len(frac.rstrip("0")) > decimals:
        raise InvalidAmount(f"amount has more than {decimals} decimal places")
    frac = frac[:decimals] if len(frac) > decimals else frac
    scale: int = 10**decimals
    units = int(int_part) * scale + int(frac.ljust(decimals, "0") or "0")
    if units == 0 and not allow_zero:
        raise InvalidAmount("amount must be greater than zero")
    if units > MAX_BASE_UNITS:
        raise InvalidAmount("amount is too large")
    return units


def format_amount(units: int, *, decimals: int = DECIMALS) -> str:
    """Format base units as the shortest exact decimal string (``12500001`` -> ``"12.500001"``)."""
    if units < 0:
        return "-" + format_amount(-units, decimals=decimals)
    scale: int = 10**decimals
    whole, frac = divmod(units, scale)
    if frac == 0:
        return str(whole)
    return f"{whole}.{str(frac).rjust(decimals, '0').rstrip('0')}"
