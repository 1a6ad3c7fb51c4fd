"""Fault injection: seeded, per-endpoint rules that make the devnet misbehave on purpose.

A ``FaultPlan`` holds an ordered list of ``FaultRule``s and one ``random.Random(seed)``. For each
request the server asks ``plan.pick(path)``; the first rule whose glob matches the path, that
still has budget left and whose probability roll succeeds fires (one roll per matching rule with
probability < 1, so a plan is deterministic for a given seed and request sequence).

Modes:
- ``http_500`` / ``http_502``: answer with that status and no java-tron body.
- ``hang``: sleep ``seconds`` (longer than a client timeout), then serve the request normally.
- ``server_busy``: a broadcast answers ``{"code": "SERVER_BUSY", ...}``; nothing is accepted.
- ``never_include``: the broadcast is accepted (``result: true``) and never put in a block.
- ``lose_response``: the request IS served (a broadcast is accepted), then the connection is
  dropped without a response.
- ``delay_blocks``: the broadcast is accepted but included only after ``blocks`` more blocks.
- ``revert_next``: the next ``count`` TRC20 transfers broadcast here execute as REVERT.
"""

from __future__ import annotations

import fnmatch
import random
from dataclasses import dataclass, replace
from typing import Any

from tron_devnet.core import wire

MODES = frozenset(
    {
        "http_500",
        "http_502",
        "hang",
        "server_busy",
        "never_include",
        "lose_response",
        "delay_blocks",
        "revert_next",
    }
)
# Modes applied around any request (by the app wrapper) and those only a broadcast handler
# applies (they change how the transaction is accepted). revert_next is counted separately.
TRANSPORT_MODES = frozenset({"http_500", "http_502", "hang", "lose_response"})
BROADCAST_MODES = frozenset({"server_busy", "never_include", "delay_blocks"})


class FaultSpecError(ValueError):
    """A fault rule or plan in a request or file is malformed."""


@dataclass(frozen=True)
class FaultRule:
    path: str
    mode: str
    probability: float = 1.0
    count: int | None = None  # remaining firings; None = unlimited
    seconds: float = 30.0  # hang
    blocks: int = 1  # delay_blocks

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "path": self.path,
            "mode": self.mode,
            "probability": self.probability,
            "count": self.count,
        }
        if self.mode == "hang":
            out["seconds"] = self.seconds
        if self.mode == "delay_blocks":
            out["blocks"] = self.blocks
        return out


def _int_field(raw: dict[str, Any], name: str, default: int | None, minimum: int) -> int | None:
    value = raw.get(name, default)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise FaultSpecError(f"{name} must be an integer >= {minimum}")
    return value


def _number_field(raw: dict[str, Any], name: str, default: float) -> float:
    value = raw.get(name, default)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise FaultSpecError(f"{name} must be a number")
    return float(value)


def parse_rule(raw: object) -> FaultRule:
    if not isinstance(raw, dict):
        raise FaultSpecError("a fault rule must be an object")
    unknown = set(raw) - {"path", "mode", "probability", "count", "seconds", "blocks"}
    if unknown:
        raise FaultSpecError(f"unknown fault rule fields: {sorted(unknown)}")
    path = raw.get("path")
    if not isinstance(path, str) or not path.startswith("/"):
        raise FaultSpecError("path must be a glob starting with '/', e.g. /wallet/broadcast*")
    mode = raw.get("mode")
    if mode not in MODES:
        raise FaultSpecError(f"mode must be one of {sorted(MODES)}")
    probability = _number_field(raw, "probability", 1.0)
    if not 0.0 <= probability <= 1.0:
        raise FaultSpecError("probability must be within [0, 1]")
    seconds = _number_field(raw, "seconds", 30.0)
    if seconds < 0:
        raise FaultSpecError("seconds must be >= 0")
    blocks = _int_field(raw, "blocks", 1, 1)
    count = _int_field(raw, "count", None, 0)
    return FaultRule(
        path=path,
        mode=str(mode),
        probability=probability,
        count=count,
        seconds=seconds,
        blocks=blocks if blocks is not None else 1,
    )


