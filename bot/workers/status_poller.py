"""This module contains the StatusPoller: it asks backends what became of open complaints.

Each round pages through every open complaint not checked for an interval, with a few backend
calls at once. A change is recorded with a compare-and-set on the complaint's status version,
together with the message that tells the customer, so whoever sees a change first (this round,
a /status, an operator's button, another process) records it, and it is told once.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from bot.backends.base import BackendError, ComplaintBackend, ComplaintStatus
from bot.metrics import Metrics
from bot.receipts import is_news
from bot.storage.leases import Leases
from bot.storage.ledger import Ledger, LedgerEntry
from bot.workers.announcements import Announcements
from bot.workers.delivery import DeliveryWorker

logger = logging.getLogger(__name__)

# Complaints read per page, and backend calls under way at once.
POLL_PAGE = 200
POLL_CONCURRENCY = 4
# One process runs a round at a time; the lease is renewed with every page.
ROUND_LEASE = "status-poll"
ROUND_LEASE_SECONDS = 600.0


class StatusPoller:
    """Checks open complaints with the backend and tells customers about changes."""

    def __init__(
        self,
        *,
        ledger: Ledger,
        leases: Leases,
        backend: ComplaintBackend,
        announcements: Announcements,
        delivery: DeliveryWorker,
        interval_seconds: float,
        clock: Callable[[], float],
        metrics: Metrics | None = None,
    ) -> None:
        self._ledger = ledger
        self._metrics = metrics
        self._leases = leases
        self._backend = backend
        self._announce = announcements
        self._delivery = delivery
        self._interval = interval_seconds
        self._clock = clock
        self._running = asyncio.Lock()

    async def poll(self) -> int:
        """One round over every complaint not checked for an interval; returns how many changed.

        Skipped while this process's previous round, or another process's round, still runs.
        """
        if self._running.locked():
            return 0
        async with self._running:
            holder = self._delivery.holder
            if not await self._hold_round(holder):
                return 0
            try:
                return await self._round()
            finally:
                await self._leases.release(ROUND_LEASE, holder)

    async def _hold_round(self, holder: str) -> bool:
        now = self._clock()
        return await self._leases.acquire(
            ROUND_LEASE, holder, now=now, until=now + ROUND_LEASE_SECONDS
        )

    async def _round(self) -> int:
        cutoff = self._clock() - self._interval * 0.9
        changed, after = 0, 0
        while page := await self._ledger.to_poll(
            self._backend.name, checked_before=cutoff, limit=POLL_PAGE, after_id=after
        ):
            after = page[-1].id
            changed += await self._check_page(page)
            await self._hold_round(self._delivery.holder)
        return changed

    async def _check_page(self, page: list[LedgerEntry]) -> int:
        """Checks a page with POLL_CONCURRENCY checkers taking turns at its entries; returns how
        many changed. (A task per entry waiting on a semaphore would hold the whole page's
        worth of tasks and frames at once.)"""
        entries = iter(page)

        async def checker() -> int:
            return sum([await self._check(entry) for entry in entries])

        checkers = min(POLL_CONCURRENCY, len(page))
        return sum(await asyncio.gather(*(checker() for _ in range(checkers))))

    async def _check(self, entry: LedgerEntry) -> bool:
        assert entry.receipt is not None
        try:
            status = await self._backend.status(entry.receipt, entry.envelope)
        except BackendError as err:
            logger.info("Status of complaint %s not available: %s", entry.id, err.detail)
            await self._ledger.mark_checked(entry.id, now=self._clock())
            return False
        if not changed(entry, status):
            await self._ledger.mark_checked(entry.id, now=self._clock())
            return False
        return await self.record(entry, status)

    async def record(self, entry: LedgerEntry, status: ComplaintStatus) -> bool:
        """Records a change seen in `entry` and tells the customer; False when another change
        was recorded since `entry` was read (whoever recorded it told the customer)."""
        await self._announce.refresh(entry)
        change = self._ledger.status_changed(entry, status, now=self._clock())
        if not await self._delivery.owe(change, owed=self._announce.status_changed(entry, status)):
            logger.info("Complaint %s changed meanwhile; this round's view is dropped", entry.id)
            return False
        logger.info("Complaint %s is now %s", entry.id, status.code)
        if self._metrics is not None:
            self._metrics.status_changes.labels(str(status.code)).inc()
        return True


def changed(entry: LedgerEntry, status: ComplaintStatus) -> bool:
    """Whether the customer would see something new (a new status, or a new shared message)."""
    return is_news(status, told_code=entry.status_code, told_detail=entry.status_detail)
