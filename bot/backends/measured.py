"""This module contains MeasuredBackend: the backend port, counted and timed for /metrics."""

from __future__ import annotations

import time
from collections.abc import Awaitable
from typing import TypeVar

from bot.backends.base import (
    BackendRejected,
    BackendUnavailable,
    ComplaintBackend,
    ComplaintStatus,
    Receipt,
    Submission,
)
from bot.complaint import ComplaintEnvelope
from bot.metrics import Metrics

T = TypeVar("T")


class MeasuredBackend(ComplaintBackend):
    """Wraps any adapter: every call is counted by outcome (`registered` for an answer, or the
    kind of error of the port) and timed, so no adapter has to know about metrics."""

    def __init__(self, inner: ComplaintBackend, metrics: Metrics) -> None:
        self.inner = inner
        self.name = inner.name
        self._metrics = metrics

    async def initialize(self) -> None:
        """The adapter's own start-up."""
        await self.inner.initialize()

    async def shutdown(self) -> None:
        """The adapter's own shut-down."""
        await self.inner.shutdown()

    async def submit(self, submission: Submission) -> Receipt:
        """The adapter's submit, measured."""
        return await self._measured("submit", self.inner.submit(submission))

    async def status(self, receipt: Receipt, envelope: ComplaintEnvelope) -> ComplaintStatus:
        """The adapter's status, measured."""
        return await self._measured("status", self.inner.status(receipt, envelope))

    @property
    def withdraws(self) -> bool:
        """Whether the adapter tells its backend of withdrawals."""
        return self.inner.withdraws

    async def withdraw(self, receipt: Receipt, envelope: ComplaintEnvelope) -> bool:
        """The adapter's withdraw, measured."""
        return await self._measured("withdraw", self.inner.withdraw(receipt, envelope))

    async def probe(self) -> str:
        """The adapter's probe, measured."""
        return await self._measured("probe", self.inner.probe())

    async def _measured(self, operation: str, call: Awaitable[T]) -> T:
        started = time.perf_counter()
        try:
            result = await call
        except BackendUnavailable:
            self._count(operation, "unavailable", started)
            raise
        except BackendRejected:
            self._count(operation, "rejected", started)
            raise
        except Exception:  # the port's bad response, or a bug: either way not an answer
            self._count(operation, "bad_response", started)
            raise
        # A cancelled call (shutting down) is not counted: the backend never answered it.
        self._count(operation, "registered", started)
        return result

    def _count(self, operation: str, outcome: str, started: float) -> None:
        m = self._metrics
        m.backend_calls.labels(self.name, operation, outcome).inc()
        m.backend_seconds.labels(self.name, operation).observe(time.perf_counter() - started)
