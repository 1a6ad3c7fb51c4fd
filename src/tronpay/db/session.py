"""Engines, sessions and the write-transaction discipline.

The edge owns the transaction: the request dependency (``get_session``) and the worker
wrapper (``write_transaction``) commit or roll back; services and repositories only flush.

SQLite: WAL, ``busy_timeout``, foreign keys on, and every write transaction
(``write_transaction`` / ``get_session``) starts with ``BEGIN IMMEDIATE`` so a read-then-write
never fails to upgrade its lock; any other session begins deferred (reads only, please).
Inside one process the write transactions are also serialized by an asyncio gate per engine
(FIFO, no busy spinning), so concurrent requests never see "database is locked". Read-only sessions
(``get_read_session``) use a plain deferred ``BEGIN`` and run in parallel thanks to WAL.

PostgreSQL: asyncpg, READ COMMITTED; row locks (``SELECT ... FOR UPDATE``) where needed; at
most ``write_concurrency`` write transactions of one process open at once.
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
import weakref
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

import asyncpg
from fastapi import Depends, Request
from sqlalchemy import JSON, ColumnElement, Table, TextClause, any_, bindparam, event, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Engine, make_url
from sqlalchemy.exc import DBAPIError, DisconnectionError, IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession, async_sessionmaker
from sqlalchemy.ext.asyncio import create_async_engine as _create_async_engine
from sqlalchemy.pool import ConnectionPoolEntry

from tronpay.db.sqlite_inline import inline_creator
from tronpay.kit import jsontext
from tronpay.kit.clock import aware_as_utc
from tronpay.kit.private_files import create_private_file

READ_ONLY_OPTION = "tronpay_read_only"
WRITE_OPTION = "tronpay_write"
SQLITE_BUSY_TIMEOUT_MS = 30_000
# PostgreSQL: a pooled connection idle for longer than this is pinged before it is used.
POOL_PING_AFTER_IDLE_S = 5.0
_IDLE_SINCE = "tronpay_idle_since"

# PostgreSQL: how many write transactions of one process may be open at once. More only
# queue on the same row locks (policy per asset, audit chain head) while their holders wait
# behind them for the event loop; a small gate keeps lock hold times short.
POSTGRES_WRITE_CONCURRENCY = 4

_write_gates: weakref.WeakKeyDictionary[Engine, asyncio.Semaphore] = weakref.WeakKeyDictionary()
_gate_sizes: weakref.WeakKeyDictionary[Engine, int] = weakref.WeakKeyDictionary()


def _sqlite_on_connect(dbapi_connection: Any, _record: ConnectionPoolEntry) -> None:
    # Let SQLAlchemy's "begin" event choose BEGIN / BEGIN IMMEDIATE instead of the driver.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA foreign_keys=ON")
    # FULL: a commit is on disk before it returns. The engine persists each signed transaction
    # before broadcasting it; a commit lost to a power cut could lead to signing it again.
    cursor.execute("PRAGMA synchronous=FULL")
    cursor.close()


def _sqlite_on_begin(conn: Connection) -> None:
    # Only gated write transactions take the write lock up front; anything else begins
    # deferred, so a stray read can never wait for (or block) the writer.
    if conn.get_execution_options().get(WRITE_OPTION):
        conn.exec_driver_sql("BEGIN IMMEDIATE")
    else:
        conn.exec_driver_sql("BEGIN")


def create_engine(
    url: str,
    *,
    sqlite_inline: bool = True,
    write_concurrency: int | None = None,
    **kwargs: Any,
) -> AsyncEngine:
    """An async engine for ``url`` (``sqlite+aiosqlite:///...`` or ``postgresql+asyncpg://...``).

    SQLite file databases run their calls inline on the event loop by default (see
    ``tronpay.db.sqlite_inline``); ``sqlite_inline=False`` keeps aiosqlite's worker thread.
    ``write_concurrency`` bounds the open write transactions of this process on PostgreSQL
    (default ``POSTGRES_WRITE_CONCURRENCY``); SQLite always has exactly one writer.
    """
    parsed = make_url(url)
    kwargs.setdefault("json_serializer", jsontext.dumps)
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database or ":memory:"
        if database != ":memory:":
            create_private_file(Path(database))  # 0600 in a 0700 directory, as WAL/SHM
            if sqlite_inline:
                kwargs.setdefault("async_creator", inline_creator(database))
        engine = _create_async_engine(url, **kwargs)
        event.listen(engine.sync_engine, "connect", _sqlite_on_connect)
        event.listen(engine.sync_engine, "begin", _sqlite_on_begin)
        _gate_sizes[engine.sync_engine] = 1
        return engine
    kwargs.setdefault("pool_size", 20)
    kwargs.setdefault("max_overflow", 20)
    engine = _create_async_engine(url, **kwargs)
    if not kwargs.get("pool_pre_ping"):
        event.listen(engine.sync_engine, "checkin", _stamp_checkin)
        event.listen(engine.sync_engine, "checkout", _ping_if_idle)
    _gate_sizes[engine.sync_engine] = write_concurrency or POSTGRES_WRITE_CONCURRENCY
    return engine


def _stamp_checkin(_dbapi_connection: Any, record: ConnectionPoolEntry) -> None:
    record.info[_IDLE_SINCE] = time.monotonic()


def _ping_if_idle(dbapi_connection: Any, record: ConnectionPoolEntry, _proxy: Any) -> None:
    """Ping a pooled connection before use only when it sat idle for a while.

    SQLAlchemy's ``pool_pre_ping`` costs three round trips (BEGIN, ping, ROLLBACK) on EVERY
    checkout, more than a group commit's own statements. A connection used moments ago was
    alive moments ago; one idle for ``POOL_PING_AFTER_IDLE_S`` (a database restart, a proxy's
    idle timeout) is pinged, and a dead one is replaced before anybody uses it
    (``DisconnectionError`` makes the pool retry with a fresh connection). A connection that
    dies between two busy moments fails its statement instead: the transaction rolls back,
    the pool is invalidated, and the request's retry (same Idempotency-Key) goes through.
    """
    idle_since = record.info.get(_IDLE_SINCE)
    if idle_since is None or time.monotonic() - idle_since < POOL_PING_AFTER_IDLE_S:
        return
    try:
        dbapi_connection.ping()
    except Exception as exc:
        raise DisconnectionError("pooled connection is gone") from exc


def create_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False, autoflush=False)


def is_sqlite(engine: AsyncEngine) -> bool:
    return engine.dialect.name == "sqlite"


def write_gate(engine: AsyncEngine) -> asyncio.Semaphore:
    """The in-process gate of write transactions: one at a time on SQLite (the single
    writer), ``write_concurrency`` at a time on PostgreSQL. Do not nest write transactions
    in one task: the inner one would wait for the outer one forever on SQLite."""
    gate = _write_gates.get(engine.sync_engine)
    if gate is None:
        gate = asyncio.Semaphore(_gate_sizes.get(engine.sync_engine, 1))
        _write_gates[engine.sync_engine] = gate
    return gate


def _engine_of(sessionmaker: async_sessionmaker[AsyncSession]) -> AsyncEngine:
    bind = sessionmaker.kw.get("bind")
    if not isinstance(bind, AsyncEngine):
        raise TypeError("sessionmaker is not bound to an AsyncEngine")
    return bind


@asynccontextmanager
async def write_transaction(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> AsyncIterator[AsyncSession]:
    """A session in one write transaction: commit on success, roll back on any exception."""
    async with write_gate(_engine_of(sessionmaker)), sessionmaker() as session, session.begin():
        await session.connection(execution_options={WRITE_OPTION: True})
        yield session


@asynccontextmanager
async def read_transaction(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> AsyncIterator[AsyncSession]:
    """A session for reads only (never blocks writers on SQLite); rolled back at the end."""
    async with sessionmaker() as session:
        await session.connection(execution_options={READ_ONLY_OPTION: True})
        try:
            yield session
        finally:
            await session.rollback()


def sessionmaker_of(request: Request) -> async_sessionmaker[AsyncSession]:
    maker: async_sessionmaker[AsyncSession] = request.app.state.sessionmaker
    return maker


async def get_session(request: Request) -> AsyncIterator[AsyncSession]:
    """FastAPI dependency: one write transaction per request, committed when the endpoint
    returns, rolled back when it raises. Use it with ``scope="function"`` (see ``SessionDep``)
    so the commit happens before the response is sent."""
    async with write_transaction(sessionmaker_of(request)) as session:
        yield session


async def get_read_session(request: Request) -> AsyncIterator[AsyncSession]:
    """FastAPI dependency for GET endpoints: a read-only transaction."""
    async with read_transaction(sessionmaker_of(request)) as session:
        yield session


SessionDep = Annotated[AsyncSession, Depends(get_session, scope="function")]
ReadSessionDep = Annotated[AsyncSession, Depends(get_read_session, scope="function")]


# --- lists of values ---------------------------------------------------------------------------


def one_of(column: ColumnElement[Any], values: Sequence[Any], dialect: str) -> ColumnElement[bool]:
    """``column IN values`` as the dialect runs it best.

    PostgreSQL: ``column = ANY($n)`` with ONE array parameter, so every length shares one
    prepared statement and one plan, an index condition on the column. An expanding
    ``IN ($2, ..., $501)`` is a new statement per length, and after five runs PostgreSQL may
    switch it to a generic plan that compares each row of a composite index's leading value
    with the whole list (all of one client's references: 110 ms instead of 1 ms on 6,000
    rows). Elsewhere (SQLite): an ordinary expanding ``IN``.
    """
    if dialect == "postgresql":
        array = bindparam(None, list(values), type_=postgresql.ARRAY(column.type))
        return column == any_(array)
    return column.in_(list(values))


# --- bulk inserts ------------------------------------------------------------------------------

# Below this many rows an executemany is as fast as anything else. From it, PostgreSQL gets
# a binary COPY (``bulk_insert``) or one unnest statement (``insert_new``).
BULK_UNNEST_MIN_ROWS = 16
BULK_COPY_MIN_ROWS = BULK_UNNEST_MIN_ROWS
_PG_DIALECT = postgresql.dialect()  # type: ignore[no-untyped-call]
_bulk_statements: dict[tuple[str, tuple[str, ...], tuple[str, ...]], TextClause] = {}


def _as_utc(value: datetime | None) -> datetime | None:
    return None if value is None else aware_as_utc(value)


def _json_text(none_as_null: bool) -> Callable[[Any], str | None]:
    def convert(value: Any) -> str | None:
        if value is None:
            return None if none_as_null else "null"
        return jsontext.dumps(value)

    return convert


def _converter(table: Table, name: str) -> Callable[[Any], Any] | None:
    """How a value of column ``name`` goes into its array (None: as it is)."""
    column_type = table.c[name].type
    if isinstance(column_type, JSON):
        return _json_text(column_type.none_as_null)
    if column_type.compile(dialect=_PG_DIALECT).startswith("TIMESTAMP"):
        return _as_utc
    return None


def _converted(values: list[Any], convert: Callable[[Any], Any]) -> list[Any]:
    """``[convert(v) for v in values]``, converting each distinct object once: a batch's rows
    share one timestamp object (and ``None``), whose conversion is the costly part."""
    done: dict[int, Any] = {}
    out: list[Any] = []
    for value in values:
        key = id(value)
        if key not in done:
            done[key] = convert(value)
        out.append(done[key])
    return out


def _unnest_insert(table: Table, names: tuple[str, ...], returning: tuple[str, ...]) -> TextClause:
    """``INSERT INTO t (a, b) SELECT * FROM unnest(CAST(:u0 AS T0[]), CAST(:u1 AS T1[]))
    ON CONFLICT DO NOTHING RETURNING r1, r2`` (built once per table, columns and returning)."""
    cache_key = (table.name, names, returning)
    statement = _bulk_statements.get(cache_key)
    if statement is None:
        arrays = ", ".join(
            f"CAST(:u{i} AS {table.c[name].type.compile(dialect=_PG_DIALECT)}[])"
            for i, name in enumerate(names)
        )
        columns = ", ".join(f'"{name}"' for name in names)
        wanted = ", ".join(f'"{name}"' for name in returning)
        # Identifiers come from the table definition, never from input.
        statement = text(
            f'INSERT INTO "{table.name}" ({columns}) SELECT * FROM unnest({arrays}) '  # noqa: S608
            f"ON CONFLICT DO NOTHING RETURNING {wanted}"
        )
        _bulk_statements[cache_key] = statement
    return statement


def _columns(
    rows: Sequence[Mapping[str, Any]],
    names: tuple[str, ...],
    converters: Sequence[Callable[[Any], Any] | None],
) -> list[list[Any]]:
    """The values of ``rows`` column by column, each column through its converter."""
    columns: list[list[Any]] = []
    for name, convert in zip(names, converters, strict=True):
        values = [row[name] for row in rows]
        columns.append(values if convert is None else _converted(values, convert))
    return columns


def _unnest_params(
    table: Table, names: tuple[str, ...], rows: Sequence[Mapping[str, Any]]
) -> dict[str, list[Any]]:
    columns = _columns(rows, names, [_converter(table, name) for name in names])
    return {f"u{index}": values for index, values in enumerate(columns)}


async def bulk_insert(
    connection: AsyncConnection, table: Table, rows: Sequence[Mapping[str, Any]]
) -> None:
    """Insert ``rows`` (all with the same keys) in the connection's transaction.

    From ``BULK_COPY_MIN_ROWS`` rows: on PostgreSQL ONE binary COPY (``_copy_rows``) instead
    of one protocol round per row (JSON values are serialized like SQLAlchemy's JSON type does:
    ``None`` is JSON ``null`` unless the column says ``none_as_null``; datetimes must be
    timezone-aware); on SQLite the driver's ``executemany`` (``_sqlite_rows``). Fewer rows: a
    Core executemany.
    """
    if not rows:
        return
    if len(rows) < BULK_COPY_MIN_ROWS:
        await connection.execute(table.insert(), list(rows))
    elif connection.dialect.name == "postgresql":
        await _copy_rows(connection, table, tuple(rows[0].keys()), rows)
    else:
        await _sqlite_rows(connection, table, tuple(rows[0].keys()), rows)


async def _sqlite_rows(
    connection: AsyncConnection,
    table: Table,
    names: tuple[str, ...],
    rows: Sequence[Mapping[str, Any]],
) -> None:
    """SQLite: the driver's own ``executemany`` with the values converted by SQLAlchemy's
    bind processors of each column (so stored exactly as a Core insert stores them), without
    the per-row work of SQLAlchemy's executemany (about a third of a 10,000-row insert)."""
    dialect = connection.dialect
    processors = [table.c[n].type.dialect_impl(dialect).bind_processor(dialect) for n in names]
    columns = _columns(rows, names, processors)
    listed = ", ".join(f'"{name}"' for name in names)
    marks = ", ".join("?" for _ in names)
    # Identifiers come from the table definition, never from input.
    statement = f'INSERT INTO "{table.name}" ({listed}) VALUES ({marks})'  # noqa: S608
    raw = await connection.get_raw_connection()
    driver: Any = raw.driver_connection
    try:
        await driver.executemany(statement, list(zip(*columns, strict=True)))
    except sqlite3.IntegrityError as exc:
        raise IntegrityError(statement, None, exc) from exc
    except sqlite3.Error as exc:
        raise DBAPIError(statement, None, exc) from exc


async def _copy_rows(
    connection: AsyncConnection,
    table: Table,
    names: tuple[str, ...],
    rows: Sequence[Mapping[str, Any]],
) -> None:
    """PostgreSQL's binary COPY through the driver, in the connection's transaction.

    Cheaper than ``INSERT ... SELECT * FROM unnest(...)`` on both sides: the driver encodes
    the rows directly (for arrays it asks of every element whether it is itself a sequence,
    two ABC checks each: half a second for a 10,000-row batch) and the server parses no
    arrays. Values are converted as for unnest (JSON as text, aware datetimes). The driver's
    errors are raised as SQLAlchemy's (``IntegrityError`` for a violated constraint,
    ``DBAPIError`` otherwise), as callers of an insert through SQLAlchemy expect.
    """
    columns = _columns(rows, names, [_converter(table, name) for name in names])
    raw = await connection.get_raw_connection()
    driver: Any = raw.driver_connection
    statement = f"COPY {table.name}"
    try:
        await driver.copy_records_to_table(
            table.name, records=list(zip(*columns, strict=True)), columns=list(names)
        )
    except asyncpg.IntegrityConstraintViolationError as exc:
        raise IntegrityError(statement, None, exc) from exc
    except (asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
        raise DBAPIError(statement, None, exc) from exc


async def insert_new(
    connection: AsyncConnection,
    table: Table,
    rows: Sequence[Mapping[str, Any]],
    returning: Sequence[str],
) -> set[tuple[Any, ...]]:
    """Insert the ``rows`` that conflict with no unique index; return the ``returning``
    columns of those inserted (``INSERT ... ON CONFLICT DO NOTHING RETURNING``).

    One statement instead of "look up what exists, then insert the rest", and race-free: on
    PostgreSQL a row whose key another open transaction is inserting waits for that
    transaction, then is inserted (it rolled back) or skipped (it committed). Same paths as
    ``bulk_insert``: one unnest statement on PostgreSQL from ``BULK_UNNEST_MIN_ROWS`` rows,
    otherwise a Core executemany (one multi-row INSERT per page on both databases).
    """
    if not rows:
        return set()
    names = tuple(rows[0].keys())
    wanted = tuple(returning)
    if connection.dialect.name == "postgresql" and len(rows) >= BULK_UNNEST_MIN_ROWS:
        result = await connection.execute(
            _unnest_insert(table, names, wanted), _unnest_params(table, names, rows)
        )
        return {tuple(row) for row in result}
    insert: Any = (
        postgresql.insert(table)
        if connection.dialect.name == "postgresql"
        else sqlite.insert(table)
    )
    stmt = insert.on_conflict_do_nothing().returning(*(table.c[name] for name in wanted))
    result = await connection.execute(stmt, list(rows))
    return {tuple(row) for row in result}
