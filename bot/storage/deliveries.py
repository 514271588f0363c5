"""This module contains the DeliveryStore: messages owed to customers and operators.

A message the bot owes because of something outside the customer's own update (the card with
the number, "saved, will be registered", a rejection, a status change, an expired draft, an
operator post) is written here in the same transaction as the change that causes it, and a
worker sends it until Telegram accepts it. Messages to one chat are sent in the order written.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError

from bot.storage.database import Database, Row, Statement

logger = logging.getLogger(__name__)


class DeliveryState(StrEnum):
    """Where a message owed is."""

    PENDING = "pending"
    SENT = "sent"
    BLOCKED = "blocked"  # the customer blocked the bot: nothing more can reach them
    GIVEN_UP = "given_up"  # Telegram kept refusing past the give-up time (operators are told)
    DROPPED = "dropped"  # a passing notice ("Submitting…") that was not worth retrying


class MediaItem(BaseModel):
    """A file Telegram keeps, to be sent by its file_id (a customer's evidence)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: str  # photo, video or document
    file_id: str


class OutgoingMessage(BaseModel):
    """What to show: HTML text (or a photo with an HTML caption) and its inline keyboard.

    `replace_message_id` is a message of ours this one replaces: text is edited into it, a
    photo is sent and the old message deleted. Once a replacement proves impossible, the
    decision to send instead is recorded, so a retry never shows the message twice.
    `transient` notices are shown at most once and never retried. `media` is sent as an
    album (or one file) with `caption` on its first item, in place of a text. `reply_to` is
    a message of the same chat this one answers; with `reaction`, the delivery is that emoji
    set on `reply_to` instead of a message. `confirms` is an operator's message
    ([chat_id, message_id]) that gets a reaction once this one is delivered, or a reply
    saying why it could not be.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    text: str
    keyboard: list[list[dict[str, str]]] = []
    photo: str = ""
    caption: str = ""
    html: bool = True
    replace_message_id: int | None = None
    transient: bool = False
    media: list[MediaItem] = []
    reply_to: int | None = None
    reaction: str = ""
    confirms: tuple[int, int] | None = None


@dataclass(frozen=True, slots=True)
class NewDelivery:
    """A message to owe: to whom, about which complaint, of what kind, and the message."""

    user_id: int
    chat_id: int
    kind: str
    message: OutgoingMessage
    complaint_id: int | None = None


@dataclass(frozen=True, slots=True)
class Delivery:
    """One row of `deliveries`."""

    id: int
    user_id: int
    chat_id: int
    complaint_id: int | None
    kind: str
    message: OutgoingMessage
    state: DeliveryState
    attempts: int
    next_attempt_at: float
    claimed_by: str
    last_error: str
    created_at: float

    @classmethod
    def from_row(cls, row: Row) -> Delivery:
        """Reads a `deliveries` row; ValueError when it cannot be read."""
        try:
            message = OutgoingMessage.model_validate_json(row["message"])
        except ValidationError as err:
            raise ValueError(f"unreadable message ({err.error_count()} problems)") from err
        return cls(
            id=row["id"],
            user_id=row["user_id"],
            chat_id=row["chat_id"],
            complaint_id=row["complaint_id"],
            kind=row["kind"],
            message=message,
            state=DeliveryState(row["state"]),
            attempts=row["attempts"],
            next_attempt_at=row["next_attempt_at"],
            claimed_by=row["claimed_by"],
            last_error=row["last_error"],
            created_at=row["created_at"],
        )


class DeliveryStore:
    """Reads and writes the `deliveries` table."""

    def __init__(self, database: Database) -> None:
        self._db = database

    def add(
        self,
        new: NewDelivery,
        *,
        now: float,
        holder: str,
        until: float,
        due_at: float | None = None,
    ) -> Statement:
        """The statement that owes a message, claimed at once by `holder` when no earlier
        message to the same chat is still pending (so the writer can send it right away).
        It is due at once (`due_at` 0: for whichever process's clock reads it)."""
        return Statement(
            """
            INSERT INTO deliveries (user_id, chat_id, complaint_id, kind, message, state,
                next_attempt_at, claimed_by, claimed_until, created_at, updated_at)
            SELECT CAST(? AS BIGINT), CAST(? AS BIGINT), CAST(? AS BIGINT), CAST(? AS TEXT),
                CAST(? AS TEXT), 'pending', CAST(? AS DOUBLE PRECISION),
                CASE WHEN earlier.n > 0 THEN '' ELSE CAST(? AS TEXT) END,
                CASE WHEN earlier.n > 0 THEN 0 ELSE CAST(? AS DOUBLE PRECISION) END,
                CAST(? AS DOUBLE PRECISION), CAST(? AS DOUBLE PRECISION)
            FROM (SELECT COUNT(*) AS n FROM deliveries
                  WHERE chat_id = ? AND state = 'pending') AS earlier
            RETURNING *
            """,
            (
                new.user_id,
                new.chat_id,
                new.complaint_id,
                new.kind,
                new.message.model_dump_json(),
                now if due_at is None else due_at,
                holder,
                until,
                now,
                now,
                new.chat_id,
            ),
        )

    async def write(
        self,
        *changes: Statement,
        owed: Sequence[NewDelivery],
        now: float,
        holder: str = "",
        until: float = 0.0,
        due_at: float | None = None,
    ) -> list[Delivery] | None:
        """Writes `changes` and the messages they owe in one transaction.

        Returns the messages `holder` claimed (to send right away), or None when a guard among
        `changes` matched nothing (then nothing was written). Without a holder (the desk CLI),
        the bot's delivery worker sends them.
        """
        statements = list(changes)
        inserts: list[int] = []
        for new in owed:  # each chat's messages are written in turn, so their order holds
            statements += self._db.serialize(f"chat:{new.chat_id}")
            inserts.append(len(statements))
            statements.append(self.add(new, now=now, holder=holder, until=until, due_at=due_at))
        results = await self._db.batch(*statements)
        if results is None:
            return None
        rows = [row for index in inserts for row in results[index]]
        return [Delivery.from_row(row) for row in rows if holder and row["claimed_by"] == holder]

    async def claim_due(
        self, *, now: float, limit: int, holder: str, until: float
    ) -> list[Delivery]:
        """Claims due messages, only the oldest pending one of each chat (their order holds)."""
        rows = await self._db.write_returning(
            f"""
            UPDATE deliveries SET claimed_by = ?, claimed_until = ?
            WHERE id IN (
                SELECT d.id FROM deliveries AS d
                WHERE d.state = 'pending' AND d.next_attempt_at <= ? AND d.claimed_until < ?
                  AND NOT EXISTS (SELECT 1 FROM deliveries AS e WHERE e.chat_id = d.chat_id
                                  AND e.state = 'pending' AND e.id < d.id)
                ORDER BY d.id LIMIT ?{self._db.skip_locked})
            RETURNING *
            """,  # noqa: S608 - the engine's own words, never input
            [holder, until, now, now, limit],
        )
        claimed = []
        for row in sorted(rows, key=lambda r: int(r["id"])):
            try:
                claimed.append(Delivery.from_row(row))
            except ValueError as err:
                logger.error("Message %s could not be read and is dropped: %s", row["id"], err)
                await self.end(row["id"], DeliveryState.DROPPED, f"unreadable: {err}", now=now)
        return claimed

    async def next_due_at(self) -> float | None:
        """When the next message can be claimed (None when none is waiting).

        Only the oldest pending message of each chat counts: a later one waits for it, and
        the worker is woken when a message is done. A claimed one counts from its claim's end.
        """
        row = await self._db.fetch_one(
            f"SELECT MIN({self._db.greatest}(d.next_attempt_at, d.claimed_until)) "  # noqa: S608
            "FROM deliveries AS d "
            "WHERE d.state = 'pending' AND NOT EXISTS (SELECT 1 FROM deliveries AS e "
            "WHERE e.chat_id = d.chat_id AND e.state = 'pending' AND e.id < d.id)"
        )
        return float(row[0]) if row is not None and row[0] is not None else None

    async def sent(self, delivery_id: int, message_id: int | None, *, now: float) -> None:
        """Telegram accepted the message."""
        await self._update(
            delivery_id,
            state=DeliveryState.SENT,
            sent_message_id=message_id,
            claimed_by="",
            claimed_until=0,
            updated_at=now,
            attempts_plus_one=True,
        )

    async def retry(self, delivery_id: int, error: str, *, retry_at: float, now: float) -> None:
        """Telegram could not take it now; try again at `retry_at`."""
        await self._update(
            delivery_id,
            last_error=error,
            next_attempt_at=retry_at,
            claimed_by="",
            claimed_until=0,
            updated_at=now,
            attempts_plus_one=True,
        )

    async def end(self, delivery_id: int, state: DeliveryState, error: str, *, now: float) -> None:
        """The message will not be sent (blocked, given up, dropped)."""
        await self._update(
            delivery_id,
            state=state,
            last_error=error,
            claimed_by="",
            claimed_until=0,
            updated_at=now,
            attempts_plus_one=True,
        )

    async def decide(self, delivery_id: int, message: OutgoingMessage) -> None:
        """Records how the message will be shown from now on (send instead of edit, text
        instead of a photo), before it is shown that way."""
        await self._update(delivery_id, message=message.model_dump_json())

    async def renew(self, holder: str, *, until: float) -> None:
        """Extends the claims `holder` still has on pending messages."""
        await self._db.execute(
            "UPDATE deliveries SET claimed_until = ? WHERE claimed_by = ? AND state = 'pending'",
            [until, holder],
        )

    async def release(self, holder: str) -> None:
        """Gives up `holder`'s claims at once (a clean stop), so others need not wait."""
        await self._db.execute(
            "UPDATE deliveries SET claimed_by = '', claimed_until = 0 "
            "WHERE claimed_by = ? AND state = 'pending'",
            [holder],
        )

    async def in_state(self, *states: DeliveryState) -> list[Delivery]:
        """Every message in one of these states, oldest first (for operators)."""
        marks = ", ".join("?" for _ in states)
        rows = await self._db.fetch_all(
            f"SELECT * FROM deliveries WHERE state IN ({marks}) ORDER BY id",  # noqa: S608
            [str(s) for s in states],
        )
        return [Delivery.from_row(row) for row in rows]

    async def waiting(self) -> list[Delivery]:
        """Messages tried and not yet taken by Telegram, to be tried again (for operators)."""
        rows = await self._db.fetch_all(
            "SELECT * FROM deliveries WHERE state = 'pending' AND attempts > 0 ORDER BY id"
        )
        return [Delivery.from_row(row) for row in rows]

    async def _update(
        self, delivery_id: int, *, attempts_plus_one: bool = False, **values: Any
    ) -> None:
        # Column names come from this module's own keyword arguments, never from input.
        assignments = [f"{column} = ?" for column in values]
        if attempts_plus_one:
            assignments.append("attempts = attempts + 1")
        await self._db.execute(
            f"UPDATE deliveries SET {', '.join(assignments)} WHERE id = ?",  # noqa: S608
            [*(str(v) if isinstance(v, StrEnum) else v for v in values.values()), delivery_id],
        )
