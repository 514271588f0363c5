"""This module contains PostgresDatabase: the storage port on PostgreSQL, through asyncpg.

For several instances on one database: claims use `FOR UPDATE SKIP LOCKED`, transactions
about one chat take turns with a transaction-scoped advisory lock, a customer's updates take
turns across instances with a session advisory lock (on connections of their own), and the
migrations run once however many instances start together (an advisory lock).
"""

from __future__ import annotations

import logging
import re
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from functools import lru_cache
from typing import Any

import asyncpg

from bot.config import ConfigError, DatabaseUrl
from bot.storage.database import Database, GuardFailed, Row, Statement
from bot.storage.migrations import POSTGRES_MIGRATIONS

logger = logging.getLogger(__name__)

# Any number: the advisory lock the instances migrating at the same time take turns on.
MIGRATION_LOCK = 7_140_001
CONNECT_TIMEOUT_SECONDS = 10.0
# Writes and reads that take longer than this are given up (and retried by their callers).
COMMAND_TIMEOUT_SECONDS = 30.0


@lru_cache(maxsize=512)
def numbered(sql: str) -> str:
    """`?` placeholders as PostgreSQL's `$1, $2, …` (our SQL never has `?` in a literal)."""
    counter = iter(range(1, sql.count("?") + 1))
    return re.sub(r"\?", lambda _: f"${next(counter)}", sql)


def _rows_changed(status: str) -> int:
    """The row count of a command status such as `UPDATE 3` or `INSERT 0 1`."""
    last = status.rsplit(" ", 1)[-1]
    return int(last) if last.isdigit() else 0


