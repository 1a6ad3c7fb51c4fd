"""An aiosqlite-compatible connection that runs SQLite calls inline on the event loop.

aiosqlite hands every call (cursor, execute, fetch, close...) to a worker thread and back:
about ten thread hops per statement, which costs far more than the statement itself on a
local WAL database (tens of microseconds). tronpay serializes SQLite write transactions in
the process anyway (``tronpay.db.session``), so nothing is gained by the hops.

Trade-off, accepted for the embedded SQLite mode: a call blocks the loop while it runs. The
only call that can wait long is ``BEGIN IMMEDIATE`` when ANOTHER process holds the write lock
(bounded by ``busy_timeout``); scale-out deployments use PostgreSQL.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable, Generator
from pathlib import Path
from typing import Any

import aiosqlite

from tronpay.kit.private_files import create_private_file


class _InlineQueue:
    """Stands in for aiosqlite's queue to its worker thread: runs each job at once."""

    def put_nowait(self, item: tuple[asyncio.Future[Any] | None, Callable[[], Any]]) -> None:
        future, function = item
        try:
            result = function()
        except BaseException as exc:  # handed to the awaiting caller, as aiosqlite does
            if future is not None and not future.done():
                future.set_exception(exc)
            return
        if future is not None and not future.done():
            future.set_result(result)


class InlineConnection(aiosqlite.Connection):
    """``aiosqlite.Connection`` without the worker thread."""

    def __init__(self, connector: Callable[[], sqlite3.Connection]) -> None:
        super().__init__(connector, iter_chunk_size=64)
        self._tx = _InlineQueue()  # type: ignore[assignment]

    async def _execute(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        if not self._running or not self._connection:
            raise ValueError("Connection closed")
        return fn(*args, **kwargs)

    async def _connect(self) -> InlineConnection:
        if self._connection is None:
            self._connection = self._connector()
        return self

    def __await__(self) -> Generator[Any, None, InlineConnection]:
        return self._connect().__await__()


def inline_creator(database: str) -> Callable[[], Any]:
    """An ``async_creator`` for ``create_async_engine`` opening ``database`` inline."""

    def connector() -> sqlite3.Connection:
        if database != ":memory:":
            create_private_file(Path(database))
        return sqlite3.connect(database, check_same_thread=False)

    async def creator() -> InlineConnection:
        return await InlineConnection(connector)

    return creator
