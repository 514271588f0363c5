"""This module contains SqliteDatabase: one aiosqlite connection, WAL mode, versioned migrations.

A batch is one transaction in one trip to the database thread.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, TypeVar

import aiosqlite

from bot.config import ConfigError
from bot.storage.database import Database, GuardFailed, Row, Statement, explain
from bot.storage.migrations import SQLITE_MIGRATIONS

logger = logging.getLogger(__name__)

# How long SQLite waits for another process (the CLI) holding the write lock.
BUSY_TIMEOUT_MS = 5000
# Extra attempts when the database stays busy longer than BUSY_TIMEOUT_MS.
BUSY_RETRIES = 3
# The WAL is truncated to this size after a checkpoint (an erasure empties it entirely).
JOURNAL_LIMIT_BYTES = 16 * 1024 * 1024

T = TypeVar("T")


class SqliteDatabase(Database):
    """The one SQLite file of the bot: ledger, desk and conversations.

    One connection serves the whole process; a lock serialises writers so statements of two
    coroutines never interleave inside one transaction. SQLite serialises write transactions
    of several processes itself, so claims need no row locks.
    """

    greatest = "MAX"
    skip_locked = ""
    shared = False

    def __init__(self, path: Path | str, *, setting: str = "DATABASE_PATH") -> None:
        self.path = Path(path)
        # The setting that named the file, for the one line that says what is wrong with it.
        self.setting = setting
        self._connection: aiosqlite.Connection | None = None
        self._open_lock = asyncio.Lock()
        self._write_lock = asyncio.Lock()

    async def open(self) -> None:
        """Opens the file (creating its folder) and migrates it; safe to call more than once.

        Raises ConfigError (one line naming the setting: DATABASE_PATH, or DATABASE_URL when
        that named the file) when the file cannot be created, opened, written or read as a
        database.
        """
        try:
            await self._open()
        except (OSError, sqlite3.Error) as err:
            raise ConfigError(f"{self.setting}: {self.path}: {explain(err)}") from None

    @property
    def description(self) -> str:
        """Where the data is, for operators (never a secret)."""
        return f"SQLite {self.path}"

    async def _open(self) -> None:
        async with self._open_lock:
            if self._connection is not None:
                return
            if str(self.path) != ":memory:":
                self.path.parent.mkdir(parents=True, exist_ok=True)
            connection = await aiosqlite.connect(self.path, isolation_level=None)
            try:
                connection.row_factory = sqlite3.Row
                await connection.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
                await connection.execute("PRAGMA journal_mode = WAL")
                # NORMAL in WAL mode survives a crash of the process; only a power loss can cost
                # the last transactions, and it saves an fsync per step of every conversation.
                await connection.execute("PRAGMA synchronous = NORMAL")
                await connection.execute("PRAGMA foreign_keys = ON")
                # An erasure must leave no copy of what it erased: deleted content is
                # overwritten with zeros (not left in free pages), and the WAL, emptied after
                # an erasure (reclaim), is kept small after every checkpoint.
                await connection.execute("PRAGMA secure_delete = ON")
                await connection.execute(f"PRAGMA journal_size_limit = {JOURNAL_LIMIT_BYTES}")
                self._connection = connection
                await self._migrate()
            except BaseException:
                # The connection's thread keeps the process alive until it is closed.
                self._connection = None
                await connection.close()
                raise

    async def close(self) -> None:
        """Closes the connection."""
        async with self._open_lock:
            if self._connection is not None:
                await self._connection.close()
                self._connection = None

    @property
    def connection(self) -> aiosqlite.Connection:
        """The open connection; `open()` must have been awaited."""
        if self._connection is None:
            raise RuntimeError("Database.open() has not been awaited")
        return self._connection

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[aiosqlite.Connection]:
        """A write transaction (BEGIN IMMEDIATE … COMMIT), rolled back on error."""
        async with self._write_lock:
            connection = self.connection
            await _retry_busy(lambda: connection.execute("BEGIN IMMEDIATE"))
            try:
                yield connection
            except BaseException:
                await connection.execute("ROLLBACK")
                raise
            await _retry_busy(lambda: connection.execute("COMMIT"))

    async def execute(self, sql: str, parameters: Iterable[Any] = ()) -> int:
        """Runs one write statement, atomically and committed; returns the rows changed.

        A single statement in autocommit mode is its own transaction, so this costs one trip
        to the database thread instead of three (BEGIN, the statement, COMMIT). The lock keeps
        it out of another coroutine's open transaction.
        """
        values = tuple(parameters)
        async with self._write_lock:
            cursor = await _retry_busy(lambda: self.connection.execute(sql, values))
            return int(cursor.rowcount)

    async def write_returning(self, sql: str, parameters: Iterable[Any] = ()) -> list[Row]:
        """Runs one write statement with a RETURNING clause; its rows, in one trip."""
        values = tuple(parameters)
        async with self._write_lock:
            rows = await _retry_busy(lambda: self.connection.execute_fetchall(sql, values))
            return list(rows)

    async def batch(self, *statements: Statement) -> list[list[Row]] | None:
        """Runs the statements in one transaction, in one trip to the database thread.

        Returns each statement's rows (RETURNING), or None when a `required` statement matched
        nothing (then nothing of the batch is written).
        """
        connection = self.connection

        def run() -> list[list[Row]] | None:
            # Runs on the connection's own thread: aiosqlite queues every call there, and its
            # `_execute` is how its public methods do it; a whole transaction in one call
            # costs one thread hop instead of one per statement (the hot path of every step).
            raw = connection._conn
            raw.execute("BEGIN IMMEDIATE")
            try:
                results: list[list[Row]] = []
                for statement in statements:
                    rows = raw.execute(statement.sql, statement.parameters).fetchall()
                    if statement.required and not rows:
                        raise GuardFailed
                    results.append(rows)
            except GuardFailed:
                raw.execute("ROLLBACK")
                return None
            except BaseException:
                raw.execute("ROLLBACK")
                raise
            raw.execute("COMMIT")
            return results

        async with self._write_lock:
            return await _retry_busy(lambda: connection._execute(run))  # type: ignore[no-untyped-call]

    async def fetch_one(self, sql: str, parameters: Iterable[Any] = ()) -> Row | None:
        """The first row of a query, or None."""
        rows = await self.fetch_all(sql, parameters)
        return rows[0] if rows else None

    async def fetch_all(self, sql: str, parameters: Iterable[Any] = ()) -> list[Row]:
        """Every row of a query (one trip to the database thread)."""
        rows = await self.connection.execute_fetchall(sql, tuple(parameters))
        return list(rows)

    async def reclaim(self, tables: Iterable[str]) -> None:
        """Copies the WAL into the file and empties it (TRUNCATE): the pages holding what an
        erasure overwrote are gone from both (secure_delete zeroed what was freed)."""
        async with self._write_lock:
            rows = await self.connection.execute_fetchall("PRAGMA wal_checkpoint(TRUNCATE)")
        busy = next(iter(rows))[0] if rows else 0
        if busy:  # a reader held the WAL; the next checkpoint takes the rest
            logger.warning("The database could not be checkpointed after an erasure (busy)")

    async def schema_version(self) -> int:
        """The number of migrations applied."""
        row = await self.fetch_one("PRAGMA user_version")
        return int(row[0]) if row else 0

    async def _migrate(self) -> None:
        current = await self.schema_version()
        for version, script in enumerate(SQLITE_MIGRATIONS[current:], start=current + 1):
            logger.info("Migrating the database to schema version %d", version)
            async with self.transaction() as connection:
                for statement in _statements(script):
                    await connection.execute(statement)
                await connection.execute(f"PRAGMA user_version = {version}")


def _statements(script: str) -> list[str]:
    """Splits a migration script into statements (ours never put ';' inside a literal)."""
    return [s.strip() for s in script.split(";") if s.strip()]


async def _retry_busy(run: Callable[[], Awaitable[T]]) -> T:
    """Runs a statement again when SQLite reports the database locked past its busy timeout."""
    for attempt in range(BUSY_RETRIES):
        try:
            return await run()
        except sqlite3.OperationalError as err:
            if "locked" not in str(err) and "busy" not in str(err):
                raise
            logger.warning("The database is busy; trying again (%d)", attempt + 1)
            await asyncio.sleep(0.1 * (attempt + 1))
    return await run()
