"""This module contains Metrics: the bot's Prometheus metrics, in a registry the bot owns."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.exposition import generate_latest

logger = logging.getLogger(__name__)

PREFIX = "complaint_bot_"
# Scrapes within this long of a database read are answered from it (several Prometheus
# servers, or a dashboard's burst, cost one read).
GAUGE_CACHE_SECONDS = 5.0
# Handler and backend latencies: from a few milliseconds to a backend's read timeout.
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)

UPDATE_KINDS = ("message", "callback_query", "edited_message", "other")
BACKEND_OUTCOMES = ("registered", "unavailable", "rejected", "bad_response")
BOT_API_ERRORS = ("ok", "429", "5xx", "4xx", "network")
DELIVERY_OUTCOMES = ("sent", "retried", "given_up", "blocked", "dropped")


@dataclass(frozen=True, slots=True)
class DatabaseFigures:
    """What the gauges show, read from the database in one go."""

    complaints: dict[tuple[str, str], int]  # (state, backend) -> count
    outbox_depth: int
    oldest_pending_created_at: float | None
    conversations_open: int
    deliveries_pending: int


Reader = Callable[[], Awaitable[DatabaseFigures]]


class Metrics:
    """Every metric the bot exports. Counters and histograms are changed where things happen;
    the gauges that describe the database are read from it when scraped (`refresh`), so the
    hot path makes no extra query."""

    def __init__(
        self,
        *,
        clock: Callable[[], float] = time.time,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        # `clock` dates complaints (the ledger's time); `monotonic` only spaces database reads.
        self._clock = clock
        self._monotonic = monotonic
        self._reader: Reader | None = None
        self._read_at: float | None = None
        self._refreshing = asyncio.Lock()
        r = self.registry
        self.updates = Counter(
            f"{PREFIX}updates", "Telegram updates handled, by kind", ["kind"], registry=r
        )
        self.update_seconds = Histogram(
            f"{PREFIX}update_seconds",
            "Time from the update processor taking an update to its handlers finishing "
            "(the customer's turn included)",
            ["kind"],
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.complaints = Gauge(
            f"{PREFIX}complaints",
            "Complaints in the ledger, by state and backend",
            ["state", "backend"],
            registry=r,
        )
        self.outbox_depth = Gauge(
            f"{PREFIX}outbox_depth",
            "Complaints confirmed and waiting to be registered with the backend",
            registry=r,
        )
        self.oldest_pending_seconds = Gauge(
            f"{PREFIX}oldest_pending_complaint_seconds",
            "Age of the oldest complaint waiting for the backend (0 when none waits)",
            registry=r,
        )
        self.conversations_open = Gauge(
            f"{PREFIX}conversations_open", "Drafts in progress", registry=r
        )
        self.deliveries_pending = Gauge(
            f"{PREFIX}deliveries_pending", "Messages owed and not yet sent", registry=r
        )
        # Read when scraped (cheap: a set's length), so a soak can see tasks pile up.
        self.asyncio_tasks = Gauge(
            f"{PREFIX}asyncio_tasks",
            "Asyncio tasks not yet done in the bot's event loop",
            registry=r,
        )
        self.deliveries = Counter(
            f"{PREFIX}deliveries",
            "Message delivery attempts' outcomes (sent, retried, given_up, blocked, dropped), "
            "by kind of message",
            ["outcome", "kind"],
            registry=r,
        )
        self.operator_chat_up = Gauge(
            f"{PREFIX}operator_chat_up",
            "1 while the operator chat takes the bot's posts, 0 while it refuses them (the bot "
            "was removed or may not post; the posts wait)",
            registry=r,
        )
        self.operator_chat_refusals = Counter(
            f"{PREFIX}operator_chat_refusals",
            "Posts the operator chat refused because of the chat, by reason (removed, "
            "no_rights, topic_deleted)",
            ["reason"],
            registry=r,
        )
        self.backend_calls = Counter(
            f"{PREFIX}backend_calls",
            "Complaint backend calls, by backend, operation and outcome",
            ["backend", "operation", "outcome"],
            registry=r,
        )
        self.backend_seconds = Histogram(
            f"{PREFIX}backend_call_seconds",
            "Complaint backend call latency, by backend and operation",
            ["backend", "operation"],
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.bot_api_calls = Counter(
            f"{PREFIX}bot_api_calls",
            "Telegram Bot API calls, by method and result (ok, 429, 5xx, 4xx, network)",
            ["method", "error"],
            registry=r,
        )
        self.bot_api_seconds = Histogram(
            f"{PREFIX}bot_api_call_seconds",
            "Telegram Bot API call latency, by method (long polls included)",
            ["method"],
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.status_changes = Counter(
            f"{PREFIX}status_changes_announced",
            "Complaint status changes recorded and announced, by new status",
            ["status"],
            registry=r,
        )

    def read_database_with(self, reader: Reader) -> None:
        """Sets what the database gauges are read with (the composition root's job)."""
        self._reader = reader

    async def refresh(self) -> None:
        """Reads the database gauges afresh unless they were read in the last few seconds;
        a failed read keeps the last values (and is logged) rather than failing the scrape."""
        if self._reader is None:
            return
        async with self._refreshing:
            moment = self._monotonic()
            if self._read_at is not None and moment - self._read_at < GAUGE_CACHE_SECONDS:
                return
            try:
                figures = await self._reader()
            except Exception as err:
                logger.warning("Metrics: reading the database failed (%s)", type(err).__name__)
                return
            self._read_at = moment
            self._show(figures, self._clock())

    def _show(self, figures: DatabaseFigures, now: float) -> None:
        self.complaints.clear()  # a state no complaint is in any more must not linger
        for (state, backend), count in figures.complaints.items():
            self.complaints.labels(state=state, backend=backend).set(count)
        self.outbox_depth.set(figures.outbox_depth)
        oldest = figures.oldest_pending_created_at
        self.oldest_pending_seconds.set(max(0.0, now - oldest) if oldest is not None else 0.0)
        self.conversations_open.set(figures.conversations_open)
        self.deliveries_pending.set(figures.deliveries_pending)

    async def exposition(self) -> bytes:
        """The text exposition of every metric, the database gauges refreshed first."""
        await self.refresh()
        self.asyncio_tasks.set(len(asyncio.all_tasks()))
        return generate_latest(self.registry)


def update_kind(update: object) -> str:
    """The `kind` label of an update: the kinds customers make, else `other`."""
    for kind in UPDATE_KINDS[:-1]:
        if getattr(update, kind, None) is not None:
            return kind
    return "other"
