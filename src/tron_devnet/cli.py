"""The ``tron-devnet`` command line (filled in by the devnet work)."""

from __future__ import annotations


def main() -> None:
    raise SystemExit("tron-devnet: not built yet")
