"""This module contains the Ledger: every confirmed complaint, written before any backend call.

The ledger is also the outbox: rows in state `pending` are what the submission worker sends.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from bot.backends.base import Receipt
from bot.complaint import ComplaintEnvelope
from bot.storage.database import Database, Row


class LedgerState(StrEnum):
    """Where a confirmed complaint is on its way to the backend."""

    PENDING = "pending"
    REGISTERED = "registered"
    REJECTED = "rejected"
    FAILED = "failed"


@dataclass(frozen=True, slots=True)
class NewComplaint:
    """A complaint the customer has just confirmed."""

    key: str
    user_id: int
    chat_id: int
    backend: str
    envelope: ComplaintEnvelope
    message_id: int | None
    from_deep_link: bool = False


@dataclass(frozen=True, slots=True)
class LedgerEntry:
    """One row of the ledger."""

    id: int
    key: str
    user_id: int
    chat_id: int
    backend: str
    envelope: ComplaintEnvelope
    from_deep_link: bool
    state: LedgerState
    attempts: int
    next_attempt_at: float
    last_error: str
    checkpoint: dict[str, str]
    complaint_number: str | None
    receipt: Receipt | None
    status_code: str | None
    status_text: str
    status_detail: str
    message_id: int | None
    told_delayed: bool
    created_at: float
    updated_at: float

    @property
    def order_id(self) -> str:
        """The order the complaint is about."""
        return self.envelope.entity.orderId

    @property
    def category(self) -> str:
        """The category code."""
        return self.envelope.entity.category

    @property
    def language(self) -> str:
        """The customer's language code as sent in the envelope."""
        return self.envelope.languageCode

    @classmethod
    def from_row(cls, row: Row) -> LedgerEntry:
        """Reads a `complaints` row."""
        receipt = Receipt.model_validate_json(row["receipt"]) if row["receipt"] else None
        return cls(
            id=row["id"],
            key=row["idempotency_key"],
            user_id=row["user_id"],
            chat_id=row["chat_id"],
            backend=row["backend"],
            envelope=ComplaintEnvelope.model_validate_json(row["envelope"]),
            from_deep_link=bool(row["from_deep_link"]),
            state=LedgerState(row["state"]),
            attempts=row["attempts"],
            next_attempt_at=row["next_attempt_at"],
            last_error=row["last_error"],
            checkpoint=json.loads(row["checkpoint"]),
            complaint_number=row["complaint_number"],
            receipt=receipt,
            status_code=row["status_code"],
            status_text=row["status_text"],
            status_detail=row["status_detail"],
            message_id=row["message_id"],
            told_delayed=bool(row["told_delayed"]),
            created_at=row["created_at"],
            updated_at=row["updated_at"],
        )


