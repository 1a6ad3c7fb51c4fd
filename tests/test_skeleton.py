"""The project installs as one distribution with both packages and both console scripts."""

from importlib.metadata import entry_points

import tron_devnet
import tronpay


def test_both_packages_import_with_a_version() -> None:
    assert tronpay.__version__ == tron_devnet.__version__ == "0.1.0"


def test_console_scripts_are_declared() -> None:
    scripts = {ep.name: ep.value for ep in entry_points(group="console_scripts")}
    assert scripts["tronpay"] == "tronpay.cli:main"
    assert scripts["tron-devnet"] == "tron_devnet.cli:main"
