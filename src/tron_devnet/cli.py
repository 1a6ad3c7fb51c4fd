"""The ``tron-devnet`` command: run a local TRON full-node emulator.

    tron-devnet [--host 127.0.0.1] [--port 8091] [--block-time 3] [--solidify-depth 19]
                [--genesis FILE] [--state FILE] [--demo-key-file PATH] [--seed N] [--faults FILE]

Bad flags or unreadable files print one line and exit with status 2. SIGTERM/SIGINT finish the
block being produced, write ``--state`` and exit 0.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import signal
import socket
import sys
from collections.abc import Generator, Sequence
from pathlib import Path
from types import FrameType
from typing import NoReturn

import uvicorn

from tron_devnet import __version__
from tron_devnet.core.chain import Chain, ChainConfig
from tron_devnet.core.crypto import hex_to_base58
from tron_devnet.faults import FaultPlan, FaultSpecError
from tron_devnet.genesis import (
    Genesis,
    GenesisError,
    default_demo_key_path,
    default_genesis,
    demo_address_hex,
    load_genesis,
    write_demo_key,
)
from tron_devnet.persistence import StateFileError, load_state, read_json_file, save_state
from tron_devnet.server import create_app, runtime_of

EXIT_USAGE = 2


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_USAGE, f"tron-devnet: error: {message}\n")


class CliError(Exception):
    """A bad flag value or file: one line on stderr, exit status 2."""


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="tron-devnet", description="Local TRON full-node emulator.")
    parser.add_argument("--host", default="127.0.0.1", help="listen address (127.0.0.1)")
    parser.add_argument("--port", type=int, default=8091, help="listen port (8091)")
    parser.add_argument(
        "--block-time", type=float, default=3.0, help="seconds per block; 0 = on demand (3)"
    )
    parser.add_argument("--solidify-depth", type=int, default=None, help="blocks until solid (19)")
    parser.add_argument("--genesis", type=Path, default=None, help="genesis JSON file")
    parser.add_argument("--state", type=Path, default=None, help="keep the chain in this file")
    parser.add_argument(
        "--demo-key-file", type=Path, default=None, help="where to write the demo hot wallet key"
    )
    parser.add_argument("--seed", type=int, default=0, help="fault injection RNG seed (0)")
    parser.add_argument("--faults", type=Path, default=None, help="initial fault plan JSON")
    parser.add_argument("--log-level", default="warning", help="uvicorn log level (warning)")
    parser.add_argument("--version", action="version", version=f"tron-devnet {__version__}")
    return parser


@dataclasses.dataclass(frozen=True)
class Settings:
    host: str
    port: int
    block_time_s: float
    genesis: Genesis
    uses_demo_wallet: bool
    state_path: Path | None
    demo_key_path: Path
    faults: FaultPlan
    log_level: str


def settings_from_args(args: argparse.Namespace) -> Settings:
    if not 0 <= args.port <= 65535:
        raise CliError(f"--port must be within 0..65535, got {args.port}")
    if args.block_time < 0 or args.block_time != args.block_time:
        raise CliError(f"--block-time must be >= 0, got {args.block_time}")
    if args.solidify_depth is not None and args.solidify_depth < 0:
        raise CliError(f"--solidify-depth must be >= 0, got {args.solidify_depth}")
    base = ChainConfig()
    if args.block_time > 0:
        base = dataclasses.replace(base, block_interval_ms=round(args.block_time * 1000))
    try:
        genesis = load_genesis(args.genesis, base) if args.genesis else default_genesis(base)
    except GenesisError as exc:
        raise CliError(str(exc)) from None
    if args.solidify_depth is not None:
        genesis = Genesis(
            dataclasses.replace(genesis.config, solidify_depth=args.solidify_depth),
            genesis.accounts,
        )
    plan = FaultPlan(seed=args.seed)
    if args.faults is not None:
        raw = read_json_file(args.faults, "faults", CliError)
        try:
            plan = FaultPlan.from_json(raw, default_seed=args.seed)
        except FaultSpecError as exc:
            raise CliError(f"faults file {args.faults}: {exc}") from None
    if args.state is not None and args.state.is_dir():
        raise CliError(f"--state {args.state} is a directory")
    return Settings(
        host=args.host,
        port=args.port,
        block_time_s=args.block_time,
        genesis=genesis,
        uses_demo_wallet=args.genesis is None,
        state_path=args.state,
        demo_key_path=args.demo_key_file or default_demo_key_path(),
        faults=plan,
        log_level=args.log_level,
    )


class _GracefulServer(uvicorn.Server):
    """uvicorn re-raises SIGTERM/SIGINT after shutdown; we want a clean exit 0 instead."""

    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        def on_signal(sig: int, frame: FrameType | None) -> None:
            if self.should_exit and sig == signal.SIGINT:
                self.force_exit = True
            self.should_exit = True

        previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
        try:
            yield
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)


def _bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise CliError(f"cannot listen on {host}:{port}: {exc.strerror}") from None
    sock.set_inheritable(True)
    return sock


def build_chain(settings: Settings) -> Chain:
    if settings.state_path is not None and settings.state_path.exists():
        try:
            return load_state(settings.state_path)
        except StateFileError as exc:
            raise CliError(str(exc)) from None
    return Chain(settings.genesis.config, list(settings.genesis.accounts))


def run(settings: Settings) -> int:
    chain = build_chain(settings)
    if settings.uses_demo_wallet:
        try:
            write_demo_key(settings.demo_key_path)
        except OSError as exc:
            raise CliError(
                f"cannot write demo key file {settings.demo_key_path}: {exc.strerror}"
            ) from None
    genesis = settings.genesis

    def reset_factory() -> Chain:
        return Chain(genesis.config, list(genesis.accounts))

    app = create_app(
        chain,
        block_time_s=settings.block_time_s,
        faults=settings.faults,
        reset_factory=reset_factory,
    )
    sock = _bind(settings.host, settings.port)
    port = sock.getsockname()[1]
    config = uvicorn.Config(
        app,
        access_log=False,
        log_level=settings.log_level,
        lifespan="on",
        http="httptools",
        loop="uvloop",
        timeout_graceful_shutdown=5,
    )
    server = _GracefulServer(config)
    banner = f"tron-devnet listening on http://{settings.host}:{port}"
    if settings.uses_demo_wallet:
        banner += (
            f" (demo hot wallet {hex_to_base58(demo_address_hex())},"
            f" key file {settings.demo_key_path})"
        )
    print(banner, file=sys.stderr, flush=True)
    try:
        server.run(sockets=[sock])
    finally:
        sock.close()
    if settings.state_path is not None:
        save_state(runtime_of(app).chain, settings.state_path)
        print(f"tron-devnet: state saved to {settings.state_path}", file=sys.stderr, flush=True)
    return 0


def main(argv: Sequence[str] | None = None) -> None:
    args = build_parser().parse_args(argv)
    try:
        settings = settings_from_args(args)
        code = run(settings)
    except CliError as exc:
        print(f"tron-devnet: error: {exc}", file=sys.stderr)
        raise SystemExit(EXIT_USAGE) from None
    raise SystemExit(code)


if __name__ == "__main__":
    main()
