"""This module contains the UpdateLog: which of Telegram's updates were already processed.

Telegram delivers an update again when it did not learn that we took it (a webhook answer
that came late or got lost, a restart before the polling offset was confirmed). An update
that changes a conversation is recorded in the same transaction as that change, so a
redelivery finds it and is dropped; one that changes nothing (/help, /mycomplaints) is
recorded within a second, and within this process at once.

The statement recording an update is a guard: if another process sharing the database (two
instances on one SQLite file during a restart, say) has processed the update already, the
step's whole transaction is rolled back and AlreadyProcessed is raised, so the step and what
it owes the customer happen once, whichever process got the update first.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import OrderedDict
from collections.abc import Callable

from bot.storage.database import Database, Statement

logger = logging.getLogger(__name__)

# Update ids remembered in memory (a redelivery comes minutes after the first delivery at most).
REMEMBERED = 10_000
# Updates that changed nothing are written this often, together.
FLUSH_SECONDS = 1.0
# Telegram keeps an update for 24 hours; rows older than this are pruned.
KEEP_SECONDS = 48 * 3600.0


class AlreadyProcessed(Exception):
    """Another process has recorded this update: its step is not applied again."""


class UpdateLog:
    """Reads and writes `processed_updates`, with the recent ids in memory."""

    def __init__(self, database: Database, clock: Callable[[], float]) -> None:
        self._db = database
        self._clock = clock
        self._recent: OrderedDict[int, None] = OrderedDict()
        self._unsaved: list[int] = []
        self._flush: asyncio.Task[None] | None = None
        # Updates up to this id may have been processed before this process started.
        self._high_water = 0

    async def load(self) -> None:
        """Reads where the updates processed before this start end."""
        row = await self._db.fetch_one("SELECT MAX(update_id) FROM processed_updates")
        self._high_water = int(row[0]) if row is not None and row[0] is not None else 0

    async def processed(self, update_id: int) -> bool:
        """Whether the update was processed already (this is a redelivery)."""
        if update_id in self._recent:
            return True
        if update_id > self._high_water and not self._db.shared:
            # Newer than anything before this start, and not seen since; on a shared database
            # another instance may have processed it.
            return False
        row = await self._db.fetch_one(
            "SELECT 1 FROM processed_updates WHERE update_id = ?", [update_id]
        )
        return row is not None

    def statement(self, update_id: int) -> Statement:
        """The statement that records the update, for the transaction of the step it caused:
        a guard (nothing of the transaction is written if the update was recorded before),
        unless this process recorded it already (a second write of the same step)."""
        return Statement(
            "INSERT INTO processed_updates (update_id, processed_at) VALUES (?, ?) "
            "ON CONFLICT (update_id) DO NOTHING RETURNING update_id",
            (update_id, self._clock()),
            required=update_id not in self._recent,
        )

    def recorded(self, update_id: int) -> None:
        """The update was recorded with its step."""
        self._remember(update_id)

    def was_recorded(self, update_id: int) -> bool:
        """Whether this process recorded the update already."""
        return update_id in self._recent

    async def record_changeless(self, update_id: int) -> None:
        """Records an update that changed nothing: with others within FLUSH_SECONDS, or at once
        on a shared database (another instance may be handed the same update next)."""
        self._remember(update_id)
        if self._db.shared:
            await self._db.batch(self.statement(update_id))
            return
        self._unsaved.append(update_id)
        if self._flush is None:
            self._flush = asyncio.create_task(self._flush_later(), name="update-log-flush")

    async def close(self) -> None:
        """Writes what is still unsaved (a clean stop)."""
        if self._flush is not None:
            self._flush.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._flush
            self._flush = None
        await self._write_unsaved()

    async def prune(self) -> int:
        """Forgets updates Telegram can no longer deliver again; returns how many."""
        return await self._db.execute(
            "DELETE FROM processed_updates WHERE processed_at < ?", [self._clock() - KEEP_SECONDS]
        )

    def _remember(self, update_id: int) -> None:
        self._recent[update_id] = None
        if len(self._recent) > REMEMBERED:
            self._recent.popitem(last=False)

    async def _flush_later(self) -> None:
        try:
            await asyncio.sleep(FLUSH_SECONDS)
            await self._write_unsaved()
        except Exception:
            logger.warning("Could not record processed updates", exc_info=True)
        finally:
            self._flush = None

    async def _write_unsaved(self) -> None:
        ids, self._unsaved = self._unsaved, []
        if ids:
            await self._db.batch(*(self.statement(update_id) for update_id in ids))
