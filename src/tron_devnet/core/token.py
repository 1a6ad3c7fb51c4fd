"""The devnet's one built-in contract: a USDT-like TRC20 token, executed natively.

Calls are decided here without touching state (``run_call`` returns a ``CallOutcome``); the
chain applies the token move and charges the energy.

Energy figures (approximate, chosen for the devnet, documented in SIMPLIFICATIONS of chain.py):
transfer to a holder with a positive balance = config.trc20_energy_existing, to an address with no
balance = config.trc20_energy_new; views cost VIEW_ENERGY; a REVERT costs the energy used up to the
failing check (REVERT_ENERGY_*); a forced revert costs the full transfer energy.
"""

from __future__ import annotations

from dataclasses import dataclass

from tron_devnet.core.crypto import keccak256
from tron_devnet.core.state import Overlay


def selector(signature: str) -> bytes:
    return keccak256(signature.encode())[:4]


SEL_TRANSFER = selector("transfer(address,uint256)")
SEL_BALANCE_OF = selector("balanceOf(address)")
SEL_DECIMALS = selector("decimals()")
SEL_NAME = selector("name()")
SEL_SYMBOL = selector("symbol()")
SEL_TOTAL_SUPPLY = selector("totalSupply()")
SEL_IS_BLACKLISTED = selector("isBlackListed(address)")
SEL_GET_BLACKLIST_STATUS = selector("getBlackListStatus(address)")
TRANSFER_TOPIC = keccak256(b"Transfer(address,address,uint256)")

VIEW_ENERGY = 1_000
REVERT_ENERGY_BAD_CALL = 300
REVERT_ENERGY_BLACKLISTED = 1_600
REVERT_ENERGY_INSUFFICIENT = 2_700
UINT256_MAX = (1 << 256) - 1
ZERO_ADDRESS = b"\x41" + b"\0" * 20

ABI_ENTRIES: list[dict[str, object]] = [
    {
        "constant": True,
        "name": "name",
        "outputs": [{"type": "string"}],
        "stateMutability": "View",
        "type": "Function",
    },
    {
        "constant": True,
        "name": "symbol",
        "outputs": [{"type": "string"}],
        "stateMutability": "View",
        "type": "Function",
    },
    {
        "constant": True,
        "name": "decimals",
        "outputs": [{"type": "uint8"}],
        "stateMutability": "View",
        "type": "Function",
    },
    {
        "constant": True,
        "name": "totalSupply",
        "outputs": [{"type": "uint256"}],
        "stateMutability": "View",
        "type": "Function",
    },
    {
        "constant": True,
        "inputs": [{"name": "who", "type": "address"}],
        "name": "balanceOf",
        "outputs": [{"type": "uint256"}],
        "stateMutability": "View",
        "type": "Function",
    },
    {
        "constant": True,
        "inputs": [{"type": "address"}],
        "name": "isBlackListed",
        "outputs": [{"type": "bool"}],
        "stateMutability": "View",
        "type": "Function",
    },
    {
        "constant": True,
        "inputs": [{"name": "_maker", "type": "address"}],
        "name": "getBlackListStatus",
        "outputs": [{"type": "bool"}],
        "stateMutability": "View",
        "type": "Function",
    },
    {
        "inputs": [{"name": "_to", "type": "address"}, {"name": "_value", "type": "uint256"}],
        "name": "transfer",
        "outputs": [{"type": "bool"}],
        "stateMutability": "Nonpayable",
        "type": "Function",
    },
    {
        "anonymous": False,
        "inputs": [
            {"indexed": True, "name": "from", "type": "address"},
            {"indexed": True, "name": "to", "type": "address"},
            {"name": "value", "type": "uint256"},
        ],
        "name": "Transfer",
        "type": "Event",
    },
]


@dataclass(frozen=True)
class TokenInfo:
    address: bytes
    name: str
    symbol: str
    decimals: int
    energy_existing: int
    energy_new: int
    energy_factor_permille: int = 0  # dynamic energy model: extra energy per 1,000 of a transfer


@dataclass(frozen=True)
class CallOutcome:
    """What a call would do. ``move`` is (from, to, amount) for a successful transfer."""

    ok: bool
    energy: int
    return_data: bytes
    move: tuple[bytes, bytes, int] | None = None
    message: str = ""
    is_view: bool = False
    penalty: int = 0  # part of ``energy`` due to the dynamic energy factor


def word(value: int) -> bytes:
    return value.to_bytes(32, "big")


