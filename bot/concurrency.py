"""This module contains the per-customer ordering of updates and of outgoing results.

PTB's default processes one update at a time (every customer waits for every other); plain
`concurrent_updates=True` lets a customer's next message overtake the previous one. Here each
customer's updates run strictly in order, and different customers run concurrently. An update
takes one of the shared processing slots only once it is its customer's turn, so a customer
whose updates queue behind a slow one holds one slot, never everyone's. A redelivered update
(Telegram sends one again when it did not learn we took it) is dropped.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine
from contextlib import AbstractAsyncContextManager, asynccontextmanager, nullcontext
from typing import Any

from telegram import Update
from telegram.ext import BaseUpdateProcessor

from bot.metrics import Metrics, update_kind
from bot.poll_pacing import PollPacer
from bot.storage.updates import UpdateLog

logger = logging.getLogger(__name__)

CustomerTurns = Callable[[str], AbstractAsyncContextManager[None]]

# Updates processed at once across all customers (each customer has at most one of them).
MAX_CONCURRENT_UPDATES = 1024
# PTB's own limit is taken before an update's customer is known: it must never be the one
# that waits, so it is set beyond reach and the real limit applies after the customer's turn.
_UNLIMITED = 2**31 - 1


class _Slot:
    __slots__ = ("lock", "owner", "users")

    def __init__(self) -> None:
        self.lock = asyncio.Lock()
        self.owner: asyncio.Task[Any] | None = None
        self.users = 0


class CustomerLocks:
    """One lock per customer, created on first use and dropped when nobody holds or awaits it.

    A task that holds a customer's lock may take it again (an operator who files a complaint
    and then moves it with a desk button: the button's handler holds their lock, and the
    message it owes them takes it too).
    """

    def __init__(self) -> None:
        self._slots: dict[int, _Slot] = {}

    @asynccontextmanager
    async def hold(self, customer_id: int) -> AsyncIterator[None]:
        """Runs the block while no other task runs a block of the same customer."""
        slot = self._slots.get(customer_id)
        task = asyncio.current_task()
        if slot is not None and task is not None and slot.owner is task:
            yield
            return
        if slot is None:
            slot = self._slots[customer_id] = _Slot()
        slot.users += 1
        try:
            async with slot.lock:
                slot.owner = task
                try:
                    yield
                finally:
                    slot.owner = None
        finally:
            slot.users -= 1
            if slot.users == 0:
                del self._slots[customer_id]

    def __len__(self) -> int:
        return len(self._slots)


def customer_key(update: object) -> int | None:
    """The id whose updates must stay in order: the user's, else the chat's."""
    if not isinstance(update, Update):
        return None
    if update.effective_user is not None:
        return update.effective_user.id
    return update.effective_chat.id if update.effective_chat is not None else None


class PerCustomerUpdateProcessor(BaseUpdateProcessor):
    """Processes each customer's updates in order and once, and different customers
    concurrently, at most `max_concurrent_updates` at a time."""

    __slots__ = (
        "_across",
        "_before",
        "_counted",
        "_metrics",
        "_pacer",
        "_slots",
        "locks",
        "updates",
    )

    def __init__(
        self,
        locks: CustomerLocks,
        updates: UpdateLog,
        max_concurrent_updates: int = MAX_CONCURRENT_UPDATES,
        *,
        across_instances: CustomerTurns | None = None,
        before: Callable[[int], Awaitable[object]] | None = None,
        metrics: Metrics | None = None,
        pacer: PollPacer | None = None,
    ) -> None:
        super().__init__(_UNLIMITED)
        self.locks = locks
        self.updates = updates
        self._slots = asyncio.Semaphore(max_concurrent_updates)
        # Webhook instances sharing a database: the customer's turn is also taken there.
        self._across = across_instances
        # What to read afresh before a customer's update (their choices, on a shared database).
        self._before = before
        self._metrics = metrics
        self._counted: dict[str, tuple[Any, Any]] = {}
        # Told when an update is done, so polling knows how many are still in hand.
        self._pacer = pacer

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        """Processes the update (`_process`), counted and timed by kind for /metrics."""
        try:
            if self._metrics is None:
                await self._process(update, coroutine)
                return
            kind = update_kind(update)
            started = time.perf_counter()
            try:
                await self._process(update, coroutine)
            finally:
                counted = self._counted.get(kind)
                if counted is None:  # labels() looks its child up anew on every call
                    metrics = self._metrics
                    counted = (metrics.updates.labels(kind), metrics.update_seconds.labels(kind))
                    self._counted[kind] = counted
                counted[0].inc()
                counted[1].observe(time.perf_counter() - started)
        finally:
            if self._pacer is not None:
                self._pacer.processed()

    async def _process(self, update: object, coroutine: Awaitable[Any]) -> None:
        """Waits for the customer's turn, then for a slot, then processes the update once."""
        key = customer_key(update)
        if key is not None and self._pacer is not None:
            self._pacer.customer(key)
        if key is None or not isinstance(update, Update):
            async with self._slots:
                await coroutine
            return
        async with self.locks.hold(key), self._turn_across_instances(key):
            if self._before is not None:
                await self._before(key)
            if await self.updates.processed(update.update_id):
                logger.info(
                    "Update %s came again and was processed already; dropped", update.update_id
                )
                if isinstance(coroutine, Coroutine):
                    coroutine.close()
                return
            async with self._slots:
                try:
                    await coroutine
                finally:
                    if not self.updates.was_recorded(update.update_id):
                        await self.updates.record_changeless(update.update_id)

    def _turn_across_instances(self, key: int) -> AbstractAsyncContextManager[None]:
        return self._across(f"customer:{key}") if self._across is not None else nullcontext()

    async def initialize(self) -> None:
        """Nothing to open."""

    async def shutdown(self) -> None:
        """Nothing to close."""
