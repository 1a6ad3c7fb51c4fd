"""The chain as a JSON document, and back by replaying it.

``export_state`` keeps the config, the genesis, every block's timestamp and transaction bytes
(with ``force_revert``), the admin events and the pending transactions; ``replay`` rebuilds a
fresh chain from it block by block, so the result is the chain that was exported (txids of
dropped transactions are not kept).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from tron_devnet.core import admission, control
from tron_devnet.core.chain_core import ChainCore
from tron_devnet.core.records import AdminEvent
from tron_devnet.core.types import ChainConfig, ChainError, GenesisAccount, SubmitResult

FORMAT = "tron_devnet.chain/1"


@dataclass(frozen=True)
class ChainSetup:
    """What a chain is constructed from, as read from an export."""

    config: ChainConfig
    genesis: list[GenesisAccount]


def export_state(chain: ChainCore) -> dict[str, Any]:
    config = asdict(chain.config)
    config["genesis_timestamp_ms"] = chain.genesis_timestamp
    return {
        "format": FORMAT,
        "config": config,
        "genesis": [asdict(g) for g in chain.genesis_accounts],
        "blocks": [
            {
                "timestamp": b.timestamp,
                "txs": [
                    {"tx": r.tx_bytes.hex(), "force_revert": r.input.force_revert} for r in b.txs
                ],
            }
            for b in chain.blocks[1:]
        ],
        "events": [asdict(e) for e in chain.admin_events],
        "pending": [
            {
                "tx": r.tx_bytes.hex(),
                "force_revert": r.input.force_revert,
                "hold_blocks": max(0, r.hold_until - chain.head_number - 1),
            }
            for r in chain.pending
        ],
    }


def chain_setup(data: dict[str, Any]) -> ChainSetup:
    """The config and genesis of an ``export_state`` document (unknown config keys ignored)."""
    if data.get("format") != FORMAT:
        raise ChainError("OTHER_ERROR", "unknown state format")
    known = set(ChainConfig.__dataclass_fields__)
    config = ChainConfig(**{k: v for k, v in data["config"].items() if k in known})
    return ChainSetup(config, [GenesisAccount(**g) for g in data["genesis"]])


def replay(chain: ChainCore, data: dict[str, Any]) -> None:
    """Replay an ``export_state`` document onto ``chain``, fresh from its ``chain_setup``."""
    events = [AdminEvent(**e) for e in data.get("events", [])]
    for number, block in enumerate(data["blocks"], start=1):
        _replay_events(chain, events, number - 1)
        records = []
        for item in block["txs"]:
            decoded = admission.decode(bytes.fromhex(item["tx"]), force_revert=item["force_revert"])
            if isinstance(decoded, SubmitResult):
                raise ChainError("OTHER_ERROR", f"cannot replay block {number}")
            records.append(decoded.record)
        sealed = chain.replay_block(int(block["timestamp"]), records)
        if len(sealed.txs) != len(block["txs"]):
            raise ChainError("OTHER_ERROR", f"replay of block {number} diverged")
    _replay_events(chain, events, chain.head_number)
    for item in data.get("pending", []):
        chain.submit(
            bytes.fromhex(item["tx"]),
            hold_blocks=int(item.get("hold_blocks", 0)),
            force_revert=bool(item.get("force_revert", False)),
        )


def _replay_events(chain: ChainCore, events: list[AdminEvent], after_block: int) -> None:
    for event in events:
        if event.after_block != after_block:
            continue
        if event.op == "mint":
            control.mint(
                chain,
                event.args["address"],
                trx_sun=int(event.args.get("trx_sun", 0)),
                usdt_units=int(event.args.get("usdt_units", 0)),
            )
        elif event.op == "blacklist":
            control.blacklist(chain, event.args["address"], bool(event.args.get("listed", True)))
