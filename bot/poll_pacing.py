"""This module contains PollPacer: a pause before getUpdates only while updates are in hand."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from typing import Any

from telegram.request import BaseRequest, RequestData

from bot.measured_request import WrappedRequest

# The pause before the next getUpdates while updates are still being processed. Updates are
# handled concurrently, so without it the bot asks Telegram again after nearly every single
# update under load; 20 ms lets updates arriving together come in one request (about a third
# less CPU per update under load, bench/).
BATCH_PAUSE_SECONDS = 0.02
# From this many updates received and not yet processed (or with several customers taking
# turns), the bot is busy: the next updates are worth collecting into one answer. Otherwise (a
# lone customer, or none) the next getUpdates goes out at once: Telegram's long poll waits for
# the customer's next message itself, and answers the moment it comes.
BUSY_FROM_UPDATES = 2
# Updates of two different customers within this long: several customers are talking at once
# (a lone customer's next update only comes after our answer, never meanwhile).
SEVERAL_CUSTOMERS_SECONDS = 0.1
# At most this many updates received and not yet processed before the next getUpdates: the
# rest wait at Telegram, so a burst of thousands of new customers does not become thousands of
# tasks (and a heap that is never given back) at once.
MAX_IN_HAND = 128
# How long a getUpdates waits for room at most: the count is a pacing hint, so polling never
# stops on it for long (were an update ever not counted out, this bounds the wait).
ROOM_WAIT_SECONDS = 1.0
# How a getUpdates answer numbers its updates: one per update (a quote inside a message's text
# is escaped, so text never matches).
_UPDATE_ID = b'"update_id"'


class PollPacer:
    """Counts the updates received by polling and not yet processed, and notes when two
    customers last took turns."""

    __slots__ = ("_clock", "_last_customer", "_room", "_several_at", "outstanding")

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._last_customer: int | None = None
        self._several_at = float("-inf")
        self.outstanding = 0
        self._room = asyncio.Event()
        self._room.set()

    def received(self, payload: bytes) -> None:
        """A getUpdates answer arrived."""
        self.outstanding += payload.count(_UPDATE_ID)
        if self.outstanding >= MAX_IN_HAND:
            self._room.clear()

    async def room(self) -> None:
        """Returns when fewer than MAX_IN_HAND updates are in hand (or ROOM_WAIT_SECONDS on)."""
        if self._room.is_set():
            return
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._room.wait(), ROOM_WAIT_SECONDS)

    def customer(self, customer_id: int) -> None:
        """An update of this customer is being processed."""
        if customer_id != self._last_customer:
            if self._last_customer is not None:
                self._several_at = self._clock()
            self._last_customer = customer_id

    def processed(self) -> None:
        """An update's processing ended (handled, dropped or failed)."""
        if self.outstanding > 0:
            self.outstanding -= 1
        if self.outstanding < MAX_IN_HAND:
            self._room.set()

    def reset(self) -> None:
        """Polling starts (again): nothing is in hand."""
        self.outstanding = 0
        self._several_at = float("-inf")
        self._room.set()

    @property
    def busy(self) -> bool:
        """Whether the next poll should wait a moment for more updates to gather."""
        if self.outstanding >= BUSY_FROM_UPDATES:
            return True
        return self._clock() - self._several_at < SEVERAL_CUSTOMERS_SECONDS


class PacedPolls(WrappedRequest):
    """Wraps the long poll's transport: a getUpdates waits BATCH_PAUSE_SECONDS first while the
    pacer is busy, and goes out at once otherwise (PTB's fixed poll_interval would delay every
    answer to a lone customer by the pause)."""

    def __init__(self, inner: BaseRequest, pacer: PollPacer) -> None:
        super().__init__(inner)
        self.pacer = pacer

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: Any = BaseRequest.DEFAULT_NONE,
        write_timeout: Any = BaseRequest.DEFAULT_NONE,
        connect_timeout: Any = BaseRequest.DEFAULT_NONE,
        pool_timeout: Any = BaseRequest.DEFAULT_NONE,
    ) -> tuple[int, bytes]:
        """The wrapped transport's answer; a getUpdates is paced and its updates counted."""
        polling = url.endswith("/getUpdates")
        if polling:
            await self.pacer.room()
        if polling and self.pacer.busy:
            await asyncio.sleep(BATCH_PAUSE_SECONDS)
        code, payload = await self.inner.do_request(
            url,
            method,
            request_data,
            read_timeout=read_timeout,
            write_timeout=write_timeout,
            connect_timeout=connect_timeout,
            pool_timeout=pool_timeout,
        )
        if polling and code == 200:
            self.pacer.received(payload)
        return code, payload
