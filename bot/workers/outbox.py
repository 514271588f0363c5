"""This module contains the OutboxWorker: it submits the ledger's pending complaints.

It runs beside the update handlers, so a slow or absent backend never delays a customer's
conversation. A complaint is claimed in the database before its backend call, so any number
of processes on one database submit it once. Each attempt's outcome is written together with
the messages it owes (the card, "saved, will be registered", a rejection), which the delivery
worker then sends until Telegram takes them.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Callable, Sequence
from functools import partial

from bot.backends.base import (
    BackendBadResponse,
    BackendError,
    BackendOutcomeUnknown,
    BackendRejected,
    BackendUnavailable,
    ComplaintBackend,
    Receipt,
    Submission,
)
from bot.storage.database import Statement
from bot.storage.deliveries import NewDelivery
from bot.storage.ledger import Ledger, LedgerEntry, LedgerState
from bot.storage.unknown_outcomes import ADOPTED_KEY, UnknownOutcomes
from bot.workers.announcements import Announcements
from bot.workers.backoff import RetryPolicy
from bot.workers.claims import CLAIM_SECONDS
from bot.workers.delivery import DeliveryWorker
from bot.workers.loop import ClaimingWorker

logger = logging.getLogger(__name__)

# A first attempt slower than this shows the customer "Submitting…" in place of the summary.
ACKNOWLEDGE_AFTER_SECONDS = 1.0
# The worker looks at the ledger at least this often even when nothing woke it, so a row
# written by another process (an operator's retry) is not left waiting.
IDLE_POLL_SECONDS = 30.0
# An outcome the backend gave must reach the ledger: its write is retried this long at most
# between tries (the claim is kept meanwhile, so nobody submits the complaint again).
RECORD_RETRY_MAX_SECONDS = 30.0

__all__ = ["ACKNOWLEDGE_AFTER_SECONDS", "OutboxWorker", "RetryPolicy"]


class OutboxWorker(ClaimingWorker[LedgerEntry]):
    """Submits pending complaints with at most `max_in_flight` backend calls at once.

    A slot is held from the claim until the attempt's outcome is in the ledger; telling the
    customer (a Bot API round trip) happens after, so a slow Telegram never holds back the
    backend queue. An attempt cut short by a stop stays pending, its claim released so that the
    next start (or another process) retries it at once; adapters make that retry safe where
    their API allows it.
    """

    def __init__(
        self,
        ledger: Ledger,
        backend: ComplaintBackend,
        delivery: DeliveryWorker,
        announcements: Announcements,
        policy: RetryPolicy,
        *,
        clock: Callable[[], float],
        max_in_flight: int = 8,
        rng: random.Random | None = None,
        claim_seconds: float = CLAIM_SECONDS,
    ) -> None:
        super().__init__(
            clock=clock,
            holder=delivery.holder,
            max_in_flight=max_in_flight,
            idle_poll_seconds=IDLE_POLL_SECONDS,
            name="outbox",
            claim_seconds=claim_seconds,
        )
        self._ledger = ledger
        self._backend = backend
        self._delivery = delivery
        self._announce = announcements
        self._policy = policy
        self._rng = rng or random.Random()  # noqa: S311 - jitter, not security

    async def _claim(self, limit: int, *, now: float, until: float) -> list[LedgerEntry]:
        due, quarantined = await self._ledger.claim_due(
            self._backend.name, now=now, limit=limit, holder=self.holder, until=until
        )
        for row in quarantined:
            await self._delivery.owe(owed=self._announce.quarantined(row))
        return due

    async def _work(self, work: LedgerEntry) -> None:
        await self._attempt(work)

    async def _renew_claims(self, until: float) -> None:
        await self._ledger.renew_claims(self.holder, until=until)

    async def _release_claims(self) -> None:
        await self._ledger.release_claims(self.holder)

    async def _next_due(self) -> float | None:
        return await self._ledger.next_attempt_at(self._backend.name)

    async def _attempt(self, entry: LedgerEntry) -> None:
        await self._announce.refresh(entry)
        adopted = entry.checkpoint.get(ADOPTED_KEY)
        if adopted:
            # An operator found it filed in the backend (`complaints adopt`): no call.
            receipt = Receipt(number=adopted, reference=adopted, state="adopted")
            registered = self._ledger.registered(
                entry.id, receipt, now=self._clock(), holder=self.holder
            )
            await self._record(entry, registered, self._announce.registered(entry, receipt))
            logger.info("Complaint %s adopted as %s on %s", entry.id, adopted, entry.backend)
            return
        submission = Submission(
            key=entry.key,
            envelope=entry.envelope,
            attempt=entry.attempts + 1,
            confirmed_at=entry.created_at,
            checkpoint=entry.checkpoint,
            save_checkpoint=partial(self._ledger.save_checkpoint, entry.id),
        )
        try:
            receipt = await self._submit(entry, submission)
        except BackendRejected as err:
            logger.warning(
                "Complaint %s was rejected by %s: %s", entry.id, entry.backend, err.detail
            )
            ended = self._ledger.ended(
                entry.id, LedgerState.REJECTED, err.detail, now=self._clock(), holder=self.holder
            )
            await self._record(entry, ended, self._announce.rejected(entry, err))
            return
        except BackendOutcomeUnknown as err:
            # Calling again could file it twice: set aside until an operator has looked.
            logger.error(
                "Complaint %s may or may not be filed with %s (%s); set aside for an operator "
                "(python -m bot complaints --unknown)",
                entry.id,
                entry.backend,
                err.detail,
            )
            aside = UnknownOutcomes.set_aside(
                entry.id, err.detail, now=self._clock(), holder=self.holder
            )
            await self._record(entry, aside, self._announce.outcome_unknown(entry, err.detail))
            return
        except (BackendUnavailable, BackendBadResponse) as err:
            await self._retry_later(entry, err)
            return
        except Exception as err:
            # A bug must not lose the complaint: it stays pending and is retried.
            logger.exception("Submitting complaint %s failed unexpectedly", entry.id)
            await self._retry_later(entry, BackendError(f"unexpected {type(err).__name__}"))
            return
        registered = self._ledger.registered(
            entry.id, receipt, now=self._clock(), holder=self.holder
        )
        if await self._record(entry, registered, self._announce.registered(entry, receipt)):
            logger.info(
                "Complaint %s registered as %s on %s", entry.id, receipt.number, entry.backend
            )

    async def _record(
        self, entry: LedgerEntry, change: Statement, owed: Sequence[NewDelivery]
    ) -> bool:
        """Writes the attempt's outcome with the messages it owes, then frees the slot and sends
        them. The backend has answered, so a failing write is tried again (holding the claim)
        rather than letting the complaint fall due and be filed a second time."""
        pause = 1.0
        while True:
            try:
                claimed = await self._delivery.write(change, owed=owed)
                break
            except Exception:
                logger.exception(
                    "Could not record the outcome of complaint %s; trying again in %.0f s",
                    entry.id,
                    pause,
                )
                await asyncio.sleep(pause)
                pause = min(pause * 2, RECORD_RETRY_MAX_SECONDS)
        self.free(entry.id)
        if claimed is None:
            logger.warning(
                "Complaint %s was claimed by another process meanwhile; this attempt's outcome "
                "is not recorded",
                entry.id,
            )
            return False
        await self._delivery.deliver_all(claimed)
        return True

    async def _submit(self, entry: LedgerEntry, submission: Submission) -> Receipt:
        """The backend call; if it takes longer than ACKNOWLEDGE_AFTER_SECONDS, the customer
        sees "Submitting…" meanwhile."""
        if entry.attempts or entry.told_delayed:
            return await self._backend.submit(submission)
        # Counted from the call, not from Submit: time in our own queue (a burst, a restart) is
        # no reason for "Submitting…"; a backend that answers within it replaces the summary
        # with the card at once, one Bot API call instead of two.
        call = asyncio.ensure_future(self._backend.submit(submission))
        try:
            done, _ = await asyncio.wait({call}, timeout=ACKNOWLEDGE_AFTER_SECONDS)
            if not done:
                await self._tell_submitting(entry)
            return await call
        finally:
            call.cancel()  # only if this attempt itself was cancelled (shutdown)

    async def _tell_submitting(self, entry: LedgerEntry) -> None:
        """ "Submitting…", while the call runs. A database failing here must not cut the call
        short: its outcome would be unknown (the backend may have filed it), and the next
        attempt would file it again; the notice is only a courtesy."""
        try:
            await self._delivery.owe(owed=self._announce.submitting(entry))
        except Exception:
            logger.exception(
                "Could not tell the customer complaint %s is being submitted; the call goes on",
                entry.id,
            )

    async def _retry_later(self, entry: LedgerEntry, err: BackendError) -> None:
        now = self._clock()
        if self._policy.gives_up(entry.created_at, now):
            logger.error(
                "Complaint %s failed for good after %d attempts: %s",
                entry.id,
                entry.attempts + 1,
                err.detail,
            )
            ended = self._ledger.ended(
                entry.id, LedgerState.FAILED, err.detail, now=now, holder=self.holder
            )
            await self._record(entry, ended, self._announce.failed(entry, err.detail))
            return
        retry_after = err.retry_after if isinstance(err, BackendUnavailable) else None
        delay = self._policy.delay(entry.attempts, retry_after, self._rng)
        logger.warning(
            "Complaint %s not submitted (%s); next attempt in %.0f s", entry.id, err.detail, delay
        )
        retry = self._ledger.retry(
            entry.id,
            err.detail,
            retry_at=now + delay,
            now=now,
            holder=self.holder,
            told_delayed=True,
        )
        owed = [] if entry.told_delayed else self._announce.delayed(entry)
        await self._record(entry, retry, owed)
        self._wake.set()  # the loop's next wake-up may now be sooner
