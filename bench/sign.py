"""Signing throughput: tronpay's LocalSigner.sign vs raw coincurve (reused key object) vs
tronpy's PrivateKey.sign_msg_hash, measured in one run, rounds interleaved, best of N.

Prints one JSON object. Usage: .venv/bin/python bench/sign.py [--count 20000] [--rounds 3]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import platform
import time
from collections.abc import Callable
from importlib import metadata

import coincurve
from tronpy.keys import PrivateKey as TronpyPrivateKey

from tronpay.signer import LocalSigner
from tronpay.tron.keys import PrivateKey, recover_address


def _rate(sign: Callable[[bytes], object], digests: list[bytes]) -> float:
    start = time.perf_counter()
    for digest in digests:
        sign(digest)
    return len(digests) / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--count", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()

    key = PrivateKey.generate()
    secret = key.unsafe_export_secret()
    signer = LocalSigner(key)
    raw = coincurve.PrivateKey(secret)
    tronpy_key = TronpyPrivateKey(secret)
    digests = [hashlib.sha256(i.to_bytes(8, "big")).digest() for i in range(args.count)]

    # Same signatures from all three, and they recover to the signer: we time equal work.
    probe = digests[0]
    expected = raw.sign_recoverable(probe, hasher=None)
    assert signer.sign(probe) == expected
    assert tronpy_key.sign_msg_hash(probe).to_bytes() == expected
    assert recover_address(probe, expected) == signer.address

    candidates: dict[str, Callable[[bytes], object]] = {
        "tronpay_local_signer": signer.sign,
        "coincurve_reused_key": lambda d: raw.sign_recoverable(d, hasher=None),
        "tronpy_sign_msg_hash": tronpy_key.sign_msg_hash,
    }
    best = dict.fromkeys(candidates, 0.0)
    for _ in range(args.rounds):
        for name, sign in candidates.items():
            best[name] = max(best[name], _rate(sign, digests))

    tronpay, coincurve_rate, tronpy = (best[name] for name in candidates)
    print(
        json.dumps(
            {
                "benchmark": "sign_txid",
                "count_per_round": args.count,
                "rounds": args.rounds,
                "signatures_per_second": {name: round(rate) for name, rate in best.items()},
                "ratio_tronpay_vs_coincurve": round(tronpay / coincurve_rate, 3),
                "ratio_tronpay_vs_tronpy": round(tronpay / tronpy, 3),
                "targets": {"vs_coincurve": 0.9, "vs_tronpy": 2.0},
                "meets_targets": tronpay / coincurve_rate >= 0.9 and tronpay / tronpy >= 2.0,
                "python": platform.python_version(),
                "coincurve": metadata.version("coincurve"),
                "tronpy": metadata.version("tronpy"),
            }
        )
    )


if __name__ == "__main__":
    main()
