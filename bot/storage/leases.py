"""This module contains Leases: named claims on background rounds, shared through the database.

Any number of processes may run on one database; a round (the status poll, the idle sweep) is
run by whichever process holds its lease. A lease ends when its holder releases it or when its
time runs out (the holder died), and another process takes it.
"""

from __future__ import annotations

from bot.storage.database import Database, Statement


class Leases:
    """Reads and writes the `leases` table."""

    def __init__(self, database: Database) -> None:
        self._db = database

    async def acquire(self, name: str, holder: str, *, now: float, until: float) -> bool:
        """Takes (or extends) the lease `name` for `holder` until `until`; False while another
        holder's lease runs."""
        rows = await self._db.batch(
            Statement(
                """
                INSERT INTO leases (name, holder, until) VALUES (?, ?, ?)
                ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, until = excluded.until
                WHERE leases.until < ? OR leases.holder = excluded.holder
                RETURNING holder
                """,
                (name, holder, until, now),
                required=True,
            )
        )
        return rows is not None

    async def release(self, name: str, holder: str) -> None:
        """Ends `holder`'s lease `name` at once (nothing happens if another holds it)."""
        await self._db.execute(
            "UPDATE leases SET until = 0 WHERE name = ? AND holder = ?", [name, holder]
        )

    async def holder(self, name: str, *, now: float) -> str | None:
        """Who holds the lease `name` now, if anybody."""
        row = await self._db.fetch_one(
            "SELECT holder FROM leases WHERE name = ? AND until >= ?", [name, now]
        )
        return str(row["holder"]) if row is not None else None
