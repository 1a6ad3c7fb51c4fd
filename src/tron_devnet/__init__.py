"""tron_devnet: a local TRON full-node emulator speaking java-tron's HTTP API."""

__version__ = "0.1.0"
