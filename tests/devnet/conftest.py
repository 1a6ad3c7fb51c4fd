"""Fixtures for the devnet server tests: a real devnet over HTTP on a free port."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import httpx
import pytest

from tron_devnet.testing import DevnetHandle, run_devnet


@pytest.fixture
def devnet() -> Iterator[DevnetHandle]:
    """Blocks only on demand (POST /admin/blocks); solid = head - 3."""
    with run_devnet(block_time_s=0, solidify_depth=3) as handle:
        yield handle


@pytest.fixture
async def client(devnet: DevnetHandle) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=devnet.url, timeout=10.0) as http:
        yield http


@pytest.fixture
def live_devnet() -> Iterator[DevnetHandle]:
    """A devnet producing blocks on its own (0.3 s), solid = head - 2."""
    with run_devnet(block_time_s=0.3, solidify_depth=2) as handle:
        yield handle
