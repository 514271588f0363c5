"""This module contains ClaimingWorker: the loop both workers share.

It claims due work in the database (up to a number of slots), runs each piece as a task, keeps
its claims alive while they run, sleeps until the next piece falls due (or something wakes
it), and on stop lets running pieces finish for a moment and releases what it still holds.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from abc import ABC, abstractmethod
from collections.abc import Callable
from functools import partial
from typing import Generic, Protocol, TypeVar

from bot.workers.claims import CLAIM_SECONDS

logger = logging.getLogger(__name__)


class _Identified(Protocol):
    @property
    def id(self) -> int: ...


Work = TypeVar("Work", bound=_Identified)


class ClaimingWorker(ABC, Generic[Work]):
    """Claims due work and runs it, at most `max_in_flight` pieces at once."""

    def __init__(
        self,
        *,
        clock: Callable[[], float],
        holder: str,
        max_in_flight: int,
        idle_poll_seconds: float,
        name: str,
        claim_seconds: float = CLAIM_SECONDS,
    ) -> None:
        self._clock = clock
        self._claim_seconds = claim_seconds
        self._renew_seconds = claim_seconds / 3
        self.holder = holder
        self._max_in_flight = max_in_flight
        # Work another instance claimed and then dropped (it died) is looked for this often.
        self._idle_poll = min(idle_poll_seconds, claim_seconds)
        self._name = name
        self._wake = asyncio.Event()
        # Work holding a slot, and every task (a task may go on after freeing its slot).
        self._busy: set[int] = set()
        self._tasks: set[asyncio.Task[None]] = set()
        self._loop_task: asyncio.Task[None] | None = None
        self._stopping = False
        self._renewed_at = 0.0
        # One claimer at a time in this process (the database keeps processes apart).
        self._claim_lock = asyncio.Lock()

    @abstractmethod
    async def _claim(self, limit: int, *, now: float, until: float) -> list[Work]:
        """Claims up to `limit` pieces of due work until `until`."""

    @abstractmethod
    async def _work(self, work: Work) -> None:
        """Does one piece of claimed work (it frees its slot, or finishing frees it)."""

    @abstractmethod
    async def _renew_claims(self, until: float) -> None:
        """Extends the claims of work still under way."""

    @abstractmethod
    async def _release_claims(self) -> None:
        """Gives up every claim this process holds (a clean stop)."""

    @abstractmethod
    async def _next_due(self) -> float | None:
        """When the next piece of work can be claimed, if any is waiting."""

    @property
    def claim_until(self) -> float:
        """The end of a claim made now."""
        return self._clock() + self._claim_seconds

    @property
    def in_flight(self) -> int:
        """How many pieces of work hold a slot."""
        return len(self._busy)

    def wake(self) -> None:
        """Looks for due work now."""
        self._wake.set()

    async def start(self) -> None:
        """Starts the loop; work left when the bot stopped is picked up at once."""
        if self._loop_task is None:
            self._stopping = False
            self._loop_task = asyncio.create_task(self._run(), name=self._name)

    async def stop(self, grace_seconds: float = 5.0) -> None:
        """Stops the loop, gives running work a moment to finish, and releases the rest."""
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
        with contextlib.suppress(Exception):
            await self._release_claims()

    async def run_due(self) -> int:
        """Starts every piece of due work there is a slot for; returns how many."""
        async with self._claim_lock:
            room = self._max_in_flight - len(self._busy)
            if room <= 0:
                return 0
            started = 0
            # Work under way is renewed before anything is claimed: a claim that ran out
            # while its work was still running would be taken again, by us or another
            # instance, and a backend called twice.
            await self._renew()
            now = self._clock()
            claimed = await self._claim(room, now=now, until=now + self._claim_seconds)
            for work in claimed:
                if work.id in self._busy:
                    continue  # ours, still running: never started twice (the claim is ours)
                self._busy.add(work.id)
                task = asyncio.create_task(self._work(work), name=f"{self._name}-{work.id}")
                self._tasks.add(task)
                task.add_done_callback(partial(self._finished, work.id))
                started += 1
            return started

    async def drain(self) -> None:
        """Runs every piece of due work to its end (tests and the CLI use this)."""
        while await self.run_due() or self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)

    def free(self, work_id: int) -> None:
        """Frees the slot of a piece of work (its outcome is recorded)."""
        if work_id in self._busy:
            was_full = len(self._busy) >= self._max_in_flight
            self._busy.discard(work_id)
            if was_full:
                self._wake.set()  # work may be waiting for this slot

    def _finished(self, work_id: int, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        self.free(work_id)  # in case the work ended without freeing its slot

    async def _run(self) -> None:
        while not self._stopping:
            self._wake.clear()
            try:
                await self.run_due()
                await self._renew()
                timeout = await self._seconds_until_next()
            except Exception:
                logger.exception("The %s could not read the database", self._name)
                timeout = self._idle_poll
            if self._stopping:
                return
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(timeout):
                    await self._wake.wait()

    async def _renew(self) -> None:
        now = self._clock()
        if self._busy and now - self._renewed_at >= self._renew_seconds:
            self._renewed_at = now
            await self._renew_claims(now + self._claim_seconds)

    async def _seconds_until_next(self) -> float:
        wait = self._idle_poll if not self._busy else min(self._idle_poll, self._renew_seconds)
        if len(self._busy) >= self._max_in_flight:
            return wait  # woken when a slot frees
        # Work under way counts from its claim's end, so the loop does not spin on it.
        next_at = await self._next_due()
        if next_at is None:
            return wait
        return min(wait, max(0.0, next_at - self._clock()))