class Ledger:
    """Reads and writes the `complaints` table."""

    def __init__(self, database: Database) -> None:
        self._db = database

    async def record(self, new: NewComplaint, *, now: float) -> LedgerEntry | None:
        """Writes a confirmed complaint as pending; None when its key is already recorded."""
        entity = new.envelope.entity
        rows = await self._db.write_returning(
            """
            INSERT INTO complaints (idempotency_key, user_id, chat_id, backend, envelope,
                order_id, category, language, from_deep_link, state, next_attempt_at,
                message_id, created_at, updated_at)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 'pending', ?, ?, ?, ?)
            ON CONFLICT (idempotency_key) DO NOTHING
            RETURNING *
            """,
            (
                new.key,
                new.user_id,
                new.chat_id,
                new.backend,
                new.envelope.model_dump_json(),
                entity.orderId,
                entity.category,
                new.envelope.languageCode,
                int(new.from_deep_link),
                now,
                new.message_id,
                now,
                now,
            ),
        )
        return LedgerEntry.from_row(rows[0]) if rows else None

    async def get(self, entry_id: int) -> LedgerEntry | None:
        """The row with this id."""
        return _entry(await self._db.fetch_one("SELECT * FROM complaints WHERE id = ?", [entry_id]))

    async def get_by_key(self, key: str) -> LedgerEntry | None:
        """The row with this idempotency key."""
        row = await self._db.fetch_one("SELECT * FROM complaints WHERE idempotency_key = ?", [key])
        return _entry(row)

    async def due(self, now: float, *, limit: int, exclude: set[int]) -> list[LedgerEntry]:
        """Pending complaints whose next attempt is due, oldest first."""
        rows = await self._db.fetch_all(
            "SELECT * FROM complaints WHERE state = 'pending' AND next_attempt_at <= ? "
            "ORDER BY next_attempt_at, id LIMIT ?",
            [now, limit + len(exclude)],
        )
        entries = [LedgerEntry.from_row(row) for row in rows if row["id"] not in exclude]
        return entries[:limit]

    async def next_attempt_at(self, *, exclude: set[int]) -> float | None:
        """When the earliest pending complaint not in `exclude` (those being submitted right
        now) is due, if there is one."""
        rows = await self._db.fetch_all(
            "SELECT id, next_attempt_at FROM complaints WHERE state = 'pending' "
            "ORDER BY next_attempt_at LIMIT ?",
            [len(exclude) + 1],
        )
        due = [float(row["next_attempt_at"]) for row in rows if row["id"] not in exclude]
        return due[0] if due else None

    async def save_checkpoint(self, entry_id: int, checkpoint: Mapping[str, str]) -> None:
        """Stores an adapter's progress for this complaint (committed before it returns)."""
        await self._update(entry_id, checkpoint=json.dumps(dict(checkpoint)))

    async def mark_registered(self, entry_id: int, receipt: Receipt, *, now: float) -> None:
        """The backend registered the complaint."""
        await self._update(
            entry_id,
            state=LedgerState.REGISTERED,
            complaint_number=receipt.number,
            receipt=receipt.model_dump_json(),
            # Registered means received: the poller speaks up only when that changes.
            status_code="received",
            status_text=receipt.state,
            status_checked_at=now,
            last_error="",
            updated_at=now,
            attempts_plus_one=True,
        )

    async def mark_retry(self, entry_id: int, error: str, *, retry_at: float, now: float) -> None:
        """The backend was unavailable; try again at `retry_at`."""
        await self._update(
            entry_id,
            last_error=error,
            next_attempt_at=retry_at,
            updated_at=now,
            attempts_plus_one=True,
        )

    async def mark_ended(
        self, entry_id: int, state: LedgerState, error: str, *, now: float
    ) -> None:
        """The complaint was rejected, or failed for good."""
        await self._update(
            entry_id, state=state, last_error=error, updated_at=now, attempts_plus_one=True
        )

    async def mark_told_delayed(self, entry_id: int) -> None:
        """The customer has been told the complaint is saved and will be registered later."""
        await self._update(entry_id, told_delayed=1)

    async def set_status(
        self, entry_id: int, code: str, text: str, detail: str = "", *, now: float
    ) -> None:
        """The latest status the backend told (and the customer has seen or been sent)."""
        await self._update(
            entry_id,
            status_code=code,
            status_text=text,
            status_detail=detail,
            status_checked_at=now,
            updated_at=now,
        )

    async def mark_checked(self, entry_id: int, *, now: float) -> None:
        """The status was asked and had not changed."""
        await self._update(entry_id, status_checked_at=now)

    async def to_poll(
        self, backend: str, *, checked_before: float, limit: int
    ) -> list[LedgerEntry]:
        """Registered complaints of this backend not yet final, least recently checked first."""
        rows = await self._db.fetch_all(
            "SELECT * FROM complaints WHERE state = 'registered' AND backend = ? "
            "AND COALESCE(status_code, '') NOT IN ('resolved', 'rejected', 'closed') "
            "AND status_checked_at < ? ORDER BY status_checked_at, id LIMIT ?",
            [backend, checked_before, limit],
        )
        return [LedgerEntry.from_row(row) for row in rows]

    async def for_customer(self, user_id: int, *, limit: int = 10) -> list[LedgerEntry]:
        """The customer's complaints, newest first."""
        rows = await self._db.fetch_all(
            "SELECT * FROM complaints WHERE user_id = ? ORDER BY created_at DESC, id DESC LIMIT ?",
            [user_id, limit],
        )
        return [LedgerEntry.from_row(row) for row in rows]

    async def find_for_customer(self, user_id: int, number: str) -> LedgerEntry | None:
        """The customer's own complaint with this number; None for anyone else's."""
        row = await self._db.fetch_one(
            "SELECT * FROM complaints WHERE user_id = ? AND complaint_number = ? "
            "ORDER BY id DESC LIMIT 1",
            [user_id, number],
        )
        return _entry(row)

    async def find_by_number(self, backend: str, number: str) -> LedgerEntry | None:
        """The complaint a backend registered under this number."""
        row = await self._db.fetch_one(
            "SELECT * FROM complaints WHERE backend = ? AND complaint_number = ? "
            "ORDER BY id DESC LIMIT 1",
            [backend, number],
        )
        return _entry(row)

    async def in_state(self, *states: LedgerState) -> list[LedgerEntry]:
        """Every complaint in one of these states, oldest first (for operators)."""
        marks = ", ".join("?" for _ in states)
        rows = await self._db.fetch_all(
            f"SELECT * FROM complaints WHERE state IN ({marks}) ORDER BY id",  # noqa: S608
            [str(s) for s in states],
        )
        return [LedgerEntry.from_row(row) for row in rows]

    async def _update(
        self, entry_id: int, *, attempts_plus_one: bool = False, **values: Any
    ) -> None:
        # Column names come from this module's own keyword arguments, never from input.
        assignments = [f"{column} = ?" for column in values]
        if attempts_plus_one:
            assignments.append("attempts = attempts + 1")
        await self._db.execute(
            f"UPDATE complaints SET {', '.join(assignments)} WHERE id = ?",  # noqa: S608
            [*(str(v) if isinstance(v, StrEnum) else v for v in values.values()), entry_id],
        )


def _entry(row: Row | None) -> LedgerEntry | None:
    return LedgerEntry.from_row(row) if row is not None else None
