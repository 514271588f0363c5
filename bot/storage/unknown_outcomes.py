"""This module contains UnknownOutcomes: complaints whose create may or may not have filed them.

A backend without idempotency (bot/backends/once.py) that gave no answer to a create leaves
the complaint pending, set aside (`unknown_outcome` holds why): no worker sends it again until
an operator has looked in the backend and either adopts the complaint it finds there (its
number) or sends it again.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from bot.storage.database import Database, Statement

# The checkpoint by which an operator's `complaints --adopt` hands the backend's number over.
ADOPTED_KEY = "adopted_number"


@dataclass(frozen=True, slots=True)
class UnknownOutcome:
    """A complaint set aside: which, for whom, and why."""

    id: int
    backend: str
    order_id: str
    reason: str
    created_at: float


class UnknownOutcomes:
    """Sets complaints aside whose outcome is unknown, lists them, and resolves them."""

    def __init__(self, database: Database) -> None:
        self._db = database

    @staticmethod
    def set_aside(entry_id: int, reason: str, *, now: float, holder: str) -> Statement:
        """The guarded statement setting a claimed complaint aside (only while `holder` has
        the claim); the attempt counts."""
        return Statement(
            """
            UPDATE complaints SET unknown_outcome = ?, last_error = ?, updated_at = ?,
                attempts = attempts + 1, told_delayed = 1, claimed_by = '', claimed_until = 0
            WHERE id = ? AND claimed_by = ? AND state = 'pending'
            RETURNING id
            """,
            (reason, reason, now, entry_id, holder),
            required=True,
        )

    async def listed(self) -> list[UnknownOutcome]:
        """Every complaint set aside, oldest first (for operators)."""
        rows = await self._db.fetch_all(
            "SELECT id, backend, order_id, unknown_outcome, created_at FROM complaints "
            "WHERE state = 'pending' AND unknown_outcome != '' ORDER BY id"
        )
        return [
            UnknownOutcome(
                int(row["id"]),
                str(row["backend"]),
                str(row["order_id"]),
                str(row["unknown_outcome"]),
                float(row["created_at"]),
            )
            for row in rows
        ]

    async def adopt(self, entry_id: int, number: str, *, now: float) -> bool:
        """The operator found the complaint in the backend under `number`: the bot registers
        it with that number (no call) and tells the customer; False if it is not set aside."""
        checkpoint = json.dumps({ADOPTED_KEY: number})
        return await self._resolve(entry_id, checkpoint, now=now)

    async def resubmit(self, entry_id: int, *, now: float) -> bool:
        """The operator found nothing in the backend: the bot sends the complaint again."""
        return await self._resolve(entry_id, "{}", now=now)

    async def _resolve(self, entry_id: int, checkpoint: str, *, now: float) -> bool:
        changed = await self._db.execute(
            "UPDATE complaints SET unknown_outcome = '', checkpoint = ?, next_attempt_at = ?, "
            "updated_at = ? WHERE id = ? AND state = 'pending' AND unknown_outcome != ''",
            [checkpoint, now, now, entry_id],
        )
        return changed > 0
