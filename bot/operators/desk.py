"""This module contains DeskChanges: operators move complaints of the embedded desk.

The desk lives in the bot's own database, so a change is written together with the
complaint's ledger status and the message that tells the customer: one transaction, told once,
whether the change comes from a button in the operator chat or from `python -m bot desk`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence

from bot.backends.base import ComplaintStatus, StatusCode
from bot.backends.local import LocalDeskBackend
from bot.metrics import Metrics
from bot.receipts import is_news
from bot.storage.database import Statement
from bot.storage.deliveries import DeliveryStore, NewDelivery
from bot.storage.ledger import Ledger
from bot.workers.announcements import Announcements
from bot.workers.delivery import DeliveryWorker

logger = logging.getLogger(__name__)

# A change races a status poll or another operator at most this often before giving way.
ATTEMPTS = 3


class DeskChanges:
    """Sets a desk complaint's status and note, and tells the customer."""

    def __init__(
        self,
        *,
        desk: LocalDeskBackend,
        ledger: Ledger,
        announcements: Announcements,
        deliveries: DeliveryStore,
        delivery: DeliveryWorker | None,
        clock: Callable[[], float],
        metrics: Metrics | None = None,
    ) -> None:
        self._desk = desk
        self._ledger = ledger
        self._announce = announcements
        self._deliveries = deliveries
        self._delivery = delivery
        self._clock = clock
        self._metrics = metrics

    async def set_status(self, number: str, status: StatusCode, note: str | None = None) -> bool:
        """Moves the complaint on (the note kept unless a new one is given); False if unknown.

        In the bot, the customer's message is sent at once; from the CLI, the running bot's
        delivery worker sends it within seconds.
        """
        for _ in range(ATTEMPTS):
            current_note = await self._desk.note_of(number)
            if current_note is None:
                return False
            new_note = current_note if note is None else note
            update = self._desk.status_change(number, status, new_note)
            entry = await self._ledger.find_by_number(self._desk.name, number)
            seen = ComplaintStatus(code=status, text=str(status), detail=new_note)
            if (
                entry is None
                or entry.receipt is None
                or not is_news(seen, told_code=entry.status_code, told_detail=entry.status_detail)
            ):
                return await self._owe(update, owed=())
            await self._announce.refresh(entry)
            change = self._ledger.status_changed(entry, seen, now=self._clock())
            if await self._owe(update, change, owed=self._announce.status_changed(entry, seen)):
                logger.info("Desk complaint %s is now %s", number, status)
                if self._metrics is not None:
                    self._metrics.status_changes.labels(str(status)).inc()
                return True
        logger.warning("Desk complaint %s kept changing; %s not recorded", number, status)
        return False

    async def _owe(self, *changes: Statement, owed: Sequence[NewDelivery]) -> bool:
        if self._delivery is not None:
            return await self._delivery.owe(*changes, owed=owed)
        written = await self._deliveries.write(*changes, owed=owed, now=self._clock(), due_at=0)
        return written is not None
