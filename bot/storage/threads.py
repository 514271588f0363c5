"""This module contains the ThreadStore: what customers and operators wrote about a complaint.

A complaint's thread lives in the bot's database (the backends' documents describe no place
for it): each message once, keyed by the Telegram message it came from, so a redelivered
update or a second instance cannot relay it twice. Beside it: the forum topic that holds the
thread in the operator chat, the bot messages a Telegram reply can point at, and what a
customer's next message is about after [Write about this complaint].
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass

from bot.complaint import Attachment
from bot.storage.database import Database, Statement


@dataclass(frozen=True, slots=True)
class ThreadMessage:
    """One message of a complaint's thread."""

    complaint_id: int
    author: str  # customer or operator
    author_name: str
    text: str
    attachments: tuple[Attachment, ...]
    created_at: float


@dataclass(frozen=True, slots=True)
class FollowUp:
    """The customer's next message is about this complaint (until `until`); `album` is the
    media group whose further photos belong to the message already relayed."""

    complaint_id: int
    album: str
    until: float


class ThreadStore:
    """Reads and writes complaint_messages, complaint_topics and follow_ups."""

    def __init__(self, database: Database) -> None:
        self._db = database
        # On a database of its own, this process knows who may be following up (checked on
        # every message a customer sends, so most need no query); shared: always asked.
        self._following: set[int] = set()

    async def load(self, *, now: float) -> None:
        """Reads who is following up (at start)."""
        rows = await self._db.fetch_all("SELECT user_id FROM follow_ups WHERE until > ?", [now])
        self._following = {int(row[0]) for row in rows}

    def forget(self, user_id: int) -> None:
        """Drops what this process knows of a customer following up (their row was deleted)."""
        self._following.discard(user_id)

    def may_follow_up(self, user_id: int) -> bool:
        """False when the customer is surely not writing about a complaint."""
        return self._db.shared or user_id in self._following

    def add(
        self,
        message: ThreadMessage,
        *,
        source_chat_id: int,
        source_message_id: int,
    ) -> Statement:
        """The statement that adds a message; a guard: it matches nothing (and the batch is
        rolled back) when that Telegram message was added before."""
        attachments = json.dumps([a.model_dump(exclude_none=True) for a in message.attachments])
        return Statement(
            "INSERT INTO complaint_messages (complaint_id, author, author_name, text, "
            "attachments, source_chat_id, source_message_id, created_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?) "
            "ON CONFLICT (source_chat_id, source_message_id) DO NOTHING RETURNING id",
            (
                message.complaint_id,
                message.author,
                message.author_name,
                message.text,
                attachments,
                source_chat_id,
                source_message_id,
                message.created_at,
            ),
            required=True,
        )

    async def messages(self, complaint_id: int, *, last: int | None = None) -> list[ThreadMessage]:
        """The thread, oldest first (only the `last` ones when given)."""
        limit = "" if last is None else f" LIMIT {int(last)}"
        rows = await self._db.fetch_all(
            "SELECT * FROM (SELECT * FROM complaint_messages WHERE complaint_id = ? "  # noqa: S608
            f"ORDER BY id DESC{limit}) AS latest ORDER BY id",
            [complaint_id],
        )
        return [
            ThreadMessage(
                complaint_id=row["complaint_id"],
                author=row["author"],
                author_name=row["author_name"],
                text=row["text"],
                attachments=tuple(
                    Attachment.model_validate(item) for item in json.loads(row["attachments"])
                ),
                created_at=row["created_at"],
            )
            for row in rows
        ]

    async def complaint_of_message(self, chat_id: int, message_id: int) -> int | None:
        """The complaint a message the bot sent is about (a card, a status change, a relayed
        message, an operator post), or None."""
        row = await self._db.fetch_one(
            "SELECT complaint_id FROM deliveries WHERE chat_id = ? AND sent_message_id = ? "
            "AND complaint_id IS NOT NULL ORDER BY id DESC LIMIT 1",
            [chat_id, message_id],
        )
        if row is not None:
            return int(row[0])
        # The summary a card replaced keeps its id: the ledger knows it.
        row = await self._db.fetch_one(
            "SELECT id FROM complaints WHERE chat_id = ? AND message_id = ? LIMIT 1",
            [chat_id, message_id],
        )
        return int(row[0]) if row is not None else None

    async def root_post(self, chat_id: int, complaint_id: int) -> int | None:
        """The message id of the complaint's first post in the operator chat, once sent."""
        row = await self._db.fetch_one(
            "SELECT sent_message_id FROM deliveries WHERE chat_id = ? AND complaint_id = ? "
            "AND kind = 'operator-registered' AND state = 'sent' ORDER BY id LIMIT 1",
            [chat_id, complaint_id],
        )
        return int(row[0]) if row is not None and row[0] is not None else None

    async def topic(self, chat_id: int, complaint_id: int) -> int | None:
        """The forum topic holding the complaint's thread, if one was created."""
        row = await self._db.fetch_one(
            "SELECT thread_id FROM complaint_topics WHERE complaint_id = ? AND chat_id = ?",
            [complaint_id, chat_id],
        )
        return int(row[0]) if row is not None else None

    async def complaint_of_topic(self, chat_id: int, thread_id: int) -> int | None:
        """The complaint whose thread a forum topic holds, or None."""
        row = await self._db.fetch_one(
            "SELECT complaint_id FROM complaint_topics WHERE chat_id = ? AND thread_id = ?",
            [chat_id, thread_id],
        )
        return int(row[0]) if row is not None else None

    async def keep_topic(self, chat_id: int, complaint_id: int, thread_id: int, now: float) -> int:
        """Records the topic created for a complaint; the one recorded first wins (another
        instance may have created one at the same moment)."""
        await self._db.execute(
            "INSERT INTO complaint_topics (complaint_id, chat_id, thread_id, created_at) "
            "VALUES (?, ?, ?, ?) ON CONFLICT (complaint_id) DO NOTHING",
            [complaint_id, chat_id, thread_id, now],
        )
        kept = await self.topic(chat_id, complaint_id)
        return kept if kept is not None else thread_id

    async def customer_messages_since(self, user_id: int, since: float) -> tuple[int, float]:
        """How many messages the customer has written about their complaints since `since`,
        and when the oldest of them was (`since` when none)."""
        row = await self._db.fetch_one(
            "SELECT COUNT(*), MIN(m.created_at) FROM complaint_messages m "
            "JOIN complaints c ON c.id = m.complaint_id "
            "WHERE c.user_id = ? AND m.author = 'customer' AND m.created_at > ?",
            [user_id, since],
        )
        if row is None or not row[0]:
            return 0, since
        return int(row[0]), float(row[1])

    async def drop_topic(self, chat_id: int, complaint_id: int, thread_id: int) -> bool:
        """Forgets a complaint's topic (deleted in Telegram); False when it was not that one
        any more (another instance already gave the complaint a new topic)."""
        dropped = await self._db.execute(
            "DELETE FROM complaint_topics WHERE complaint_id = ? AND chat_id = ? AND thread_id = ?",
            [complaint_id, chat_id, thread_id],
        )
        return dropped > 0

    async def follow_up(self, user_id: int, *, now: float) -> FollowUp | None:
        """What the customer's next message is about, unless that has lapsed."""
        row = await self._db.fetch_one(
            "SELECT complaint_id, album, until FROM follow_ups WHERE user_id = ? AND until > ?",
            [user_id, now],
        )
        if row is None:
            self._following.discard(user_id)  # lapsed: no query for them until they press again
            return None
        return FollowUp(int(row["complaint_id"]), str(row["album"]), float(row["until"]))

    def start_follow_up(
        self, user_id: int, complaint_id: int, *, until: float, album: str = ""
    ) -> Statement:
        """The statement that makes the customer's next message about a complaint."""
        self._following.add(user_id)
        return Statement(
            "INSERT INTO follow_ups (user_id, complaint_id, album, until) VALUES (?, ?, ?, ?) "
            "ON CONFLICT (user_id) DO UPDATE SET complaint_id = excluded.complaint_id, "
            "album = excluded.album, until = excluded.until",
            (user_id, complaint_id, album, until),
        )

    def end_follow_up(self, user_id: int) -> Statement:
        """The statement that ends it."""
        self._following.discard(user_id)
        return Statement("DELETE FROM follow_ups WHERE user_id = ?", (user_id,))

    async def run(self, statements: Sequence[Statement]) -> bool:
        """Runs statements in one transaction; False when a guard matched nothing."""
        return await self._db.batch(*statements) is not None
