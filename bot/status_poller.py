"""This module contains the StatusPoller: it asks backends what became of open complaints.

When a status changes, the ledger is updated first and the customer told second, so a
restart or a failed message can never make the same change reach the customer twice.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from telegram import Bot
from telegram.constants import ParseMode
from telegram.error import Forbidden, TelegramError

from bot.backends.base import BackendError, ComplaintBackend, ComplaintStatus
from bot.conversation import render
from bot.conversation.keyboards import result_keyboard
from bot.i18n import Translator
from bot.storage.customers import CustomerPreferences
from bot.storage.ledger import Ledger, LedgerEntry

logger = logging.getLogger(__name__)

# Complaints looked at per run, and backend calls under way at once.
POLL_BATCH = 200
POLL_CONCURRENCY = 4


class StatusPoller:
    """Checks open complaints with the backend and tells customers about changes."""

    def __init__(
        self,
        *,
        ledger: Ledger,
        backend: ComplaintBackend,
        preferences: CustomerPreferences,
        translator: Translator,
        bot: Bot,
        interval_seconds: float,
        clock: Callable[[], float],
    ) -> None:
        self._ledger = ledger
        self._backend = backend
        self._preferences = preferences
        self._translator = translator
        self._bot = bot
        self._interval = interval_seconds
        self._clock = clock
        self._running = asyncio.Lock()

    async def poll(self) -> int:
        """One round over complaints not checked for an interval; returns how many changed."""
        if self._running.locked():
            return 0  # the previous round is still going: skip rather than pile up
        async with self._running:
            entries = await self._ledger.to_poll(
                self._backend.name,
                checked_before=self._clock() - self._interval * 0.9,
                limit=POLL_BATCH,
            )
            gate = asyncio.Semaphore(POLL_CONCURRENCY)

            async def check(entry: LedgerEntry) -> bool:
                async with gate:
                    return await self._check(entry)

            results = await asyncio.gather(*(check(entry) for entry in entries))
            return sum(results)

    async def check_now(self, number: str) -> bool:
        """Checks one complaint at once (an operator just changed it); True if it changed."""
        entry = await self._ledger.find_by_number(self._backend.name, number)
        return entry is not None and entry.receipt is not None and await self._check(entry)

    async def _check(self, entry: LedgerEntry) -> bool:
        assert entry.receipt is not None
        try:
            status = await self._backend.status(entry.receipt, entry.envelope)
        except BackendError as err:
            logger.info("Status of complaint %s not available: %s", entry.id, err.detail)
            await self._ledger.mark_checked(entry.id, now=self._clock())
            return False
        if not _changed(entry, status):
            await self._ledger.mark_checked(entry.id, now=self._clock())
            return False
        await self._ledger.set_status(
            entry.id, status.code, status.text, status.detail, now=self._clock()
        )
        logger.info("Complaint %s is now %s", entry.id, status.code)
        if self._preferences.get(entry.user_id).notifications:
            await self._tell(entry, status)
        return True

    async def _tell(self, entry: LedgerEntry, status: ComplaintStatus) -> None:
        t = self._translator.for_language(
            self._preferences.get(entry.user_id).language or entry.language
        )
        lines = [
            t(
                "status.changed",
                number=entry.complaint_number or "",
                order_id=entry.order_id,
                status=render.status_word(t, status.code),
            )
        ]
        if status.detail:
            lines.append(t("status.changed_detail", detail=render.shorten(status.detail, 1500)))
        try:
            await self._bot.send_message(
                entry.chat_id,
                "\n\n".join(lines),
                parse_mode=ParseMode.HTML,
                reply_markup=result_keyboard(t, entry.id),
            )
        except Forbidden:
            logger.info("Customer of complaint %s has blocked the bot", entry.id)
        except TelegramError as err:
            logger.warning("Could not tell complaint %s's customer of a change: %s", entry.id, err)


def _changed(entry: LedgerEntry, status: ComplaintStatus) -> bool:
    """Whether the customer would see something new (a new status, or a new shared message)."""
    return (entry.status_code or "") != status.code or (
        bool(status.detail) and status.detail != entry.status_detail
    )
