"""``tronpay wallet``: the hot wallet as ``GET /v1/wallet`` reports it, for humans (or as JSON
with ``--json``). Talks to a running service like the payouts commands: ``--api-url`` /
``TRONPAY_API_URL`` and a token with ``wallet:read`` in ``--token`` / ``TRONPAY_TOKEN``."""

from __future__ import annotations

from typing import Any

import typer
from rich.table import Table

from tronpay.cli.client import (
    DEFAULT_API_URL,
    Api,
    ApiUrl,
    AsJson,
    Token,
    field_table,
    out,
    print_json,
)


def _get_wallet(api_url: str, token: str) -> dict[str, Any]:
    body: dict[str, Any] = Api.of(api_url, token).call("GET", "/v1/wallet")
    return body


def _units(n: int) -> str:
    return f"{n:,}"


def _resource_line(res: dict[str, Any]) -> str:
    line = (
        f"{_units(res['available'])} available of {_units(res['limit'])} a day; "
        f"{_units(res['used'])} used"
    )
    if res.get("recovered_by"):
        line += f" (all back by {res['recovered_by']})"
    line += (
        f"; own stake {_units(res['from_own_stake'])}, delegated in "
        f"{_units(res['delegated_in'])}, out {_units(res['delegated_out'])}"
    )
    if "free_limit" in res:
        line += f"; free {_units(res['free_used'])}/{_units(res['free_limit'])} used"
    return line


def _runway_line(r: dict[str, Any]) -> str:
    return (
        f"{_units(r['total'])} payouts: {_units(r['from_staked_energy'])} on staked energy, "
        f"then {_units(r['by_burning_trx'])} burning {r['trx_burned_per_payout']} TRX each "
        f"({_units(r['energy_per_payout'])} energy, {r['energy_source']})"
    )


def render(w: dict[str, Any]) -> Table:
    """The wallet view as a two-column table."""
    table = field_table((), f"Hot wallet {w['address']}")
    flight = w["in_flight"]
    table.add_row("as of", f"block {w['block']} at {w['block_time']}")
    table.add_row(
        "TRX",
        f"{w['trx']} (spendable {w['trx_spendable']}; {flight['trx_held']} held by "
        f"{flight['attempts']} in-flight payout transactions)",
    )
    table.add_row("USDT", f"{w['usdt']} ({flight['usdt_held']} held by in-flight payouts)")
    table.add_row("energy", _resource_line(w["energy"]))
    table.add_row("bandwidth", _resource_line(w["bandwidth"]))
    s = w["staked"]
    table.add_row(
        "staked TRX",
        f"energy {s['energy']} (+{s['energy_delegated_out']} delegated out, "
        f"{s['energy_delegated_in']} in); bandwidth {s['bandwidth']} "
        f"(+{s['bandwidth_delegated_out']} out, {s['bandwidth_delegated_in']} in)",
    )
    u = w["unstaking"]
    pending = "; ".join(
        f"{p['amount']} TRX {p['resource']} "
        + ("withdrawable" if p["withdrawable"] else f"unlocks {p['unlocks_at']}")
        for p in u["pending"]
    )
    table.add_row(
        "unstaking",
        f"{pending or 'nothing pending'}; withdrawable now {u['withdrawable']} TRX; "
        f"{u['unstakes_left']} more unstakes allowed",
    )
    for d in w["delegations"]:
        locked = f", locked until {d['locked_until']}" if d["locked_until"] else ""
        table.add_row("delegated", f"{d['amount']} TRX of {d['resource']} to {d['to']}{locked}")
    p = w["prices"]
    table.add_row("prices", f"energy {p['energy_sun']} sun, bandwidth {p['bandwidth_sun']} sun")
    table.add_row("runway, new holder", _runway_line(w["runway"]["new_holder"]))
    table.add_row("runway, existing holder", _runway_line(w["runway"]["existing_holder"]))
    return table


def wallet(api_url: ApiUrl = DEFAULT_API_URL, token: Token = "", as_json: AsJson = False) -> None:
    """Show the hot wallet: balances, energy and bandwidth, stake, unstakes and the runway."""
    body = _get_wallet(api_url, token)
    if as_json:
        print_json(body)
        return
    out.print(render(body))


def register(app: typer.Typer) -> None:
    """Add this module's commands to the root app."""
    app.command("wallet")(wallet)
