"""This module contains the per-customer ordering of updates and of outgoing results.

PTB's default processes one update at a time (every customer waits for every other); plain
`concurrent_updates=True` lets a customer's next message overtake the previous one. Here each
customer's updates run strictly in order, and different customers run concurrently.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable
from contextlib import asynccontextmanager
from typing import Any

from telegram import Update
from telegram.ext import BaseUpdateProcessor

# Updates processed at once across all customers. Generous, because an update waiting for its
# customer's previous one holds a slot while it waits.
MAX_CONCURRENT_UPDATES = 1024


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
    """Processes each customer's updates in order and different customers concurrently."""

    __slots__ = ("locks",)

    def __init__(
        self, locks: CustomerLocks, max_concurrent_updates: int = MAX_CONCURRENT_UPDATES
    ) -> None:
        super().__init__(max_concurrent_updates)
        self.locks = locks

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        """Awaits the update's processing under its customer's lock."""
        key = customer_key(update)
        if key is None:
            await coroutine
            return
        async with self.locks.hold(key):
            await coroutine

    async def initialize(self) -> None:
        """Nothing to open."""

    async def shutdown(self) -> None:
        """Nothing to close."""
