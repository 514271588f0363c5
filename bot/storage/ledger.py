"""This module contains the Ledger: every confirmed complaint, written before any backend call.

The ledger is also the outbox: rows in state `pending` are what the submission worker sends.
A worker claims a row with a lease recorded here (`claimed_by`, `claimed_until`), so any number
of processes on one database submit each complaint once, and a dead process's claims expire.
A row that cannot be read is quarantined (marked, reported, listed) instead of stopping others.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from pydantic import ValidationError

from bot.complaint import ComplaintEnvelope
from bot.receipts import ComplaintStatus, Receipt
from bot.storage.database import Database, Row, Statement

logger = logging.getLogger(__name__)


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
    status_version: int = 0
    claimed_by: str = ""

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
        """Reads a `complaints` row; ValueError (saying what is wrong) when it cannot be read."""
        try:
            return cls._read(row)
        except (ValidationError, ValueError, TypeError, KeyError) as err:
            raise ValueError(_why_unreadable(err)) from err

    @classmethod
    def _read(cls, row: Row) -> LedgerEntry:
        receipt = Receipt.model_validate_json(row["receipt"]) if row["receipt"] else None
        checkpoint = json.loads(row["checkpoint"])
        if not isinstance(checkpoint, dict):
            raise ValueError("checkpoint is not a JSON object")
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
            checkpoint={str(k): str(v) for k, v in checkpoint.items()},
            complaint_number=row["complaint_number"],
            receipt=receipt,
            status_code=row["status_code"],
            status_text=row["status_text"],
            status_detail=row["status_detail"],
            message_id=row["message_id"],
            told_delayed=bool(row["told_delayed"]),
            created_at=row["created_at"],
            updated_at=row["updated_at"],
            status_version=row["status_version"],
            claimed_by=row["claimed_by"],
        )


@dataclass(frozen=True, slots=True)
class QuarantinedRow:
    """A row set aside because it could not be read: what is known of it, and why."""

    id: int
    backend: str
    order_id: str
    user_id: int
    reason: str
    created_at: float


class Ledger:
    """Reads and writes the `complaints` table."""

    def __init__(self, database: Database) -> None:
        self._db = database

    async def record(
        self, new: NewComplaint, *, now: float, also: Sequence[Statement] = ()
    ) -> LedgerEntry | None:
        """Writes a confirmed complaint as pending, with `also` in the same transaction; None
        when its key is already recorded (then `also` is written all the same)."""
        results = await self._db.batch(self._insert(new, now=now), *also)
        rows = results[0] if results else []
        return LedgerEntry.from_row(rows[0]) if rows else None

    @staticmethod
    def _insert(new: NewComplaint, *, now: float) -> Statement:
        entity = new.envelope.entity
        return Statement(
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

    async def get(self, entry_id: int) -> LedgerEntry | None:
        """The row with this id."""
        return _entry(await self._db.fetch_one("SELECT * FROM complaints WHERE id = ?", [entry_id]))

    async def get_by_key(self, key: str) -> LedgerEntry | None:
        """The row with this idempotency key."""
        row = await self._db.fetch_one("SELECT * FROM complaints WHERE idempotency_key = ?", [key])
        return _entry(row)

    async def claim_due(
        self, backend: str, *, now: float, limit: int, holder: str, until: float
    ) -> tuple[list[LedgerEntry], list[QuarantinedRow]]:
        """Claims pending complaints of `backend` whose next attempt is due, oldest first.

        Rows that cannot be read are quarantined and returned apart, to be reported once.
        """
        rows = await self._db.write_returning(
            f"""
            UPDATE complaints SET claimed_by = ?, claimed_until = ?
            WHERE id IN (
                SELECT id FROM complaints
                WHERE state = 'pending' AND quarantined = '' AND unknown_outcome = ''
                  AND backend = ? AND next_attempt_at <= ? AND claimed_until < ?
                ORDER BY next_attempt_at, id LIMIT ?{self._db.skip_locked})
            RETURNING *
            """,  # noqa: S608 - the engine's own words, never input
            [holder, until, backend, now, now, limit],
        )
        claimed: list[LedgerEntry] = []
        quarantined: list[QuarantinedRow] = []
        for row in sorted(rows, key=lambda r: (float(r["next_attempt_at"]), int(r["id"]))):
            try:
                claimed.append(LedgerEntry.from_row(row))
            except ValueError as err:
                quarantined.append(await self.quarantine(row, str(err), now=now))
        return claimed, quarantined

    async def quarantine(self, row: Row, reason: str, *, now: float) -> QuarantinedRow:
        """Sets an unreadable row aside: no worker claims it again until an operator fixes it."""
        logger.error("Complaint %s cannot be read and is quarantined: %s", row["id"], reason)
        await self._db.execute(
            "UPDATE complaints SET quarantined = ?, claimed_by = '', claimed_until = 0, "
            "updated_at = ? WHERE id = ?",
            [reason, now, row["id"]],
        )
        return _quarantined(row, reason)

    async def quarantined(self) -> list[QuarantinedRow]:
        """Every quarantined row (for operators)."""
        rows = await self._db.fetch_all(
            "SELECT id, backend, order_id, user_id, quarantined, created_at FROM complaints "
            "WHERE quarantined != '' ORDER BY id"
        )
        return [_quarantined(row, row["quarantined"]) for row in rows]

    async def next_attempt_at(self, backend: str) -> float | None:
        """When the earliest pending complaint of `backend` can be claimed, if there is one (a
        claimed one counts from its claim's end, so the worker does not spin on its own)."""
        row = await self._db.fetch_one(
            f"SELECT MIN({self._db.greatest}(next_attempt_at, claimed_until)) "  # noqa: S608
            "FROM complaints "
            "WHERE state = 'pending' AND quarantined = '' AND unknown_outcome = '' AND backend = ?",
            [backend],
        )
        return float(row[0]) if row is not None and row[0] is not None else None

    async def renew_claims(self, holder: str, *, until: float) -> None:
        """Extends `holder`'s claims on complaints still being submitted."""
        await self._db.execute(
            "UPDATE complaints SET claimed_until = ? WHERE claimed_by = ? AND state = 'pending'",
            [until, holder],
        )

    async def release_claims(self, holder: str, entry_ids: Iterable[int] | None = None) -> None:
        """Gives up `holder`'s claims (all, or these), so the complaints are due at once."""
        sql = "UPDATE complaints SET claimed_by = '', claimed_until = 0 WHERE claimed_by = ?"
        parameters: list[Any] = [holder]
        if entry_ids is not None:
            ids = list(entry_ids)
            if not ids:
                return
            sql += f" AND id IN ({', '.join('?' for _ in ids)})"
            parameters += ids
        await self._db.execute(sql, parameters)

    def registered(self, entry_id: int, receipt: Receipt, *, now: float, holder: str) -> Statement:
        """The guarded statement recording a registration (only while `holder` has the claim)."""
        return Statement(
            """
            UPDATE complaints SET state = 'registered', complaint_number = ?, receipt = ?,
                status_code = 'received', status_text = ?, status_checked_at = ?,
                last_error = '', updated_at = ?, attempts = attempts + 1,
                claimed_by = '', claimed_until = 0
            WHERE id = ? AND claimed_by = ? AND state = 'pending'
            RETURNING id
            """,
            (receipt.number, receipt.model_dump_json(), receipt.state, now, now, entry_id, holder),
            required=True,
        )

    def retry(
        self,
        entry_id: int,
        error: str,
        *,
        retry_at: float,
        now: float,
        holder: str,
        told_delayed: bool,
    ) -> Statement:
        """The guarded statement scheduling another attempt (and noting the customer was told
        it is delayed)."""
        return Statement(
            f"""
            UPDATE complaints SET last_error = ?, next_attempt_at = ?, updated_at = ?,
                attempts = attempts + 1, told_delayed = {self._db.greatest}(told_delayed, ?),
                claimed_by = '', claimed_until = 0
            WHERE id = ? AND claimed_by = ? AND state = 'pending'
            RETURNING id
            """,  # noqa: S608 - the engine's own words, never input
            (error, retry_at, now, int(told_delayed), entry_id, holder),
            required=True,
        )

    def ended(
        self, entry_id: int, state: LedgerState, error: str, *, now: float, holder: str
    ) -> Statement:
        """The guarded statement recording a rejection, or a failure for good."""
        return Statement(
            """
            UPDATE complaints SET state = ?, last_error = ?, updated_at = ?,
                attempts = attempts + 1, claimed_by = '', claimed_until = 0
            WHERE id = ? AND claimed_by = ? AND state = 'pending'
            RETURNING id
            """,
            (str(state), error, now, entry_id, holder),
            required=True,
        )

    def status_changed(
        self, entry: LedgerEntry, status: ComplaintStatus, *, now: float
    ) -> Statement:
        """The guarded statement recording a new status, only if nobody recorded one since
        `entry` was read (its status_version): a change is recorded, and told, once."""
        return Statement(
            """
            UPDATE complaints SET status_code = ?, status_text = ?, status_detail = ?,
                status_checked_at = ?, updated_at = ?, status_version = status_version + 1
            WHERE id = ? AND status_version = ?
            RETURNING id
            """,
            (
                str(status.code),
                status.text,
                status.detail,
                now,
                now,
                entry.id,
                entry.status_version,
            ),
            required=True,
        )

    async def pending_by_backend(self) -> dict[str, int]:
        """How many complaints wait for each backend."""
        rows = await self._db.fetch_all(
            "SELECT backend, COUNT(*) AS n FROM complaints WHERE state = 'pending' "
            "AND quarantined = '' GROUP BY backend"
        )
        return {row["backend"]: int(row["n"]) for row in rows}

    async def move_pending(self, backend: str) -> tuple[int, int]:
        """Moves pending complaints of other backends to `backend`: (moved, kept).

        A complaint the old backend already holds part of (a checkpoint, e.g. an OCC
        appeasement created) is kept: moving it would file it twice.
        """
        moved = await self._db.execute(
            "UPDATE complaints SET backend = ?, claimed_by = '', claimed_until = 0 "
            "WHERE state = 'pending' AND backend != ? AND checkpoint = '{}'",
            [backend, backend],
        )
        kept = await self._db.fetch_one(
            "SELECT COUNT(*) FROM complaints WHERE state = 'pending' AND backend != ?",
            [backend],
        )
        return moved, int(kept[0]) if kept else 0

    async def save_checkpoint(self, entry_id: int, checkpoint: Mapping[str, str]) -> None:
        """Stores an adapter's progress for this complaint (committed before it returns)."""
        await self._update(entry_id, checkpoint=json.dumps(dict(checkpoint)))

    async def set_status(self, entry: LedgerEntry, status: ComplaintStatus, *, now: float) -> bool:
        """Records a status the customer has just seen (/status); False if another change
        was recorded meanwhile (it is told by whoever recorded it)."""
        return await self._db.batch(self.status_changed(entry, status, now=now)) is not None

    async def mark_checked(self, entry_id: int, *, now: float) -> None:
        """The status was asked and had not changed."""
        await self._update(entry_id, status_checked_at=now)

    async def to_poll(
        self, backend: str, *, checked_before: float, limit: int, after_id: int = 0
    ) -> list[LedgerEntry]:
        """Registered complaints of this backend not yet final and not checked since
        `checked_before`, a page at a time in id order (the next page starts after `after_id`).
        """
        rows = await self._db.fetch_all(
            "SELECT * FROM complaints WHERE state = 'registered' AND backend = ? "
            "AND quarantined = '' "
            "AND COALESCE(status_code, '') NOT IN ('resolved', 'rejected', 'closed') "
            "AND status_checked_at < ? AND id > ? ORDER BY id LIMIT ?",
            [backend, checked_before, after_id, limit],
        )
        return _entries(rows)

    async def for_customer(self, user_id: int, *, limit: int = 10) -> list[LedgerEntry]:
        """The customer's complaints, newest first."""
        rows = await self._db.fetch_all(
            "SELECT * FROM complaints WHERE user_id = ? AND quarantined = '' "
            "ORDER BY created_at DESC, id DESC LIMIT ?",
            [user_id, limit],
        )
        return _entries(rows)

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
            f"SELECT * FROM complaints WHERE state IN ({marks}) "  # noqa: S608
            "AND quarantined = '' ORDER BY id",
            [str(s) for s in states],
        )
        return _entries(rows)

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
    entries = _entries([row]) if row is not None else []
    return entries[0] if entries else None


def _entries(rows: list[Row]) -> list[LedgerEntry]:
    """The rows that can be read; an unreadable one is logged and left out (the outbox
    quarantines it when it is pending; a reader must not fail because of it)."""
    entries = []
    for row in rows:
        try:
            entries.append(LedgerEntry.from_row(row))
        except ValueError as err:
            logger.error("Complaint %s cannot be read and is left out: %s", row["id"], err)
    return entries


def _quarantined(row: Row, reason: str) -> QuarantinedRow:
    return QuarantinedRow(
        id=int(row["id"]),
        backend=str(row["backend"]),
        order_id=str(row["order_id"]),
        user_id=int(row["user_id"]),
        reason=reason,
        created_at=float(row["created_at"]),
    )


def _why_unreadable(err: Exception) -> str:
    """A short reason for operators (pydantic's full report is long)."""
    if isinstance(err, ValidationError):
        first = err.errors(include_url=False, include_input=False)[0]
        where = ".".join(str(part) for part in first["loc"])
        return f"{err.title}: {where + ': ' if where else ''}{first['msg']}"
    if isinstance(err, KeyError):
        return f"missing column {err}"
    return f"{type(err).__name__}: {err}"
