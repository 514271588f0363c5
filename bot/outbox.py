"""This module contains the OutboxWorker: it submits the ledger's pending complaints.

It runs beside the update handlers, so a slow or absent backend never delays a customer's
conversation. Each attempt's outcome is committed to the ledger before the customer is told.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING, Any

from bot.backends.base import (
    BackendBadResponse,
    BackendError,
    BackendRejected,
    BackendUnavailable,
    ComplaintBackend,
    Receipt,
    Submission,
)
from bot.conversation.delivery import ResultDelivery
from bot.storage.ledger import Ledger, LedgerEntry, LedgerState

if TYPE_CHECKING:
    from bot.operator import OperatorChat

logger = logging.getLogger(__name__)

# A first attempt slower than this shows the customer "Submitting…" in place of the summary.
ACKNOWLEDGE_AFTER_SECONDS = 1.0
# The worker looks at the ledger at least this often even when nothing woke it, so a row
# written by another process (an operator's retry) is not left waiting.
IDLE_POLL_SECONDS = 30.0


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Exponential backoff: base · 2^(attempt-1), capped, with ±20 % jitter."""

    base_seconds: float
    max_seconds: float
    give_up_seconds: float

    def delay(self, attempts_so_far: int, retry_after: float | None, rng: random.Random) -> float:
        """Seconds until the next attempt; never less than the backend's Retry-After."""
        exponent = min(attempts_so_far, 30)
        delay = min(self.max_seconds, self.base_seconds * 2**exponent)
        delay *= rng.uniform(0.8, 1.2)
        return float(max(delay, retry_after or 0.0))


