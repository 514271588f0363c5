"""This module contains what `check` learns of the database (either engine), changing nothing.

It never creates the file or its folder and never migrates: it says whether the bot will be
able to, and whether it can write an existing database (a write lock is taken and given back).
"""

from __future__ import annotations

import os
import sqlite3
from dataclasses import dataclass
from pathlib import Path

from bot.config import DatabaseUrl
from bot.storage.database import explain
from bot.storage.migrations import POSTGRES_MIGRATIONS, SQLITE_MIGRATIONS
from bot.words import counted

BUSY_TIMEOUT_SECONDS = 5.0


@dataclass(frozen=True, slots=True)
class DatabaseReport:
    """What was found: whether the bot can use it, in one line, and the desk's size."""

    ok: bool
    detail: str
    exists: bool = False
    desk_complaints: int = 0


def inspect_database(path: Path) -> DatabaseReport:
    """Inspects DATABASE_PATH without changing anything (blocking: run it in a thread)."""
    if not path.exists():
        return _not_there_yet(path)
    if path.is_dir():
        return DatabaseReport(False, f"{path}: is a folder, not a database file")
    try:
        connection = sqlite3.connect(
            f"{path.absolute().as_uri()}?mode=rw",
            uri=True,
            timeout=BUSY_TIMEOUT_SECONDS,
            isolation_level=None,
        )
    except sqlite3.Error as err:
        return DatabaseReport(False, f"{path}: {explain(err)}")
    try:
        version = int(connection.execute("PRAGMA user_version").fetchone()[0])
        # Can the bot write it? A write of what is there, rolled back, tells.
        connection.execute("BEGIN IMMEDIATE")
        try:
            connection.execute(f"PRAGMA user_version = {version}")
        finally:
            connection.execute("ROLLBACK")
        complaints = _count(connection, "complaints") if version else 0
        desk = _count(connection, "desk_complaints") if version else 0
    except sqlite3.Error as err:
        return DatabaseReport(False, f"{path}: {explain(err)}", exists=True)
    finally:
        connection.close()
    schema = f"schema version {version}"
    if version < len(SQLITE_MIGRATIONS):
        schema += f", migrated to {len(SQLITE_MIGRATIONS)} at the next start"
    return DatabaseReport(
        True, f"{path} ({counted(complaints, 'complaint')} in the ledger, {schema})", True, desk
    )


async def inspect_postgres(url: DatabaseUrl) -> DatabaseReport:
    """Connects to DATABASE_URL and reads its schema version and ledger, changing nothing."""
    import asyncpg

    from bot.storage.postgres import CONNECT_TIMEOUT_SECONDS, describe_failure

    where = f"PostgreSQL {url.host}"
    try:
        connection = await asyncpg.connect(
            url.url.get_secret_value(), timeout=CONNECT_TIMEOUT_SECONDS
        )
    except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError, TimeoutError) as err:
        return DatabaseReport(False, f"{where}: {describe_failure(err)}")
    try:
        if not await connection.fetchval("SELECT to_regclass('schema_version') IS NOT NULL"):
            return DatabaseReport(
                True, f"{where} is empty; the bot creates its tables at its first start"
            )
        version = int(await connection.fetchval("SELECT MAX(version) FROM schema_version"))
        complaints = int(await connection.fetchval("SELECT COUNT(*) FROM complaints"))
        desk = int(await connection.fetchval("SELECT COUNT(*) FROM desk_complaints"))
    except asyncpg.PostgresError as err:
        return DatabaseReport(False, f"{where}: {describe_failure(err)}")
    finally:
        await connection.close()
    schema = f"schema version {version}"
    if version < len(POSTGRES_MIGRATIONS):
        schema += f", migrated to {len(POSTGRES_MIGRATIONS)} at the next start"
    return DatabaseReport(
        True, f"{where} ({counted(complaints, 'complaint')} in the ledger, {schema})", True, desk
    )


def _not_there_yet(path: Path) -> DatabaseReport:
    folder = path.parent
    while not folder.exists():
        folder = folder.parent
    if not folder.is_dir():
        return DatabaseReport(False, f"{path}: cannot be created ({folder} is not a folder)")
    if not os.access(folder, os.W_OK | os.X_OK):
        return DatabaseReport(
            False, f"{path}: cannot be created (this user may not write in {folder})"
        )
    return DatabaseReport(True, f"{path} does not exist yet; the bot creates it at its first start")


def _count(connection: sqlite3.Connection, table: str) -> int:
    return int(connection.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0])  # noqa: S608
