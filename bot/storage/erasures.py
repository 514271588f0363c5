"""This module contains Erasures: /forgetme as a snapshot of what existed when it was asked.

An erasure covers the customer's data from before `requested_at`: at once their draft,
preferences and follow-up, their finished and registered complaints (pseudonymised), threads,
rating comments and what was sent to them. What still waits (a complaint to be registered or
finished, a message owed to them) is done by later rounds, which touch only data from before
the request: what the customer does afterwards is new data and stays, until they ask again.
A finished erasure is deleted, so it never runs again.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from bot.storage.database import Database, Statement
from bot.storage.pseudonyms import FINISHED, Anonymising, Pseudonym, thread_files_sql

logger = logging.getLogger(__name__)

# The tables an erasure rewrites or deletes from (the engines reclaim their space after it).
ERASED_TABLES = (
    "complaints",
    "desk_complaints",
    "complaint_messages",
    "complaint_ratings",
    "conversations",
    "customers",
    "follow_ups",
    "deliveries",
)


@dataclass(frozen=True, slots=True)
class Erasure:
    """What an erasure did, and what it still waits for (then the request is kept)."""

    anonymised: int
    pending: int  # complaints still to be registered (anonymised once they are)
    open: int  # complaints the shop is still handling (unlinked once finished)
    owed: int  # messages still to be delivered to the customer
    remote_orders: tuple[str, ...]  # orders of complaints a remote backend keeps a copy of
    files: tuple[str, ...] = ()  # unique ids of the files erased (to drop from caches)

    @property
    def complete(self) -> bool:
        return not (self.pending or self.open or self.owed)


@dataclass(frozen=True, slots=True)
class WaitingErasure:
    """An erasure still under way: whose, asked when, and whether processes of the bot may
    still hold the customer in memory (it was asked from the CLI)."""

    user_id: int
    requested_at: float
    in_memory: bool


class Erasures:
    """Asks for and continues erasures; knows which files were erased."""

    def __init__(self, database: Database) -> None:
        self._db = database

    async def request(
        self, user_id: int, key: str, *, now: float, in_memory: bool = False
    ) -> Erasure:
        """The customer asked to be forgotten (now): erases what it can at once and records
        the request until the rest is done. `in_memory`: asked outside the bot (the CLI)."""
        return await self._erase(user_id, key, requested_at=now, now=now, in_memory=in_memory)

    async def resume(self, waiting: WaitingErasure, key: str, *, now: float) -> Erasure:
        """A round of an erasure under way: what has become possible since (a complaint
        registered, finished, a message delivered), of data from before the request only."""
        return await self._erase(
            waiting.user_id, key, requested_at=waiting.requested_at, now=now, in_memory=None
        )

    async def waiting(self) -> list[WaitingErasure]:
        """Erasures still under way, oldest first."""
        rows = await self._db.fetch_all(
            "SELECT user_id, requested_at, in_memory FROM erasures ORDER BY requested_at"
        )
        return [
            WaitingErasure(int(row["user_id"]), float(row["requested_at"]), bool(row["in_memory"]))
            for row in rows
        ]

    async def file_erased(self, unique_id: str) -> bool:
        """Whether the file belonged to an erased complaint (its links are then refused)."""
        row = await self._db.fetch_one(
            "SELECT 1 FROM erased_files WHERE unique_id = ?", [unique_id]
        )
        return row is not None

    async def _erase(
        self,
        user_id: int,
        key: str,
        *,
        requested_at: float,
        now: float,
        in_memory: bool | None,
    ) -> Erasure:
        """Erases the customer's data from before `requested_at`; `in_memory` None is a
        round (the request is already recorded), a bool a new request."""
        first = in_memory is not None
        pseudonym = Pseudonym.of(key, user_id)
        rows = await self._db.fetch_all(
            "SELECT *, " + FINISHED + " AS finished FROM complaints "  # noqa: S608
            "WHERE user_id = ? AND created_at <= ? ORDER BY id",
            [user_id, requested_at],
        )
        ids = [int(row["id"]) for row in rows]
        work = Anonymising()
        anonymised = pending = still_open = 0
        remote: list[str] = []
        for row in rows:
            if row["backend"] != "local" and row["state"] != "rejected":
                remote.append(str(row["order_id"]))
            if row["state"] == "pending":
                pending += 1
                continue
            finished = bool(row["finished"])
            if not finished:
                still_open += 1
            if finished or not row["anonymised_at"]:
                work.complaint(row, pseudonym, unlink=finished, now=now)
                anonymised += 1
        if ids:
            thread_files = await self._db.fetch_all(
                thread_files_sql(len(ids)), [*ids, requested_at]
            )
            work.threads(ids, thread_files, before=requested_at)
        if first:
            # What is the customer's now; after the request it is new data, and stays.
            work.statements += [
                Statement("DELETE FROM conversations WHERE user_id = ?", (user_id,)),
                Statement("DELETE FROM customers WHERE user_id = ?", (user_id,)),
                Statement("DELETE FROM follow_ups WHERE user_id = ?", (user_id,)),
            ]
        work.statements.append(
            Statement(
                "DELETE FROM deliveries WHERE state != 'pending' AND user_id = ? "
                "AND created_at <= ?",
                (user_id, requested_at),
            )
        )
        work.erased_files(now)
        owed_row = await self._db.fetch_one(
            "SELECT COUNT(*) FROM deliveries WHERE state = 'pending' AND user_id = ? "
            "AND created_at <= ?",
            [user_id, requested_at],
        )
        owed = int(owed_row[0]) if owed_row else 0
        erasure = Erasure(
            anonymised,
            pending,
            still_open,
            owed,
            tuple(dict.fromkeys(remote)),
            tuple(sorted(work.files)),
        )
        work.statements.append(self._bookkeeping(user_id, erasure, now, in_memory))
        await self._db.batch(*work.statements)
        if first or anonymised or erasure.complete:
            # A round that only waits (a complaint still pending or open, already
            # pseudonymised) changed nothing worth a checkpoint or a VACUUM every minute.
            await self._db.reclaim(ERASED_TABLES)
        return erasure

    def _bookkeeping(
        self, user_id: int, erasure: Erasure, now: float, in_memory: bool | None
    ) -> Statement:
        """The request's row: recorded (or moved to now) by a request that leaves work, or
        one the bot's processes must still see; deleted once nothing waits."""
        if in_memory is None:  # a round: the processes running it forget the customer
            if erasure.complete:
                return Statement("DELETE FROM erasures WHERE user_id = ?", (user_id,))
            return Statement("UPDATE erasures SET in_memory = 0 WHERE user_id = ?", (user_id,))
        if erasure.complete and not in_memory:
            return Statement("DELETE FROM erasures WHERE user_id = ?", (user_id,))
        return Statement(
            "INSERT INTO erasures (user_id, requested_at, in_memory) VALUES (?, ?, ?) "  # noqa: S608
            "ON CONFLICT (user_id) DO UPDATE SET requested_at = excluded.requested_at, "
            f"in_memory = {self._db.greatest}(erasures.in_memory, excluded.in_memory)",
            (user_id, now, int(in_memory)),
        )
