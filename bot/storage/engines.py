"""This module contains database_for: the engine DATABASE_URL (or DATABASE_PATH) names."""

from __future__ import annotations

from bot.config import Settings
from bot.storage.database import Database
from bot.storage.sqlite import SqliteDatabase


def database_for(settings: Settings) -> Database:
    """The configured database, not yet opened."""
    url = settings.database_url
    if url is not None and url.engine == "postgresql":
        from bot.storage.postgres import PostgresDatabase

        return PostgresDatabase(url, pool_size=settings.database_pool_size)
    if url is not None:
        return SqliteDatabase(url.path, setting="DATABASE_URL")
    return SqliteDatabase(settings.database_path)
