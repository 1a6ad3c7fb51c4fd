"""Online backups of the embedded SQLite database (``tronpay db backup PATH``).

SQLite's online backup API (``sqlite3.Connection.backup``) copies a consistent snapshot of
the database while the service keeps running: pages are copied in steps, and a write by the
service between steps restarts the copy, so the file it leaves behind is one committed state
(write-ahead log included), never a torn one. A plain ``cp`` of a live database file is not.

The copy is written beside ``PATH`` first, checked (``PRAGMA integrity_check``) and then
renamed into place, so ``PATH`` is either absent or a whole backup.

PostgreSQL is backed up with its own tools (``pg_dump``), see ``POSTGRES_BACKUP_HELP``.
"""

from __future__ import annotations

import os
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from tronpay.errors import TronpayError

PAGES_PER_STEP: Final = 1024

POSTGRES_BACKUP_HELP: Final = (
    "tronpay db backup copies the embedded SQLite database only; back PostgreSQL up with its "
    "own tools while the service runs (a consistent snapshot, no downtime):\n"
    '  pg_dump --format=custom --file=tronpay.dump "$DATABASE_URL"\n'
    "and restore into an empty database with the service stopped:\n"
    '  pg_restore --no-owner --dbname="$NEW_DATABASE_URL" tronpay.dump\n'
    "then run `tronpay audit verify` against it before starting the service"
    " ($DATABASE_URL in libpq form: postgresql://user@host:5432/db, without +asyncpg)"
)


class BackupError(TronpayError):
    """``tronpay db backup`` could not make a backup."""

    code = "backup_error"
    status = 500
    title = "The database could not be backed up"


@dataclass(frozen=True, slots=True)
class BackupResult:
    source: Path
    target: Path
    pages: int
    bytes: int


def sqlite_path(url: str) -> Path | None:
    """The file of a SQLite database URL (``sqlite[+driver]:///relative`` or
    ``sqlite[+driver]:////absolute``, as SQLAlchemy reads them); ``None`` for any other
    database. Parsed here, without SQLAlchemy: the CLI stays light."""
    scheme, sep, rest = url.partition("://")
    if not sep or scheme.split("+", 1)[0] != "sqlite":
        return None
    database = rest.partition("/")[2].partition("?")[0]
    if not database or database == ":memory:":
        raise BackupError("an in-memory SQLite database cannot be backed up")
    return Path(database)


def backup_sqlite(source: Path, target: Path) -> BackupResult:
    """Copy the live SQLite database ``source`` to the new file ``target`` (online, consistent,
    integrity-checked). Refuses to overwrite ``target``."""
    if not source.is_file():
        raise BackupError(f"no database at {source}")
    if target.exists():
        raise BackupError(f"{target} already exists; choose a new path")
    if target.resolve() == source.resolve():
        raise BackupError("the backup must not be the database itself")
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(f".{target.name}.partial")
    partial.unlink(missing_ok=True)
    # The backup API only reads the source; the service's writes go on meanwhile.
    src = sqlite3.connect(source, timeout=30.0)
    try:
        dst = sqlite3.connect(partial)
        try:
            src.backup(dst, pages=PAGES_PER_STEP)
            pages = int(dst.execute("PRAGMA page_count").fetchone()[0])
            check = dst.execute("PRAGMA integrity_check").fetchone()[0]
            # A standalone file: no WAL beside it that a copy could forget.
            dst.execute("PRAGMA journal_mode=DELETE")
        finally:
            dst.close()
    except sqlite3.Error as exc:
        partial.unlink(missing_ok=True)
        raise BackupError(f"sqlite backup failed: {exc}") from exc
    finally:
        src.close()
    if check != "ok":
        partial.unlink(missing_ok=True)
        raise BackupError(f"the copy failed its integrity check: {check}")
    os.replace(partial, target)
    return BackupResult(source, target, pages, target.stat().st_size)


__all__ = [
    "POSTGRES_BACKUP_HELP",
    "BackupError",
    "BackupResult",
    "backup_sqlite",
    "sqlite_path",
]
