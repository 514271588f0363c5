"""This module contains the storage port: Database, and the Statement its batches are made of.

Two engines implement it: SQLite (bot/storage/sqlite.py, the embedded default) and PostgreSQL
(bot/storage/postgres.py, for several instances). SQL is written once, with `?` placeholders;
where the engines differ, a store asks the engine (`greatest`, `skip_locked`, `serialize`).

Writes that belong together run as one `batch`: one transaction. A statement marked `required`
is a guard (a compare-and-set, or a claim this process must still hold): when it matches no
row, the whole batch is rolled back and `batch` returns None, so a change and the message it
owes a customer are written together or not at all.
"""

from __future__ import annotations

import sqlite3
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any, Protocol


class Row(Protocol):
    """A result row: by column name or position (sqlite3.Row and asyncpg.Record both are)."""

    def __getitem__(self, key: int | str, /) -> Any: ...

    def keys(self) -> Iterable[str]: ...


@dataclass(frozen=True, slots=True)
class Statement:
    """One SQL statement of a batch; `required` statements must return a row (RETURNING)."""

    sql: str
    parameters: tuple[Any, ...] = ()
    required: bool = False


class GuardFailed(Exception):
    """A required statement of a batch matched nothing: roll the batch back."""


class Database(ABC):
    """Where the bot keeps everything: ledger, deliveries, desk, conversations, preferences."""

    # The SQL of the two-argument maximum (SQLite's MAX(a, b), PostgreSQL's GREATEST).
    greatest: str
    # What a claim's sub-select ends with, so concurrent claimers skip each other's rows.
    skip_locked: str
    # Whether several instances may work on this database at once (no state in memory only).
    shared: bool

    @property
    @abstractmethod
    def description(self) -> str:
        """Where the data is, for operators (never a secret)."""

    @abstractmethod
    async def open(self) -> None:
        """Connects and migrates; raises ConfigError (one line naming the setting) on failure."""

    @abstractmethod
    async def close(self) -> None:
        """Closes what `open` opened."""

    @abstractmethod
    async def execute(self, sql: str, parameters: Iterable[Any] = ()) -> int:
        """Runs one write statement, committed; returns the rows changed."""

    @abstractmethod
    async def write_returning(self, sql: str, parameters: Iterable[Any] = ()) -> list[Row]:
        """Runs one write statement with a RETURNING clause, committed; its rows."""

    @abstractmethod
    async def batch(self, *statements: Statement) -> list[list[Row]] | None:
        """Runs the statements in one transaction; each one's rows, or None when a `required`
        statement matched nothing (then nothing of the batch is written)."""

    @abstractmethod
    async def fetch_all(self, sql: str, parameters: Iterable[Any] = ()) -> list[Row]:
        """Every row of a query."""

    @abstractmethod
    async def schema_version(self) -> int:
        """The number of migrations applied."""

    async def fetch_one(self, sql: str, parameters: Iterable[Any] = ()) -> Row | None:
        """The first row of a query, or None."""
        rows = await self.fetch_all(sql, parameters)
        return rows[0] if rows else None

    @abstractmethod
    async def reclaim(self, tables: Iterable[str]) -> None:
        """After an erasure: makes the old versions of the rows changed in `tables` go from
        the files (SQLite) or as far as the engine can (PostgreSQL: a VACUUM)."""

    async def server_time(self) -> float | None:
        """The database server's clock (seconds since the epoch); None for an engine in this
        process (SQLite), whose time is this host's."""
        return None

    def serialize(self, key: str) -> list[Statement]:
        """Statements that make concurrent transactions about `key` take turns (SQLite takes
        turns anyway: one writer at a time)."""
        return []

    @asynccontextmanager
    async def turn_of(self, key: str) -> AsyncIterator[None]:
        """Holds `key` across instances for the block's duration (a customer's update)."""
        yield


def explain(err: OSError | sqlite3.Error) -> str:
    """What went wrong opening a database file, in a few words an operator can act on."""
    if isinstance(err, OSError):
        where = f" ({err.filename})" if err.filename else ""
        return f"cannot be created: {err.strerror or err}{where}"
    text = str(err)
    if "readonly" in text:
        return "the bot cannot write it (check the owner and permissions of the file and folder)"
    if "unable to open" in text:
        return "cannot be opened (check that its folder exists and the bot may write there)"
    return f"cannot be used: {text}"
