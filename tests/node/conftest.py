"""Fixtures: a real devnet over HTTP (blocks on demand) and a NodeClient pointed at it."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import httpx
import pytest

from tron_devnet.testing import DevnetHandle, run_devnet
from tronpay.tron.node import NodeClient

FAST = httpx.Timeout(3.0, connect=1.0)


@pytest.fixture
def devnet() -> Iterator[DevnetHandle]:
    with run_devnet(block_time_s=0, solidify_depth=2) as handle:
        yield handle


@pytest.fixture
async def node(devnet: DevnetHandle) -> AsyncIterator[NodeClient]:
    async with NodeClient([devnet.url], timeout=FAST, backoff_base_s=0.01) as client:
        yield client
