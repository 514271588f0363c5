"""This module contains `python -m bot migrate` and `python -m bot migrate-to-postgres`.

`migrate` brings the configured database to the current schema (instances migrate at start
anyway, taking turns; operators who roll out in steps migrate first). `migrate-to-postgres`
copies an SQLite database into an empty PostgreSQL database, numbers and ids kept.
"""

from __future__ import annotations

import sys
from pathlib import Path

from bot.config import ConfigError, Settings
from bot.storage.database import Database, Statement
from bot.storage.engines import database_for
from bot.storage.sqlite import SqliteDatabase

# In the order rows can be written (nothing refers to a later table).
TABLES = (
    "complaints",
    "complaint_ratings",
    "complaint_messages",
    "complaint_topics",
    "follow_ups",
    "desk_complaints",
    "conversations",
    "customers",
    "deliveries",
    "processed_updates",
    "erasures",
    "erased_files",
    "link_orders",
    "withdrawals",
)
# Identity columns whose sequences must continue after the copied rows (and their floor).
IDENTITIES = {
    "complaints": ("id", 1),
    "desk_complaints": ("number", 100001),
    "deliveries": ("id", 1),
    "complaint_messages": ("id", 1),
}
ROWS_PER_BATCH = 500


async def migrate(settings: Settings) -> int:
    """Migrates the configured database; prints where it stands."""
    database = database_for(settings)
    await database.open()
    try:
        version = await database.schema_version()
    finally:
        await database.close()
    print(f"{database.description} is at schema version {version}.")
    return 0


async def migrate_to_postgres(settings: Settings, source: Path | None) -> int:
    """Copies the SQLite database at `source` (default DATABASE_PATH) into DATABASE_URL."""
    url = settings.database_url
    if url is None or url.engine != "postgresql":
        raise ConfigError("DATABASE_URL: set it to the PostgreSQL database to copy into")
    path = source or settings.database_path
    setting = "--from" if source is not None else "DATABASE_PATH"
    if not path.exists():
        raise ConfigError(f"{setting}: {path}: there is no SQLite database to copy")
    old, new = SqliteDatabase(path, setting=setting), database_for(settings)
    await old.open()
    try:
        await new.open()
        try:
            occupied = await _rows_in(new)
            if occupied:
                print(
                    f"{new.description} is not empty ({occupied}); nothing was copied. Copy "
                    "into an empty database.",
                    file=sys.stderr,
                )
                return 1
            copied = await _copy(old, new)
        finally:
            await new.close()
    finally:
        await old.close()
    summary = ", ".join(f"{count} {table}" for table, count in copied.items())
    print(f"Copied {path} into {new.description}: {summary}.")
    print("Set DATABASE_URL in every instance's settings and start them.")
    return 0


async def _rows_in(database: Database) -> str:
    """What the database already holds ("" when it is empty)."""
    held = []
    for table in TABLES:
        row = await database.fetch_one(f"SELECT COUNT(*) FROM {table}")  # noqa: S608
        if row is not None and row[0]:
            held.append(f"{row[0]} {table}")
    return ", ".join(held)


async def _copy(old: Database, new: Database) -> dict[str, int]:
    """Every row of every table, in one transaction per table; the sequences continue."""
    copied: dict[str, int] = {}
    for table in TABLES:
        rows = await old.fetch_all(f"SELECT * FROM {table}")  # noqa: S608
        copied[table] = len(rows)
        if not rows:
            continue
        columns = list(rows[0].keys())
        marks = ", ".join("?" for _ in columns)
        insert = f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})"  # noqa: S608
        for start in range(0, len(rows), ROWS_PER_BATCH):
            chunk = rows[start : start + ROWS_PER_BATCH]
            await new.batch(*(Statement(insert, tuple(row[c] for c in columns)) for row in chunk))
    for table, (column, floor) in IDENTITIES.items():
        await new.fetch_one(
            f"SELECT setval(pg_get_serial_sequence('{table}', '{column}'), "  # noqa: S608
            f"GREATEST((SELECT COALESCE(MAX({column}), 0) FROM {table}), {floor - 1}) + 1, false)"
        )
    return copied
