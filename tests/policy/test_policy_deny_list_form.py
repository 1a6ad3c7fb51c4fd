"""Red-team review: the deny list fails open on an address it cannot match.

``policy/config.py::_addresses`` (and ``_split`` for ``TRONPAY_POLICY_DENY_LIST``) keep the
entries as raw strings: nothing validates or normalizes them, and
``PolicyService.check_static`` compares them with the base58 text of the destination. An
operator who pastes the hex form (``41...``, what many explorers and java-tron's own JSON
show) or an address with a typo gets a policy that loads fine, logs "policy.loaded" with one
deny entry, and never denies anything: payouts to the sanctioned address are accepted and
paid. (An allow list with the same mistake fails closed, which is safe.)

Real parts: a real policy file, ``load_policy``, the policy service on SQLite and PostgreSQL.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from node.support import addr
from tronpay.db.session import write_transaction
from tronpay.kit.clock import utcnow
from tronpay.policy.config import PolicyConfigError, load_policy
from tronpay.policy.errors import PolicyViolation
from tronpay.policy.service import PolicyService
from tronpay.tron.address import to_hex


async def test_deny_list_entry_in_hex_form_denies_the_address(
    tmp_path: Path, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    sanctioned = addr(173)
    policy_file = tmp_path / "policy.toml"
    policy_file.write_text(f'[destinations]\ndeny = ["{to_hex(sanctioned)}"]\n')
    try:
        config = load_policy(policy_file, environ={})
    except PolicyConfigError:
        return  # fixed by refusing what cannot be matched
    policy = PolicyService(config)
    with pytest.raises(PolicyViolation):
        async with write_transaction(sessionmaker) as session:
            await policy.check_and_reserve(
                session,
                payout_id="po_review_deny",
                asset="USDT",
                destination=sanctioned,
                amount=1_000_000,
                now=utcnow(),
            )