def encode_string(text: str) -> bytes:
    raw = text.encode()
    padded = raw + b"\0" * (-len(raw) % 32)
    return word(32) + word(len(raw)) + padded


def _address_arg(data: bytes, index: int) -> bytes | None:
    """Strict ABI address: 12 zero bytes then 20 address bytes (returned with the 0x41 prefix)."""
    chunk = data[4 + 32 * index : 4 + 32 * (index + 1)]
    if len(chunk) != 32 or any(chunk[:12]):
        return None
    return b"\x41" + chunk[12:]


def _revert(energy: int, message: str) -> CallOutcome:
    return CallOutcome(ok=False, energy=energy, return_data=b"", message=message)


def run_call(
    view: Overlay,
    token: TokenInfo,
    caller: bytes,
    data: bytes,
    call_value: int,
    *,
    force_revert: bool = False,
) -> CallOutcome:
    """Decide the outcome of calling the token with ``data`` (no state change)."""
    if call_value != 0:
        return _revert(REVERT_ENERGY_BAD_CALL, "REVERT opcode executed")
    sel = data[:4]
    if sel == SEL_TRANSFER:
        return _transfer(view, token, caller, data, force_revert=force_revert)
    if force_revert:
        return _revert(VIEW_ENERGY, "REVERT opcode executed")
    if sel in (SEL_BALANCE_OF, SEL_IS_BLACKLISTED, SEL_GET_BLACKLIST_STATUS):
        who = _address_arg(data, 0) if len(data) == 36 else None
        if who is None:
            return _revert(REVERT_ENERGY_BAD_CALL, "REVERT opcode executed")
        if sel == SEL_BALANCE_OF:
            out = word(view.token_balance(who))
        else:
            out = word(1 if view.is_blacklisted(who) else 0)
        return CallOutcome(ok=True, energy=VIEW_ENERGY, return_data=out, is_view=True)
    if len(data) != 4:
        return _revert(REVERT_ENERGY_BAD_CALL, "REVERT opcode executed")
    if sel == SEL_DECIMALS:
        out = word(token.decimals)
    elif sel == SEL_NAME:
        out = encode_string(token.name)
    elif sel == SEL_SYMBOL:
        out = encode_string(token.symbol)
    elif sel == SEL_TOTAL_SUPPLY:
        out = word(view.total("token_supply"))
    else:
        return _revert(REVERT_ENERGY_BAD_CALL, "REVERT opcode executed")
    return CallOutcome(ok=True, energy=VIEW_ENERGY, return_data=out, is_view=True)


def _transfer(
    view: Overlay, token: TokenInfo, caller: bytes, data: bytes, *, force_revert: bool
) -> CallOutcome:
    to = _address_arg(data, 0) if len(data) == 68 else None
    if to is None:
        return _revert(REVERT_ENERGY_BAD_CALL, "REVERT opcode executed")
    amount = int.from_bytes(data[36:68], "big")
    if to == ZERO_ADDRESS:  # BasicToken.transfer: require(_to != address(0))
        return _revert(REVERT_ENERGY_BAD_CALL, "REVERT opcode executed")
    if view.is_blacklisted(caller):
        return _revert(REVERT_ENERGY_BLACKLISTED, "REVERT opcode executed")
    if view.token_balance(caller) < amount:
        return _revert(REVERT_ENERGY_INSUFFICIENT, "REVERT opcode executed")
    base = token.energy_existing if view.token_balance(to) > 0 else token.energy_new
    penalty = base * token.energy_factor_permille // 1000
    energy = base + penalty
    if force_revert:
        return _revert(energy, "REVERT opcode executed")
    return CallOutcome(
        ok=True, energy=energy, return_data=word(1), move=(caller, to, amount), penalty=penalty
    )


def apply_move(view: Overlay, move: tuple[bytes, bytes, int]) -> None:
    src, dst, amount = move
    view.set_token_balance(src, view.token_balance(src) - amount)
    view.set_token_balance(dst, view.token_balance(dst) + amount)


def transfer_log(token: TokenInfo, move: tuple[bytes, bytes, int]) -> dict[str, object]:
    src, dst, amount = move
    return {
        "address": token.address[1:].hex(),
        "topics": [
            TRANSFER_TOPIC.hex(),
            (b"\0" * 12 + src[1:]).hex(),
            (b"\0" * 12 + dst[1:]).hex(),
        ],
        "data": word(amount).hex(),
    }
