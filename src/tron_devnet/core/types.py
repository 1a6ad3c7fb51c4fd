"""Public value types of the devnet core (re-exported by ``tron_devnet.chain``)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class ChainConfig:
    block_interval_ms: int = 3000  # timestamps advance by this per produced block
    solidify_depth: int = 19  # solid head = head - depth
    energy_price_sun: int = 100  # getEnergyFee chain parameter
    bandwidth_price_sun: int = 1000  # getTransactionFee
    free_bandwidth: int = 600  # free net per account per day
    create_account_fee_sun: int = 1_000_000  # TRX transfer to a new account (plus bandwidth)
    trc20_energy_existing: int = 64_285  # USDT transfer to an existing holder
    trc20_energy_new: int = 130_285  # ... to an address with zero token balance
    unfreeze_delay_ms: int = 14 * 86_400_000
    total_energy_limit: int = 180_000_000_000
    total_net_limit: int = 43_200_000_000
    token_address_hex: str = "41a614f803b6fd780986a42c78ec9c7f77e6ded13c"  # noqa: S105
    token_name: str = "Tether USD"  # noqa: S105
    token_symbol: str = "USDT"  # noqa: S105
    token_decimals: int = 6
    genesis_timestamp_ms: int | None = None  # None = now
    # added by the core (defaults follow mainnet):
    create_account_bandwidth_fee_sun: int = 100_000  # getCreateAccountFee (bandwidth part)
    memo_fee_sun: int = 1_000_000  # getMemoFee: burned for a transaction with raw.data
    max_fee_limit_sun: int = 15_000_000_000  # getMaxFeeLimit
    max_delegate_lock_period: int = 864_000  # getMaxDelegateLockPeriod (blocks)
    # added by the audit: java-tron's node.rpc.trxCacheEnable (default false). When true, every
    # broadcast txid is remembered before validation and a repeat answers DUP_TRANSACTION_ERROR
    # "Transaction already exists." (even after a failure).
    trx_cache_enable: bool = False
    # added by the audit: the dynamic energy model's factor for the token contract, per mille
    # (0 = off, mainnet's USDT has had factors up to 3,400). A transfer costs
    # trc20_energy_* x (1 + factor/1000); the extra is receipt.energy_penalty_total.
    trc20_energy_factor_permille: int = 0


@dataclass
class GenesisAccount:
    address_hex: str
    trx_sun: int = 0
    usdt_units: int = 0


@dataclass(frozen=True)
class SubmitResult:
    """Broadcast outcome. ``code`` is one of SIGERROR, CONTRACT_VALIDATE_ERROR,
    CONTRACT_EXE_ERROR, BANDWITH_ERROR, DUP_TRANSACTION_ERROR, TAPOS_ERROR,
    TOO_BIG_TRANSACTION_ERROR, TRANSACTION_EXPIRATION_ERROR, OTHER_ERROR."""

    ok: bool
    txid: str
    code: str | None = None
    message: str = ""


class ChainError(ValueError):
    """A request the chain refuses: ``code`` is a java-tron response code, ``message`` plain text.

    A ValueError, so loaders that treat bad input as ValueError (state files) catch it too."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
