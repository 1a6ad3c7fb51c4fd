"""Devnet control: the admin changes (mint, blacklist) and the admin reads (ledger, state).

A change applies to the head state at once and reaches the solid state with the next produced
block; each is recorded as an ``AdminEvent`` so an exported chain replays it at the same height.
Addresses are hex ("41..."); the HTTP layer accepts base58 too and converts.
"""

from __future__ import annotations

from typing import Any

from tron_devnet.core.chain_core import ChainCore
from tron_devnet.core.crypto import address_or_none
from tron_devnet.core.records import AdminEvent
from tron_devnet.core.render import chain_parameters, ledger_entry
from tron_devnet.core.state import TOKEN_SUPPLY, Overlay
from tron_devnet.core.types import ChainError


def _address(address_hex: str) -> bytes:
    addr = address_or_none(address_hex)
    if addr is None:
        raise ChainError("OTHER_ERROR", f"invalid address {address_hex}")
    return addr


def mint(chain: ChainCore, address_hex: str, *, trx_sun: int = 0, usdt_units: int = 0) -> None:
    """Credit TRX and/or tokens at once (head state; solid with the next block)."""
    addr = _address(address_hex)
    if trx_sun < 0 or usdt_units < 0:
        raise ChainError("OTHER_ERROR", "mint amounts must not be negative")
    view = Overlay(chain.head_state)
    if view.account(addr) is None:
        view.create_account(addr, chain.head_timestamp)
    if trx_sun:
        view.account_mut(addr).balance += trx_sun
    if usdt_units:
        view.set_token_balance(addr, view.token_balance(addr) + usdt_units)
        view.add_total(TOKEN_SUPPLY, usdt_units)
    args = {"address": addr.hex(), "trx_sun": trx_sun, "usdt_units": usdt_units}
    chain.commit_admin_change(view, AdminEvent(chain.head_number, "mint", args))


def blacklist(chain: ChainCore, address_hex: str, listed: bool = True) -> None:
    """Put an address on (or take it off) the token's blacklist."""
    addr = _address(address_hex)
    view = Overlay(chain.head_state)
    view.set_blacklisted(addr, listed)
    args = {"address": addr.hex(), "listed": listed}
    chain.commit_admin_change(view, AdminEvent(chain.head_number, "blacklist", args))


def ledger(chain: ChainCore) -> dict[str, Any]:
    """Every account's balances and every executed transaction (``GET /admin/ledger``)."""
    state = chain.head_state
    addrs = sorted(set(state.accounts) | set(state.tokens))
    accounts = []
    for addr in addrs:
        acct = state.accounts.get(addr)
        accounts.append(
            {
                "address": addr.hex(),
                "trx_sun": acct.balance if acct else 0,
                "usdt_units": state.tokens.get(addr, 0),
                "frozen_energy_sun": acct.frozen_en if acct else 0,
                "frozen_bandwidth_sun": acct.frozen_bw if acct else 0,
                "blacklisted": state.blacklist.get(addr, False),
            }
        )
    transactions = [ledger_entry(rec, block.number) for block in chain.blocks for rec in block.txs]
    return {"accounts": accounts, "transactions": transactions}


def state_json(chain: ChainCore) -> dict[str, Any]:
    """Head, solid height, pending count, chain parameters and token (``GET /admin/state``)."""
    head = chain.blocks[-1]
    return {
        "head": head.number,
        "head_block_id": head.block_id.hex(),
        "head_timestamp": head.timestamp,
        "solidified": chain.solid_number,
        "pending": chain.pending_count,
        "chain_parameters": chain_parameters(chain.config),
        "token": {
            "address": chain.token.address.hex(),
            "name": chain.token.name,
            "symbol": chain.token.symbol,
            "decimals": chain.token.decimals,
            "total_supply": chain.head_state.totals.get(TOKEN_SUPPLY, 0),
        },
    }
