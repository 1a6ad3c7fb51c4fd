"""``python -m tron_devnet``."""

from tron_devnet.cli import main

main()
