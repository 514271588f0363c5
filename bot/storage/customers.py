"""This module contains CustomerPreferences: a customer's language and notification choices."""

from __future__ import annotations

from dataclasses import dataclass

from bot.storage.database import Database


@dataclass(frozen=True, slots=True)
class Preferences:
    """What a customer chose; None language means "as my Telegram app says"."""

    language: str | None = None
    notifications: bool = True


DEFAULT_PREFERENCES = Preferences()


class CustomerPreferences:
    """Reads and writes the `customers` table, keeping the few explicit choices in memory.

    Only customers who chose something have a row, so the cache stays small, and reading a
    preference on every update costs no database round trip.
    """

    def __init__(self, database: Database) -> None:
        self._db = database
        self._cache: dict[int, Preferences] = {}

    async def load(self) -> None:
        """Reads every stored choice (at start)."""
        rows = await self._db.fetch_all("SELECT user_id, language, notifications FROM customers")
        self._cache = {
            row["user_id"]: Preferences(row["language"], bool(row["notifications"])) for row in rows
        }

    def get(self, user_id: int) -> Preferences:
        """The customer's choices (defaults when they made none)."""
        return self._cache.get(user_id, DEFAULT_PREFERENCES)

    async def refresh(self, user_id: int) -> Preferences:
        """The customer's choices as stored now (another instance may have changed them on a
        shared database; on SQLite the copy in memory is the truth)."""
        if not self._db.shared:
            return self.get(user_id)
        row = await self._db.fetch_one(
            "SELECT language, notifications FROM customers WHERE user_id = ?", [user_id]
        )
        if row is None:
            self._cache.pop(user_id, None)
            return DEFAULT_PREFERENCES
        preferences = Preferences(row["language"], bool(row["notifications"]))
        self._cache[user_id] = preferences
        return preferences

    def forget(self, user_id: int) -> None:
        """Drops the in-memory copy of a customer's choices (their row was deleted)."""
        self._cache.pop(user_id, None)

    async def set_language(self, user_id: int, language: str | None, *, now: float) -> None:
        """Stores the language the customer picked."""
        current = self.get(user_id)
        await self._store(user_id, Preferences(language, current.notifications), now)

    async def set_notifications(self, user_id: int, enabled: bool, *, now: float) -> None:
        """Turns status notifications on or off."""
        current = self.get(user_id)
        await self._store(user_id, Preferences(current.language, enabled), now)

    async def _store(self, user_id: int, preferences: Preferences, now: float) -> None:
        await self._db.execute(
            "INSERT INTO customers (user_id, language, notifications, updated_at) "
            "VALUES (?, ?, ?, ?) ON CONFLICT (user_id) DO UPDATE SET "
            "language = excluded.language, notifications = excluded.notifications, "
            "updated_at = excluded.updated_at",
            [user_id, preferences.language, int(preferences.notifications), now],
        )
        self._cache[user_id] = preferences
