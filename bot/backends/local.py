"""This module contains the embedded complaint desk: complaints kept in the bot's SQLite file."""

from __future__ import annotations

import json
import time
from collections.abc import Callable

from bot.backends.base import (
    BackendRejected,
    ComplaintBackend,
    ComplaintStatus,
    Receipt,
    RejectionReason,
    StatusCode,
    Submission,
)
from bot.complaint import ComplaintEnvelope, amount_text, contact_line
from bot.storage.database import Database, Statement


class LocalDeskBackend(ComplaintBackend):
    """Registers complaints in the `desk_complaints` table; numbers start at 100001."""

    name = "local"

    def __init__(self, database: Database, *, clock: Callable[[], float] = time.time) -> None:
        self._db = database
        self._clock = clock

    async def submit(self, submission: Submission) -> Receipt:
        """Files the complaint once per idempotency key; a repeat returns the same number."""
        envelope = submission.envelope
        entity = envelope.entity
        now = self._clock()
        rows = await self._db.write_returning(
            """
            INSERT INTO desk_complaints (idempotency_key, customer_uid, customer_name, order_id,
                category, problem, language, resolution, contact, attachments, items,
                claimed_amount, refund_account, created_at, updated_at)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            ON CONFLICT (idempotency_key) DO NOTHING
            RETURNING number, status
            """,
            [
                submission.key,
                envelope.user.uid,
                envelope.customer_name(),
                entity.orderId,
                entity.category,
                entity.problemStatment,
                envelope.languageCode,
                entity.resolution or "",
                contact_line(entity.contact),
                json.dumps([a.model_dump(exclude_none=True) for a in entity.attachments or ()]),
                json.dumps(
                    [item.model_dump(exclude_none=True) for item in entity.items or ()],
                    ensure_ascii=False,
                ),
                amount_text(entity.claimedAmount) if entity.claimedAmount is not None else "",
                entity.refundAccount or "",
                now,
                now,
            ],
        )
        # A repeat of an attempt that did register finds the complaint it filed then.
        row = (
            rows[0]
            if rows
            else await self._db.fetch_one(
                "SELECT number, status FROM desk_complaints WHERE idempotency_key = ?",
                [submission.key],
            )
        )
        assert row is not None  # inserted now, or by an earlier attempt
        number = str(row["number"])
        return Receipt(number=number, reference=number, state=row["status"])

    async def status(self, receipt: Receipt, envelope: ComplaintEnvelope) -> ComplaintStatus:
        """The desk's status of the complaint, with the operator's note."""
        row = await self._db.fetch_one(
            "SELECT status, note FROM desk_complaints WHERE number = ? AND customer_uid = ?",
            [desk_number(receipt.reference), envelope.user.uid],
        )
        if row is None:
            raise BackendRejected(
                f"desk complaint {receipt.reference} not found", reason=RejectionReason.NOT_FOUND
            )
        return ComplaintStatus(
            code=desk_status(row["status"]), text=row["status"], detail=row["note"]
        )

    @property
    def withdraws(self) -> bool:
        """The desk is ours: a withdrawal closes the complaint there."""
        return True

    async def withdraw(self, receipt: Receipt, envelope: ComplaintEnvelope) -> bool:
        """Closes the customer's desk complaint (the operator's note is kept)."""
        await self._db.execute(
            "UPDATE desk_complaints SET status = ?, updated_at = ? "
            "WHERE number = ? AND customer_uid = ?",
            [
                str(StatusCode.CLOSED),
                self._clock(),
                desk_number(receipt.reference),
                envelope.user.uid,
            ],
        )
        return True

    async def note_of(self, number: str) -> str | None:
        """The operator's current note on a complaint; None when there is no such complaint."""
        row = await self._db.fetch_one(
            "SELECT note FROM desk_complaints WHERE number = ?", [desk_number(number)]
        )
        return str(row["note"]) if row is not None else None

    def status_change(self, number: str, status: StatusCode, note: str) -> Statement:
        """The guarded statement moving a complaint on (it matches nothing for an unknown one)."""
        return Statement(
            "UPDATE desk_complaints SET status = ?, note = ?, updated_at = ? WHERE number = ? "
            "RETURNING number",
            (str(status), note, self._clock(), desk_number(number)),
            required=True,
        )

    async def probe(self) -> str:
        """The desk lives in the database: counting its complaints proves it is readable."""
        row = await self._db.fetch_one("SELECT COUNT(*) FROM desk_complaints")
        return f"local complaint desk holds {row[0] if row else 0} complaints"


def desk_number(text: str) -> int:
    """A desk number as the database keeps it (-1, which no complaint has, for any other text)."""
    digits = text.strip().lstrip("#")
    return int(digits) if digits.isascii() and digits.isdigit() and len(digits) < 19 else -1


def desk_status(value: str) -> StatusCode:
    """The desk stores StatusCode values; anything else reads as unknown."""
    try:
        return StatusCode(value)
    except ValueError:
        return StatusCode.UNKNOWN
