"""Stake 2.0 resource arithmetic: limits from staked TRX and usage that recovers over 24 h.

Usage recovers linearly over a 24 h window, as java-tron's ResourceProcessor does (java-tron
counts in 3 s slots with a 10^6 precision factor; the devnet counts in milliseconds with integer
division, which can differ from java-tron by a unit of rounding).
"""

from __future__ import annotations

from tron_devnet.core.state import RESOURCE_BANDWIDTH, RESOURCE_ENERGY, Account

WINDOW_MS = 86_400_000
TRX = 1_000_000


def recovered_usage(usage: int, last_ms: int, now_ms: int) -> int:
    """Usage still counted at ``now_ms`` of ``usage`` last updated at ``last_ms``."""
    if usage <= 0:
        return 0
    elapsed = now_ms - last_ms
    if elapsed <= 0:
        return usage
    if elapsed >= WINDOW_MS:
        return 0
    return usage * (WINDOW_MS - elapsed) // WINDOW_MS


def limit_from_stake(staked_sun: int, total_limit: int, total_weight_sun: int) -> int:
    """java-tron: staked TRX / total weight (TRX) * total limit."""
    weight = staked_sun // TRX
    total_weight = total_weight_sun // TRX
    if weight <= 0 or total_weight <= 0:
        return 0
    return weight * total_limit // total_weight


def energy_limit(acct: Account, total_limit: int, total_weight_sun: int) -> int:
    return limit_from_stake(acct.frozen_en + acct.acquired_en, total_limit, total_weight_sun)


def net_limit(acct: Account, total_limit: int, total_weight_sun: int) -> int:
    return limit_from_stake(acct.frozen_bw + acct.acquired_bw, total_limit, total_weight_sun)


def energy_used(acct: Account, now_ms: int) -> int:
    return recovered_usage(acct.energy_usage, acct.latest_consume_time_for_energy, now_ms)


def net_used(acct: Account, now_ms: int) -> int:
    return recovered_usage(acct.net_usage, acct.latest_consume_time, now_ms)


def free_net_used(acct: Account, now_ms: int) -> int:
    return recovered_usage(acct.free_net_usage, acct.latest_consume_free_time, now_ms)


def consume_energy(acct: Account, amount: int, now_ms: int) -> None:
    acct.energy_usage = energy_used(acct, now_ms) + amount
    acct.latest_consume_time_for_energy = now_ms


def consume_net(acct: Account, amount: int, now_ms: int) -> None:
    acct.net_usage = net_used(acct, now_ms) + amount
    acct.latest_consume_time = now_ms


def consume_free_net(acct: Account, amount: int, now_ms: int) -> None:
    acct.free_net_usage = free_net_used(acct, now_ms) + amount
    acct.latest_consume_free_time = now_ms


def resource_name(resource: int) -> str:
    return "ENERGY" if resource == RESOURCE_ENERGY else "BANDWIDTH"


def resource_key(resource: int) -> str:
    """java-tron's ResourceCode name (BANDWIDTH, ENERGY, TRON_POWER)."""
    return {RESOURCE_BANDWIDTH: "BANDWIDTH", RESOURCE_ENERGY: "ENERGY"}.get(resource, "TRON_POWER")
