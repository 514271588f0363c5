"""This module contains the ConversationStore: each customer's step and draft, one row each."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from bot.storage.database import Database, Statement
from bot.storage.updates import AlreadyProcessed


@dataclass(frozen=True, slots=True)
class StoredConversation:
    """A conversation as stored: the draft stays JSON here, the conversation layer reads it."""

    user_id: int
    chat_id: int
    state: str
    draft_json: str
    updated_at: float


class ConversationStore:
    """Reads and writes the `conversations` table; every write is committed at once.

    Writing each step through (rather than flushing on an interval as PTB's persistence does)
    means a crash or restart never costs a customer the answer they just gave. On SQLite, open
    conversations are also kept in memory (a few hundred bytes each), so reading one costs no
    trip to the database: one process handles the updates (the one that polls), and each
    customer's updates run in order, so the copy cannot go stale. On a database several
    instances share, another instance may have taken the last step: it is always read.
    """

    def __init__(self, database: Database) -> None:
        self._db = database
        self._open: dict[int, StoredConversation] = {}
        self._remember = not database.shared

    async def load(self, user_id: int) -> StoredConversation | None:
        """The customer's conversation, if one is open."""
        if user_id in self._open:
            return self._open[user_id]
        row = await self._db.fetch_one(
            "SELECT user_id, chat_id, state, draft, updated_at FROM conversations "
            "WHERE user_id = ?",
            [user_id],
        )
        stored = (
            None
            if row is None
            else StoredConversation(
                row["user_id"], row["chat_id"], row["state"], row["draft"], row["updated_at"]
            )
        )
        if stored is not None and self._remember:
            self._open[user_id] = stored
        return stored

    async def save(
        self,
        user_id: int,
        chat_id: int,
        state: str,
        draft_json: str,
        *,
        now: float,
        also: Sequence[Statement] = (),
    ) -> None:
        """Stores the customer's step and draft (with `also`, in one transaction)."""
        upsert = Statement(
            "INSERT INTO conversations (user_id, chat_id, state, draft, updated_at) "
            "VALUES (?, ?, ?, ?, ?) ON CONFLICT (user_id) DO UPDATE SET "
            "chat_id = excluded.chat_id, state = excluded.state, draft = excluded.draft, "
            "updated_at = excluded.updated_at",
            (user_id, chat_id, state, draft_json, now),
        )
        if await self._db.batch(upsert, *also) is None:
            # The only guard of a step is its update's: another process has taken this step.
            raise AlreadyProcessed
        if self._remember:
            self._open[user_id] = StoredConversation(user_id, chat_id, state, draft_json, now)

    async def delete(self, user_id: int) -> None:
        """Ends the customer's conversation."""
        self._open.pop(user_id, None)
        await self._db.execute("DELETE FROM conversations WHERE user_id = ?", [user_id])

    def deletion(self, user_id: int) -> Statement:
        """The statement ending the customer's conversation, for another write's transaction
        (the in-memory copy is dropped at once: the conversation is over either way)."""
        self._open.pop(user_id, None)
        return Statement("DELETE FROM conversations WHERE user_id = ?", (user_id,))

    def expire(self, stored: StoredConversation) -> Statement:
        """The guarded statement ending an idle conversation, only if nobody touched it since
        `stored` was read."""
        return Statement(
            "DELETE FROM conversations WHERE user_id = ? AND updated_at = ? RETURNING user_id",
            (stored.user_id, stored.updated_at),
            required=True,
        )

    def forget(self, user_id: int) -> None:
        """Drops the in-memory copy of a conversation (its row was changed by a statement)."""
        self._open.pop(user_id, None)

    async def idle_since(self, cutoff: float, *, limit: int = 500) -> list[StoredConversation]:
        """Conversations untouched since `cutoff`, oldest first."""
        rows = await self._db.fetch_all(
            "SELECT user_id, chat_id, state, draft, updated_at FROM conversations "
            "WHERE updated_at < ? ORDER BY updated_at LIMIT ?",
            [cutoff, limit],
        )
        return [
            StoredConversation(r["user_id"], r["chat_id"], r["state"], r["draft"], r["updated_at"])
            for r in rows
        ]

    async def count(self) -> int:
        """How many conversations are open."""
        row = await self._db.fetch_one("SELECT COUNT(*) FROM conversations")
        return int(row[0]) if row else 0