class OutboxWorker:
    """Submits pending complaints with at most `max_in_flight` backend calls at once.

    A slot is held from the claim until the attempt's outcome is in the ledger; telling the
    customer (a Bot API round trip) happens after, so a slow Telegram never holds back the
    backend queue.
    """

    def __init__(
        self,
        ledger: Ledger,
        backend: ComplaintBackend,
        delivery: ResultDelivery,
        policy: RetryPolicy,
        *,
        clock: Callable[[], float],
        max_in_flight: int = 8,
        rng: random.Random | None = None,
        operator: OperatorChat | None = None,
    ) -> None:
        self._ledger = ledger
        self._backend = backend
        self._delivery = delivery
        self._operator = operator
        self._policy = policy
        self._clock = clock
        self._max_in_flight = max_in_flight
        self._rng = rng or random.Random()  # noqa: S311 - jitter, not security
        self._wake = asyncio.Event()
        # Complaints an attempt holds a backend slot for (their rows are still pending), and
        # every attempt task, which may go on to tell the customer after its slot is freed.
        self._claimed: set[int] = set()
        self._tasks: set[asyncio.Task[None]] = set()
        self._loop_task: asyncio.Task[None] | None = None
        self._stopping = False
        # One claimer at a time: two overlapping scans would both claim the same due row.
        self._claim_lock = asyncio.Lock()

    def wake(self) -> None:
        """Looks at the ledger now (a complaint was just confirmed)."""
        self._wake.set()

    async def start(self) -> None:
        """Starts the loop; whatever was pending when the bot stopped is picked up at once."""
        if self._loop_task is None:
            self._stopping = False
            self._loop_task = asyncio.create_task(self._run(), name="outbox-worker")

    async def stop(self, grace_seconds: float = 5.0) -> None:
        """Stops the loop, giving in-flight attempts a moment to finish.

        An attempt cut short stays pending in the ledger and is retried after the restart;
        adapters make that retry safe where their API allows it.
        """
        if self._loop_task is not None:
            # A flag as well as the wake-up: on Python 3.11 a cancellation that races a
            # completing wait can be swallowed, and the loop would run on.
            self._stopping = True
            self._wake.set()
            await asyncio.gather(self._loop_task, return_exceptions=True)
            self._loop_task = None
        tasks = list(self._tasks)
        if tasks:
            _, unfinished = await asyncio.wait(tasks, timeout=grace_seconds)
            for task in unfinished:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

    async def run_due(self) -> int:
        """Starts attempts for every due complaint (up to the in-flight cap); returns how many."""
        async with self._claim_lock:
            room = self._max_in_flight - len(self._claimed)
            if room <= 0:
                return 0
            due = await self._ledger.due(self._clock(), limit=room, exclude=set(self._claimed))
            for entry in due:
                self._claimed.add(entry.id)
                task = asyncio.create_task(self._attempt(entry), name=f"submit-{entry.id}")
                self._tasks.add(task)
                task.add_done_callback(partial(self._finished, entry.id))
            return len(due)

    async def drain(self) -> None:
        """Runs every due attempt to its end (tests and the CLI use this)."""
        while await self.run_due() or self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)

    @property
    def in_flight(self) -> int:
        """How many backend calls are under way."""
        return len(self._claimed)

    def _finished(self, entry_id: int, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        self._release(entry_id)  # in case the attempt ended without reaching its outcome

    def _release(self, entry_id: int) -> None:
        """Frees the backend slot once the attempt's outcome is in the ledger."""
        if entry_id in self._claimed:
            was_full = len(self._claimed) >= self._max_in_flight
            self._claimed.discard(entry_id)
            if was_full:
                self._wake.set()  # a complaint may be waiting for this slot

    async def _run(self) -> None:
        while not self._stopping:
            self._wake.clear()
            try:
                await self.run_due()
                timeout = await self._seconds_until_next()
            except Exception:
                logger.exception("The outbox worker could not read the ledger")
                timeout = IDLE_POLL_SECONDS
            if self._stopping:
                return
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(timeout):
                    await self._wake.wait()

    async def _seconds_until_next(self) -> float:
        if len(self._claimed) >= self._max_in_flight:
            return IDLE_POLL_SECONDS  # woken when a slot frees
        # The complaints under way are still pending and overdue: counting them would make the
        # loop spin while their backend calls run.
        next_at = await self._ledger.next_attempt_at(exclude=set(self._claimed))
        if next_at is None:
            return IDLE_POLL_SECONDS
        return min(IDLE_POLL_SECONDS, max(0.0, next_at - self._clock()))

    async def _attempt(self, entry: LedgerEntry) -> None:
        submission = Submission(
            key=entry.key,
            envelope=entry.envelope,
            attempt=entry.attempts + 1,
            checkpoint=entry.checkpoint,
            save_checkpoint=partial(self._ledger.save_checkpoint, entry.id),
        )
        try:
            receipt = await self._submit(entry, submission)
        except BackendRejected as err:
            logger.warning(
                "Complaint %s was rejected by %s: %s", entry.id, entry.backend, err.detail
            )
            await self._ledger.mark_ended(
                entry.id, LedgerState.REJECTED, err.detail, now=self._clock()
            )
            self._release(entry.id)
            await self._delivery.rejected(entry, err)
            if self._operator is not None:
                await _quietly(self._operator.rejected(entry, err), entry.id)
            return
        except (BackendUnavailable, BackendBadResponse) as err:
            await self._retry_later(entry, err)
            return
        except Exception as err:
            # A bug must not lose the complaint: it stays pending and is retried.
            logger.exception("Submitting complaint %s failed unexpectedly", entry.id)
            await self._retry_later(entry, BackendError(f"unexpected {type(err).__name__}"))
            return
        await self._ledger.mark_registered(entry.id, receipt, now=self._clock())
        self._release(entry.id)
        logger.info("Complaint %s registered as %s on %s", entry.id, receipt.number, entry.backend)
        await self._delivery.registered(entry, receipt)
        if self._operator is not None:
            await _quietly(self._operator.registered(entry, receipt), entry.id)

    async def _submit(self, entry: LedgerEntry, submission: Submission) -> Receipt:
        """The backend call; if the customer would wait longer than ACKNOWLEDGE_AFTER_SECONDS
        since Submit (queued, or a slow backend), they see "Submitting…" meanwhile."""
        if entry.attempts or entry.told_delayed:
            return await self._backend.submit(submission)
        patience = ACKNOWLEDGE_AFTER_SECONDS - (self._clock() - entry.created_at)
        if patience <= 0:
            await self._delivery.submitting(entry)
            return await self._backend.submit(submission)
        call = asyncio.ensure_future(self._backend.submit(submission))
        try:
            done, _ = await asyncio.wait({call}, timeout=patience)
            if not done:
                await self._delivery.submitting(entry)
            return await call
        finally:
            call.cancel()  # only if this attempt itself was cancelled (shutdown)

    async def _retry_later(self, entry: LedgerEntry, err: BackendError) -> None:
        now = self._clock()
        if now - entry.created_at >= self._policy.give_up_seconds:
            logger.error(
                "Complaint %s failed for good after %d attempts: %s",
                entry.id,
                entry.attempts + 1,
                err.detail,
            )
            await self._ledger.mark_ended(entry.id, LedgerState.FAILED, err.detail, now=now)
            self._release(entry.id)
            await self._delivery.failed(entry)
            if self._operator is not None:
                await _quietly(self._operator.failed(entry, err.detail), entry.id)
            return
        retry_after = err.retry_after if isinstance(err, BackendUnavailable) else None
        delay = self._policy.delay(entry.attempts, retry_after, self._rng)
        logger.warning(
            "Complaint %s not submitted (%s); next attempt in %.0f s", entry.id, err.detail, delay
        )
        await self._ledger.mark_retry(entry.id, err.detail, retry_at=now + delay, now=now)
        self._release(entry.id)
        self._wake.set()  # the loop's next wake-up may now be sooner
        if not entry.told_delayed:
            await self._ledger.mark_told_delayed(entry.id)
            await self._delivery.delayed(entry)


async def _quietly(post: Coroutine[Any, Any, None], entry_id: int) -> None:
    """Awaits an operator post; its failure is logged and never undoes the attempt's outcome."""
    try:
        await post
    except Exception:
        logger.exception("Telling the operators about complaint %s failed", entry_id)