class FaultPlan:
    """An ordered, seeded set of fault rules. Not thread-safe (event-loop use only)."""

    def __init__(self, rules: list[FaultRule] | None = None, *, seed: int = 0) -> None:
        self.seed = seed
        self._rng = random.Random(seed)
        self._rules: list[FaultRule] = list(rules or [])
        self.fired: dict[str, int] = {}

    @classmethod
    def from_json(cls, raw: object, *, default_seed: int = 0) -> FaultPlan:
        """``{"seed": n, "rules": [...]}`` or a bare list of rules."""
        if isinstance(raw, list):
            return cls([parse_rule(r) for r in raw], seed=default_seed)
        if not isinstance(raw, dict):
            raise FaultSpecError("faults must be an object {seed, rules} or a list of rules")
        unknown = set(raw) - {"seed", "rules"}
        if unknown:
            raise FaultSpecError(f"unknown fields: {sorted(unknown)}")
        seed = raw.get("seed", default_seed)
        if isinstance(seed, bool) or not isinstance(seed, int):
            raise FaultSpecError("seed must be an integer")
        rules = raw.get("rules", [])
        if not isinstance(rules, list):
            raise FaultSpecError("rules must be a list")
        return cls([parse_rule(r) for r in rules], seed=seed)

    @property
    def active(self) -> bool:
        """Whether any rule could still fire (cheap check on the hot path)."""
        return any(r.count is None or r.count > 0 for r in self._rules)

    @property
    def rules(self) -> list[FaultRule]:
        return list(self._rules)

    def to_json(self) -> dict[str, Any]:
        return {
            "seed": self.seed,
            "rules": [r.to_json() for r in self._rules],
            "fired": dict(self.fired),
        }

    def pick(self, path: str, modes: frozenset[str]) -> FaultRule | None:
        """The rule among ``modes`` that fires for this request, if any (budget consumed)."""
        for i, rule in enumerate(self._rules):
            if rule.count is not None and rule.count <= 0:
                continue
            if rule.mode not in modes:
                continue
            if not fnmatch.fnmatchcase(path, rule.path):
                continue
            if rule.probability < 1.0 and self._rng.random() >= rule.probability:
                continue
            self._consume(i)
            return rule
        return None

    def pending_revert(self, path: str) -> int | None:
        """Index of a live revert_next rule for this path (not consumed yet)."""
        for i, rule in enumerate(self._rules):
            if rule.mode != "revert_next" or (rule.count is not None and rule.count <= 0):
                continue
            if fnmatch.fnmatchcase(path, rule.path):
                return i
        return None

    def consume(self, index: int) -> None:
        """Spend one firing of rule ``index`` (used for revert_next once a TRC20 transfer is
        actually accepted)."""
        self._consume(index)

    def _consume(self, index: int) -> None:
        rule = self._rules[index]
        if rule.count is not None:
            self._rules[index] = replace(rule, count=rule.count - 1)
        self.fired[rule.mode] = self.fired.get(rule.mode, 0) + 1


_TRANSFER_SELECTOR = bytes.fromhex("a9059cbb")
_TRIGGER_SMART_CONTRACT = 31


def tx_raw_bytes(tx_bytes: bytes) -> bytes | None:
    """The serialized ``raw_data`` (field 1) of a serialized Transaction, if parseable."""
    try:
        raws = wire.bytes_values(tx_bytes, 1)
    except wire.WireError:
        return None
    return raws[0] if raws else None


def is_trc20_transfer_bytes(tx_bytes: bytes) -> bool:
    """Whether a serialized Transaction is a TriggerSmartContract calling transfer(...).

    Only used to count ``revert_next`` firings; the chain does the real decoding and validation.
    """
    try:
        for raw in wire.bytes_values(tx_bytes, 1):
            for contract in wire.bytes_values(raw, 11):
                types = wire.varint_values(contract, 1)
                if not types or types[0] != _TRIGGER_SMART_CONTRACT:
                    continue
                for param in wire.bytes_values(contract, 2):
                    for value in wire.bytes_values(param, 2):
                        for data in wire.bytes_values(value, 4):
                            if data[:4] == _TRANSFER_SELECTOR:
                                return True
    except wire.WireError:
        return False
    return False