class PostgresDatabase(Database):
    """A pool of connections to one PostgreSQL database, shared by any number of instances."""

    greatest = "GREATEST"
    skip_locked = " FOR UPDATE SKIP LOCKED"
    shared = True

    def __init__(self, url: DatabaseUrl, *, pool_size: int = 10) -> None:
        self._url = url
        self._pool_size = pool_size
        self._pool: asyncpg.Pool | None = None
        # Connections that hold a customer's turn while their update is handled: apart from
        # the pool the handlers' own queries use, so that the two never wait on each other.
        self._turns: asyncpg.Pool | None = None

    @property
    def description(self) -> str:
        """Where the data is, for operators (never the password)."""
        return f"PostgreSQL {self._url.host}"

    async def open(self) -> None:
        """Connects (a pool) and migrates; ConfigError naming DATABASE_URL when it cannot."""
        if self._pool is not None:
            return
        dsn = self._url.url.get_secret_value()
        try:
            self._pool = await asyncpg.create_pool(
                dsn,
                min_size=1,
                max_size=self._pool_size,
                timeout=CONNECT_TIMEOUT_SECONDS,
                command_timeout=COMMAND_TIMEOUT_SECONDS,
            )
            await self._migrate()
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError, TimeoutError) as err:
            await self.close()
            raise ConfigError(
                f"DATABASE_URL: {self.description}: {describe_failure(err)}"
            ) from None

    async def close(self) -> None:
        """Closes the pools."""
        for pool in (self._turns, self._pool):
            if pool is not None:
                await pool.close()
        self._pool = self._turns = None

    @property
    def pool(self) -> asyncpg.Pool:
        """The open pool; `open()` must have been awaited."""
        if self._pool is None:
            raise RuntimeError("PostgresDatabase.open() has not been awaited")
        return self._pool

    async def execute(self, sql: str, parameters: Iterable[Any] = ()) -> int:
        """Runs one write statement, committed; returns the rows changed."""
        async with self.pool.acquire() as connection:
            status = await connection.execute(numbered(sql), *parameters)
        return _rows_changed(status)

    async def write_returning(self, sql: str, parameters: Iterable[Any] = ()) -> list[Row]:
        """Runs one write statement with a RETURNING clause, committed; its rows."""
        return await self.fetch_all(sql, parameters)

    async def fetch_all(self, sql: str, parameters: Iterable[Any] = ()) -> list[Row]:
        """Every row of a query."""
        async with self.pool.acquire() as connection:
            return list(await connection.fetch(numbered(sql), *parameters))

    async def batch(self, *statements: Statement) -> list[list[Row]] | None:
        """Runs the statements in one transaction; None when a guard matched nothing."""
        async with self.pool.acquire() as connection:
            try:
                async with connection.transaction():
                    results: list[list[Row]] = []
                    for statement in statements:
                        rows = await connection.fetch(
                            numbered(statement.sql), *statement.parameters
                        )
                        if statement.required and not rows:
                            raise GuardFailed
                        results.append(list(rows))
            except GuardFailed:
                return None
        return results

    async def schema_version(self) -> int:
        """The number of migrations applied."""
        row = await self.fetch_one(
            "SELECT COALESCE(MAX(version), 0) FROM schema_version"
            if await self._has_schema_table()
            else "SELECT 0"
        )
        return int(row[0]) if row is not None else 0

    async def server_time(self) -> float:
        """The server's clock now (clock_timestamp: not the transaction's start)."""
        row = await self.fetch_one("SELECT EXTRACT(EPOCH FROM clock_timestamp())")
        assert row is not None
        return float(row[0])

    async def reclaim(self, tables: Iterable[str]) -> None:
        """VACUUMs the tables: the erased rows' old versions (dead tuples) become free space
        for new rows instead of staying until autovacuum gets to them (docs/operating.md
        says what remains: the WAL until recycled, and backups)."""
        names = ", ".join(tables)
        async with self.pool.acquire() as connection:
            # VACUUM cannot run in a transaction; asyncpg runs a lone statement outside one.
            await connection.execute(f"VACUUM {names}")

    def serialize(self, key: str) -> list[Statement]:
        """A transaction-scoped advisory lock on `key`: transactions about it take turns."""
        return [Statement("SELECT pg_advisory_xact_lock(hashtextextended(?, 0))", (key,))]

    @asynccontextmanager
    async def turn_of(self, key: str) -> AsyncIterator[None]:
        """Holds `key` across instances (a session advisory lock) for the block's duration."""
        if self._turns is None:
            self._turns = await asyncpg.create_pool(
                self._url.url.get_secret_value(),
                min_size=0,
                max_size=self._pool_size,
                timeout=CONNECT_TIMEOUT_SECONDS,
            )
        async with self._turns.acquire() as connection:
            await connection.execute("SELECT pg_advisory_lock(hashtextextended($1, 0))", key)
            try:
                yield
            finally:
                await connection.execute("SELECT pg_advisory_unlock(hashtextextended($1, 0))", key)

    async def _has_schema_table(self) -> bool:
        row = await self.fetch_one("SELECT to_regclass('schema_version') IS NOT NULL")
        return bool(row[0]) if row is not None else False

    async def _migrate(self) -> None:
        """Applies the missing migrations; instances starting together take turns."""
        async with self.pool.acquire() as connection:
            await connection.execute("SELECT pg_advisory_lock($1)", MIGRATION_LOCK)
            try:
                await connection.execute(
                    "CREATE TABLE IF NOT EXISTS schema_version ("
                    "version INTEGER PRIMARY KEY, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())"
                )
                current = int(
                    await connection.fetchval(
                        "SELECT COALESCE(MAX(version), 0) FROM schema_version"
                    )
                )
                for version, script in enumerate(POSTGRES_MIGRATIONS[current:], start=current + 1):
                    logger.info("Migrating the database to schema version %d", version)
                    async with connection.transaction():
                        await connection.execute(script)
                        await connection.execute(
                            "INSERT INTO schema_version (version) VALUES ($1)", version
                        )
            finally:
                await connection.execute("SELECT pg_advisory_unlock($1)", MIGRATION_LOCK)


def describe_failure(err: BaseException) -> str:
    """Why the database cannot be used, in a few words (never the URL's password)."""
    if isinstance(err, asyncpg.InvalidPasswordError):
        return "the server refused the user name or password"
    if isinstance(err, asyncpg.InvalidCatalogNameError):
        return "the database does not exist (create it first)"
    if isinstance(err, asyncpg.InsufficientPrivilegeError):
        return "the user may not create the bot's tables there"
    if isinstance(err, TimeoutError):
        return "cannot be reached (timed out)"
    if isinstance(err, OSError):
        return f"cannot be reached ({type(err).__name__}: {err.strerror or err})"
    return f"cannot be used ({type(err).__name__})"
