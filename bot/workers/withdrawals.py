"""This module contains the WithdrawalWorker: it tells the backend of customers' withdrawals.

Like the outbox, it works from the database: a withdrawal is claimed before the backend is
told, and its outcome is written with the messages it owes (the customer's, the operators')
in one transaction, so a restart or a second instance never tells it again once recorded. An
answer lost on the way is asked again: setting the same status twice does no harm.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Callable, Sequence

from bot.backends.base import BackendError, BackendRejected, ComplaintBackend, StatusCode
from bot.storage.database import Statement
from bot.storage.deliveries import NewDelivery
from bot.storage.ledger import Ledger, LedgerEntry
from bot.storage.withdrawals import Withdrawal, WithdrawalState, WithdrawalStore
from bot.workers.announcements import Announcements
from bot.workers.backoff import RetryPolicy
from bot.workers.claims import CLAIM_SECONDS
from bot.workers.delivery import DeliveryWorker
from bot.workers.loop import ClaimingWorker

logger = logging.getLogger(__name__)

IDLE_POLL_SECONDS = 30.0
MAX_IN_FLIGHT = 8
# What the ledger says of a withdrawn complaint (its status code is closed: final).
WITHDRAWN = "withdrawn"


class WithdrawalWorker(ClaimingWorker[Withdrawal]):
    """Tells the backend of pending withdrawals, each once its outcome is recorded."""

    def __init__(
        self,
        store: WithdrawalStore,
        ledger: Ledger,
        backend: ComplaintBackend,
        delivery: DeliveryWorker,
        announcements: Announcements,
        policy: RetryPolicy,
        *,
        clock: Callable[[], float],
        claim_seconds: float = CLAIM_SECONDS,
        rng: random.Random | None = None,
    ) -> None:
        super().__init__(
            clock=clock,
            holder=delivery.holder,
            max_in_flight=MAX_IN_FLIGHT,
            idle_poll_seconds=IDLE_POLL_SECONDS,
            name="withdrawals",
            claim_seconds=claim_seconds,
        )
        self._store = store
        self._ledger = ledger
        self._backend = backend
        self._delivery = delivery
        self._announce = announcements
        self._policy = policy
        self._rng = rng or random.Random()  # noqa: S311 - jitter, not security

    async def _claim(self, limit: int, *, now: float, until: float) -> list[Withdrawal]:
        return await self._store.claim_due(
            self._backend.name, now=now, limit=limit, holder=self.holder, until=until
        )

    async def _renew_claims(self, until: float) -> None:
        await self._store.renew_claims(self.holder, until=until)

    async def _release_claims(self) -> None:
        await self._store.release_claims(self.holder)

    async def _next_due(self) -> float | None:
        return await self._store.next_attempt_at(self._backend.name)

    async def _work(self, work: Withdrawal) -> None:
        entry = await self._ledger.get(work.id)
        if entry is None or entry.receipt is None:
            logger.error("Withdrawal of complaint %s: the complaint cannot be read", work.id)
            await self._record(work, WithdrawalState.FAILED, "complaint not readable", [])
            return
        await self._announce.refresh(entry)
        try:
            told = await self._backend.withdraw(entry.receipt, entry.envelope)
        except BackendRejected as err:
            logger.warning(
                "%s refused the withdrawal of complaint %s: %s", entry.backend, entry.id, err.detail
            )
            owed = self._announce.withdrawal(entry, "failed", err.detail)
            await self._record(work, WithdrawalState.FAILED, err.detail, owed)
            return
        except BackendError as err:
            await self._retry_later(work, entry, err.detail)
            return
        except Exception as err:
            logger.exception("Withdrawing complaint %s failed unexpectedly", entry.id)
            await self._retry_later(work, entry, f"unexpected {type(err).__name__}")
            return
        if told:
            logger.info("Complaint %s withdrawn on %s", entry.id, entry.backend)
            closed = self._closed(entry)
            owed = self._announce.withdrawal(entry, "done")
            await self._record(work, WithdrawalState.DONE, "", owed, closed)
        else:
            logger.info("Withdrawal of complaint %s handed to the operators", entry.id)
            owed = self._announce.withdrawal(entry, "handed_over")
            await self._record(work, WithdrawalState.HANDED_OVER, "", owed)

    def _closed(self, entry: LedgerEntry) -> Statement:
        """The ledger's status of a withdrawn complaint: closed, so nobody polls it again (a
        new version, so a poll that read the old one records and tells nothing)."""
        now = self._clock()
        return Statement(
            "UPDATE complaints SET status_code = ?, status_text = ?, status_detail = '', "
            "status_checked_at = ?, updated_at = ?, status_version = status_version + 1 "
            "WHERE id = ? RETURNING id",
            (str(StatusCode.CLOSED), WITHDRAWN, now, now, entry.id),
        )

    async def _retry_later(self, work: Withdrawal, entry: LedgerEntry, detail: str) -> None:
        now = self._clock()
        if self._policy.gives_up(work.requested_at, now):
            logger.error("Withdrawal of complaint %s given up: %s", entry.id, detail)
            owed = self._announce.withdrawal(entry, "failed", detail)
            await self._record(work, WithdrawalState.FAILED, detail, owed)
            return
        delay = self._policy.delay(work.attempts, None, self._rng)
        logger.warning(
            "Withdrawal of complaint %s not told (%s); next attempt in %.0f s",
            entry.id,
            detail,
            delay,
        )
        retry = self._store.retry(
            work.id, detail, retry_at=now + delay, now=now, holder=self.holder
        )
        await self._write(work, retry, owed=[])
        self._wake.set()

    async def _record(
        self,
        work: Withdrawal,
        state: WithdrawalState,
        detail: str,
        owed: Sequence[NewDelivery],
        *also: Statement,
    ) -> None:
        ended = self._store.ended(work.id, state, detail, now=self._clock(), holder=self.holder)
        await self._write(work, ended, *also, owed=owed)

    async def _write(
        self, work: Withdrawal, *changes: Statement, owed: Sequence[NewDelivery]
    ) -> None:
        """Writes the outcome (guarded by the claim) and sends what it owes."""
        claimed = await self._delivery.write(*changes, owed=owed)
        self.free(work.id)
        if claimed is None:
            logger.warning("Withdrawal of complaint %s was claimed elsewhere meanwhile", work.id)
            return
        await self._delivery.deliver_all(claimed)
