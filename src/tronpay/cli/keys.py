"""CLI commands: ``tronpay keys generate|address|encrypt|import``.

Keys are written to files with mode 0600 and never printed; commands print addresses only.
"""

from __future__ import annotations

import getpass
import sys
from pathlib import Path
from typing import Annotated

import typer

from tronpay.errors import TronpayError
from tronpay.signer.files import read_passphrase_file, write_secret_file
from tronpay.signer.keystore import DEFAULT_SCRYPT_N, load_keystore, save_keystore
from tronpay.signer.local import read_key_file
from tronpay.tron.errors import SignatureError
from tronpay.tron.keys import PrivateKey

keys_app = typer.Typer(
    no_args_is_help=True,
    help="Create and inspect hot-wallet keys. Keys go to files (mode 0600), never to the screen.",
)

KeyFileOption = Annotated[
    Path | None, typer.Option("--key-file", help="Hex private key file (mode 0600).")
]
KeystoreOption = Annotated[
    Path | None, typer.Option("--keystore", help="Encrypted keystore file (JSON).")
]
PassphraseOption = Annotated[
    Path | None,
    typer.Option("--passphrase-file", help="File holding the keystore passphrase (mode 0600)."),
]
ScryptNOption = Annotated[
    int, typer.Option("--scrypt-n", hidden=True, help="scrypt cost (tests only).")
]


def register(app: typer.Typer) -> None:
    """Add this module's commands to the root app."""
    app.add_typer(keys_app, name="keys")


def _fail(message: str) -> typer.Exit:
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(code=1)


def _key_bytes(key: PrivateKey) -> bytes:
    return (key.unsafe_export_secret().hex() + "\n").encode()


@keys_app.command("generate")
def generate(
    out: Annotated[Path, typer.Option("--out", help="Where to write the new hex key.")],
) -> None:
    """Generate a new key into a new file (mode 0600) and print its address."""
    key = PrivateKey.generate()
    try:
        write_secret_file(out, _key_bytes(key), what="key file")
    except TronpayError as exc:
        raise _fail(exc.detail) from None
    typer.echo(key.address)


@keys_app.command("address")
def address(
    key_file: KeyFileOption = None,
    keystore: KeystoreOption = None,
    passphrase_file: PassphraseOption = None,
) -> None:
    """Print the address of a key file or of a keystore."""
    if (key_file is None) == (keystore is None):
        raise _fail("give exactly one of --key-file or --keystore")
    if keystore is not None and passphrase_file is None:
        raise _fail("--keystore needs --passphrase-file")
    try:
        if key_file is not None:
            key = read_key_file(key_file)
        elif keystore is not None and passphrase_file is not None:
            key = load_keystore(keystore, read_passphrase_file(passphrase_file))
        else:  # pragma: no cover - excluded by the checks above
            raise _fail("give --key-file, or --keystore with --passphrase-file")
    except TronpayError as exc:
        raise _fail(exc.detail) from None
    typer.echo(key.address)


@keys_app.command("encrypt")
def encrypt(
    key_file: Annotated[Path, typer.Option("--key-file", help="Hex private key file.")],
    out: Annotated[Path, typer.Option("--out", help="Where to write the keystore.")],
    passphrase_file: Annotated[
        Path, typer.Option("--passphrase-file", help="Passphrase file (mode 0600).")
    ],
    scrypt_n: ScryptNOption = DEFAULT_SCRYPT_N,
) -> None:
    """Encrypt a hex key file into a new keystore; print the address."""
    try:
        key = read_key_file(key_file)
        save_keystore(out, key, read_passphrase_file(passphrase_file), scrypt_n=scrypt_n)
    except TronpayError as exc:
        raise _fail(exc.detail) from None
    typer.echo(key.address)


@keys_app.command("import")
def import_key(
    out: Annotated[
        Path | None, typer.Option("--out", help="Write a hex key file (mode 0600).")
    ] = None,
    keystore: Annotated[
        Path | None, typer.Option("--keystore", help="Write an encrypted keystore instead.")
    ] = None,
    passphrase_file: PassphraseOption = None,
    scrypt_n: ScryptNOption = DEFAULT_SCRYPT_N,
) -> None:
    """Read a hex private key from stdin and store it; print the address."""
    if (out is None) == (keystore is None):
        raise _fail("give exactly one of --out or --keystore")
    if keystore is not None and passphrase_file is None:
        raise _fail("--keystore needs --passphrase-file")
    text = getpass.getpass("hex private key: ") if sys.stdin.isatty() else sys.stdin.read()
    try:
        key = PrivateKey.from_hex(text)
    except SignatureError:
        raise _fail("stdin does not hold a valid hex private key") from None
    try:
        if out is not None:
            write_secret_file(out, _key_bytes(key), what="key file")
        elif keystore is not None and passphrase_file is not None:
            save_keystore(keystore, key, read_passphrase_file(passphrase_file), scrypt_n=scrypt_n)
    except TronpayError as exc:
        raise _fail(exc.detail) from None
    typer.echo(key.address)
