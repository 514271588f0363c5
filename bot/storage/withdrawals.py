"""This module contains the WithdrawalStore: customers' withdrawals, each told to the backend once.

A withdrawal is written when the customer confirms it (one per complaint), and it is an outbox
of its own: a worker claims it (a lease, as the ledger's), tells the backend, and records the
outcome with the messages it owes in one transaction, so it is told once, across restarts and
instances alike.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from bot.storage.database import Database, Row, Statement


class WithdrawalState(StrEnum):
    """Where a withdrawal is."""

    PENDING = "pending"  # to be told to the backend
    DONE = "done"  # the backend has it (its status is set)
    HANDED_OVER = "handed_over"  # no API for it: the operators were told to do it
    FAILED = "failed"  # the backend refused it, or stayed away too long (operators told)


@dataclass(frozen=True, slots=True)
class Withdrawal:
    """One withdrawal; `id` is its complaint's ledger id."""

    id: int
    backend: str
    state: WithdrawalState
    attempts: int
    requested_at: float

    @classmethod
    def from_row(cls, row: Row) -> Withdrawal:
        return cls(
            id=int(row["complaint_id"]),
            backend=str(row["backend"]),
            state=WithdrawalState(row["state"]),
            attempts=int(row["attempts"]),
            requested_at=float(row["requested_at"]),
        )


class WithdrawalStore:
    """Reads and writes the `withdrawals` table."""

    def __init__(self, database: Database) -> None:
        self._db = database

    def request(self, complaint_id: int, backend: str, *, now: float) -> Statement:
        """The guarded statement of a new withdrawal (it matches nothing for a second one)."""
        return Statement(
            "INSERT INTO withdrawals (complaint_id, backend, state, next_attempt_at, "
            "requested_at, updated_at) VALUES (?, ?, 'pending', ?, ?, ?) "
            "ON CONFLICT (complaint_id) DO NOTHING RETURNING complaint_id",
            (complaint_id, backend, now, now, now),
            required=True,
        )

    async def get(self, complaint_id: int) -> Withdrawal | None:
        """The withdrawal of this complaint, if the customer asked for one."""
        row = await self._db.fetch_one(
            "SELECT * FROM withdrawals WHERE complaint_id = ?", [complaint_id]
        )
        return Withdrawal.from_row(row) if row is not None else None

    async def claim_due(
        self, backend: str, *, now: float, limit: int, holder: str, until: float
    ) -> list[Withdrawal]:
        """Claims pending withdrawals of `backend` whose next attempt is due, oldest first."""
        rows = await self._db.write_returning(
            f"""
            UPDATE withdrawals SET claimed_by = ?, claimed_until = ?
            WHERE complaint_id IN (
                SELECT complaint_id FROM withdrawals
                WHERE state = 'pending' AND backend = ? AND next_attempt_at <= ?
                  AND claimed_until < ?
                ORDER BY next_attempt_at, complaint_id LIMIT ?{self._db.skip_locked})
            RETURNING *
            """,  # noqa: S608 - the engine's own words, never input
            [holder, until, backend, now, now, limit],
        )
        return sorted((Withdrawal.from_row(row) for row in rows), key=lambda w: w.requested_at)

    async def next_attempt_at(self, backend: str) -> float | None:
        """When the earliest pending withdrawal of `backend` can be claimed."""
        row = await self._db.fetch_one(
            f"SELECT MIN({self._db.greatest}(next_attempt_at, claimed_until)) "  # noqa: S608
            "FROM withdrawals WHERE state = 'pending' AND backend = ?",
            [backend],
        )
        return float(row[0]) if row is not None and row[0] is not None else None

    async def renew_claims(self, holder: str, *, until: float) -> None:
        """Extends `holder`'s claims on withdrawals under way."""
        await self._db.execute(
            "UPDATE withdrawals SET claimed_until = ? WHERE claimed_by = ? AND state = 'pending'",
            [until, holder],
        )

    async def release_claims(self, holder: str) -> None:
        """Gives up `holder`'s claims, so the withdrawals are due at once."""
        await self._db.execute(
            "UPDATE withdrawals SET claimed_by = '', claimed_until = 0 WHERE claimed_by = ?",
            [holder],
        )

    def ended(
        self, complaint_id: int, state: WithdrawalState, error: str, *, now: float, holder: str
    ) -> Statement:
        """The guarded statement recording an outcome (only while `holder` has the claim)."""
        return Statement(
            "UPDATE withdrawals SET state = ?, last_error = ?, updated_at = ?, "
            "attempts = attempts + 1, claimed_by = '', claimed_until = 0 "
            "WHERE complaint_id = ? AND claimed_by = ? AND state = 'pending' "
            "RETURNING complaint_id",
            (str(state), error, now, complaint_id, holder),
            required=True,
        )

    def retry(
        self, complaint_id: int, error: str, *, retry_at: float, now: float, holder: str
    ) -> Statement:
        """The guarded statement scheduling another attempt."""
        return Statement(
            "UPDATE withdrawals SET last_error = ?, next_attempt_at = ?, updated_at = ?, "
            "attempts = attempts + 1, claimed_by = '', claimed_until = 0 "
            "WHERE complaint_id = ? AND claimed_by = ? AND state = 'pending' "
            "RETURNING complaint_id",
            (error, retry_at, now, complaint_id, holder),
            required=True,
        )
