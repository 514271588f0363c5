"""This module contains the benchmark's phases: one bot process under one load, measured."""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import AsyncIterator, Mapping
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from bench.backend import LoopbackBackend
from bench.instances import WebhookInstances, WebhookTelegram, instance_ports, new_secret
from bench.postgres import INSTALL_HINT, PostgresServer, find_binaries
from bench.process import BotProcess, BotProcessError, BotUnderTest
from bench.simulator import BenchTelegram, Customer, Samples, StepTimeout, Tally, clock
from bot.loopback.server import LoopbackBotApiServer

# Customers that warm the bot up (imports, caches, connections) before anything is measured.
WARMUP_CUSTOMERS = 2
WARMUP_SECONDS = 60.0
# User ids: warm-up customers and measured customers never share a chat.
WARMUP_IDS = 900_000
CUSTOMER_IDS = 1_000_000
# Extra time for the last conversations of a phase to finish after it stops starting new ones.
DRAIN_SECONDS = 60.0
# Time for the bot to settle before its memory is read.
SETTLE_SECONDS = 1.0
# After a burst, VmRSS is read every SETTLE_POLL_SECONDS until it moves less than
# SETTLE_BYTES between readings (the work in flight has drained), for at most BURST_SETTLE_CAP.
SETTLE_POLL_SECONDS = 0.5
SETTLE_BYTES = 64 * 1024
BURST_SETTLE_CAP = 15.0


@dataclass(frozen=True, slots=True)
class Load:
    """What the customers of a phase do.

    Each customer walks complaint after complaint until `duration` has passed, or exactly
    `conversations` of them; nothing is waited for after `cap` seconds.
    """

    label: str
    customers: int
    duration: float | None = None
    conversations: int | None = None
    api_latency: float = 0.0
    backend_latency: float = 0.0
    think: float = 0.0
    cap: float = 120.0


@dataclass(frozen=True, slots=True)
class Percentiles:
    """p50, p90, p99 in seconds; `bound` marks figures that are only lower bounds."""

    p50: float | None
    p90: float | None
    p99: float | None
    bound: tuple[bool, bool, bool]
    count: int

    @classmethod
    def of(cls, samples: Samples) -> Percentiles:
        p50, p90, p99 = (samples.percentile(p) for p in (50, 90, 99))
        return cls(
            p50=p50[0] if p50 else None,
            p90=p90[0] if p90 else None,
            p99=p99[0] if p99 else None,
            bound=(bool(p50 and p50[1]), bool(p90 and p90[1]), bool(p99 and p99[1])),
            count=len(samples),
        )


@dataclass
class PhaseResult:
    """The figures of one bot under one load."""

    bot: str
    load: Load
    elapsed: float
    bot_cpu: float
    harness_cpu: float
    updates_sent: int
    updates_answered: int
    completed: int
    failed: int
    step_first_reply: Percentiles
    submit_to_card: Percentiles
    by_step: dict[str, Percentiles]
    calls: dict[str, int]
    backend_requests: int
    # CPU of the PostgreSQL server (all its processes) in the phase; None without one.
    database_cpu: float | None = None
    # Bot API calls the loopback Telegram refused, by method (as Telegram would have).
    refused: dict[str, int] = field(default_factory=dict)

    @property
    def conversations_per_second(self) -> float:
        return self.completed / self.elapsed if self.elapsed else 0.0

    @property
    def updates_per_second(self) -> float:
        return self.updates_answered / self.elapsed if self.elapsed else 0.0

    @property
    def cpu_per_update(self) -> float | None:
        return self.bot_cpu / self.updates_answered if self.updates_answered else None

    @property
    def database_cpu_per_update(self) -> float | None:
        if self.database_cpu is None or not self.updates_answered:
            return None
        return self.database_cpu / self.updates_answered

    @property
    def calls_per_complaint(self) -> float | None:
        return sum(self.calls.values()) / self.completed if self.completed else None

    def as_json(self) -> dict[str, Any]:
        data = asdict(self)
        data |= {
            "conversations_per_second": self.conversations_per_second,
            "updates_per_second": self.updates_per_second,
            "cpu_seconds_per_update": self.cpu_per_update,
            "database_cpu_seconds_per_update": self.database_cpu_per_update,
            "calls_per_complaint": self.calls_per_complaint,
        }
        return data


@dataclass
class MemoryResult:
    """Resident memory of one bot before and while `opened` conversations are open."""

    bot: str
    target: int
    opened: int
    failed: int
    elapsed: float
    rss_before: int
    rss_after: int
    milestones: list[tuple[int, int]] = field(default_factory=list)

    @property
    def bytes_per_conversation(self) -> float | None:
        return (self.rss_after - self.rss_before) / self.opened if self.opened else None

    def as_json(self) -> dict[str, Any]:
        return asdict(self) | {"bytes_per_conversation": self.bytes_per_conversation}


@dataclass
class BurstResult:
    """Resident memory of one bot before, during and right after a burst of new customers."""

    bot: str
    customers: int
    opened: int
    failed: int
    elapsed: float
    rss_before: int
    rss_peak: int
    rss_after: int

    @property
    def bytes_per_conversation(self) -> float | None:
        return (self.rss_after - self.rss_before) / self.opened if self.opened else None

    def as_json(self) -> dict[str, Any]:
        return asdict(self) | {"bytes_per_conversation": self.bytes_per_conversation}


@dataclass
class Running:
    """A bot process (or pg2's instances) with its loopback Telegram and backend."""

    telegram: BenchTelegram
    backend: LoopbackBackend
    process: BotUnderTest
    database: PostgresServer | None = None

    def check_alive(self) -> None:
        """Raises BotProcessError if the bot has exited or could not be reached."""
        self.process.check_alive()
        self.telegram.check()


def start_postgres() -> PostgresServer:
    """A throw-away PostgreSQL server, started (for pg2)."""
    binaries = find_binaries()
    if binaries is None:
        raise BotProcessError(f"pg2 needs PostgreSQL, which is not installed ({INSTALL_HINT})")
    server = PostgresServer(binaries)
    try:
        server.start()
    except BaseException:
        server.stop()
        raise
    return server


@asynccontextmanager
async def running_bot(
    bot: str,
    workdir: Path,
    *,
    api_latency: float = 0.0,
    backend_latency: float = 0.0,
    extra_env: Mapping[str, str] | None = None,
    postgres: PostgresServer | None = None,
) -> AsyncIterator[Running]:
    """Starts the loopback servers and the bot; stops them all afterwards.

    pg2 gets a fresh database on `postgres` (a server of its own when None, for this phase).
    """
    if bot == "pg2":
        async with _pg2(workdir, api_latency, backend_latency, extra_env, postgres) as running:
            yield running
        return
    telegram = BenchTelegram()
    server = LoopbackBotApiServer(telegram, latency_seconds=api_latency)
    backend = LoopbackBackend(backend_latency)
    await server.start()
    await backend.start()
    process = BotProcess(
        bot,
        workdir,
        api_base_url=server.base_url,
        backend_url=backend.base_url,
        extra_env=extra_env if bot == "ours" else None,
    )
    try:
        await process.start(telegram)
        yield Running(telegram, backend, process)
    finally:
        await process.stop()
        await backend.stop()
        await server.stop()


@asynccontextmanager
async def _pg2(
    workdir: Path,
    api_latency: float,
    backend_latency: float,
    extra_env: Mapping[str, str] | None,
    postgres: PostgresServer | None,
) -> AsyncIterator[Running]:
    """Two webhook instances on a fresh database, the updates posted to them in turn."""
    async with AsyncExitStack() as stack:
        database = postgres
        if database is None:
            database = start_postgres()
            stack.callback(database.stop)
        url = database.new_database()
        if postgres is not None:
            stack.callback(database.drop_database, url)
        ports = instance_ports()
        telegram = WebhookTelegram(ports, new_secret())
        stack.push_async_callback(telegram.aclose)
        server = LoopbackBotApiServer(telegram, latency_seconds=api_latency)
        await server.start()
        stack.push_async_callback(server.stop)
        backend = LoopbackBackend(backend_latency)
        await backend.start()
        stack.push_async_callback(backend.stop)
        instances = WebhookInstances(
            workdir,
            telegram,
            ports,
            database_url=url,
            api_base_url=server.base_url,
            backend_url=backend.base_url,
            extra_env=extra_env,
        )
        stack.push_async_callback(instances.stop)
        await instances.start()
        yield Running(telegram, backend, instances, database)


async def warm_up(running: Running) -> None:
    """A few complete conversations, so the measured ones find the bot warm."""
    tally = Tally()
    stop = clock() + WARMUP_SECONDS
    customers = [Customer(running.telegram, WARMUP_IDS + i, tally) for i in range(WARMUP_CUSTOMERS)]
    await _gather(running, [c.run(until=math.inf, stop=stop, conversations=1) for c in customers])
    if tally.conversations_completed < WARMUP_CUSTOMERS:
        raise RuntimeError(
            f"{running.process.bot}: the warm-up conversations did not complete; "
            f"see {running.process.log}"
        )
    for customer in customers:
        customer.forget()
    running.telegram.counts.clear()
    running.telegram.refused.clear()
    running.backend.requests = 0


async def run_load(
    bot: str,
    load: Load,
    workdir: Path,
    extra_env: Mapping[str, str] | None = None,
    *,
    postgres: PostgresServer | None = None,
) -> PhaseResult:
    """Runs one load against a fresh process of `bot` (pg2: on a fresh database)."""
    async with running_bot(
        bot,
        workdir,
        api_latency=load.api_latency,
        backend_latency=load.backend_latency,
        extra_env=extra_env,
        postgres=postgres,
    ) as running:
        await warm_up(running)
        tally = Tally()
        customers = [
            Customer(running.telegram, CUSTOMER_IDS + i, tally, think_seconds=load.think)
            for i in range(load.customers)
        ]
        database = running.database
        started, cpu, harness = clock(), running.process.cpu_seconds(), time.process_time()
        database_cpu = database.cpu_seconds() if database else None
        until = started + load.duration if load.duration is not None else math.inf
        stop = started + load.cap
        # With think time, arrivals spread over one think time instead of one burst.
        spread = load.think / load.customers if load.think else 0.0
        await _gather(
            running,
            [
                c.run(
                    until=until, stop=stop, conversations=load.conversations, start_delay=i * spread
                )
                for i, c in enumerate(customers)
            ],
        )
        elapsed = clock() - started
        bot_cpu = running.process.cpu_seconds() - cpu
        harness_cpu = time.process_time() - harness
        if database is not None and database_cpu is not None:
            database_cpu = database.cpu_seconds() - database_cpu
        return PhaseResult(
            bot=bot,
            load=load,
            elapsed=elapsed,
            bot_cpu=bot_cpu,
            harness_cpu=harness_cpu,
            updates_sent=tally.updates_sent,
            updates_answered=tally.updates_answered,
            completed=tally.conversations_completed,
            failed=tally.conversations_failed,
            step_first_reply=Percentiles.of(tally.step_first_reply),
            submit_to_card=Percentiles.of(tally.submit_to_card),
            by_step={name: Percentiles.of(samples) for name, samples in tally.by_step.items()},
            calls=dict(sorted(running.telegram.counts.items())),
            backend_requests=running.backend.requests,
            database_cpu=database_cpu,
            refused=dict(sorted(running.telegram.refused.items())),
        )


async def run_memory(
    bot: str,
    conversations: int,
    workdir: Path,
    *,
    concurrency: int = 200,
    cap: float = 300.0,
    extra_env: Mapping[str, str] | None = None,
) -> MemoryResult:
    """Opens `conversations` drafts (a third at each of the first three steps), reads VmRSS."""
    async with running_bot(bot, workdir, extra_env=extra_env) as running:
        await warm_up(running)
        await asyncio.sleep(SETTLE_SECONDS)
        rss_before = running.process.rss_bytes()
        tally = Tally()
        gate = asyncio.Semaphore(concurrency)
        marks = {conversations * share // 4 for share in (1, 2, 3)}
        milestones: list[tuple[int, int]] = []
        started = clock()
        stop = started + cap

        async def open_one(index: int) -> None:
            async with gate:
                if await open_draft(running, tally, index, stop) and tally.opened in marks:
                    milestones.append((tally.opened, running.process.rss_bytes()))

        await _gather(running, [open_one(i) for i in range(conversations)])
        elapsed = clock() - started
        await asyncio.sleep(SETTLE_SECONDS)
        rss_after = running.process.rss_bytes()
        milestones.append((tally.opened, rss_after))
        return MemoryResult(
            bot=bot,
            target=conversations,
            opened=tally.opened,
            failed=tally.conversations_failed,
            elapsed=elapsed,
            rss_before=rss_before,
            rss_after=rss_after,
            milestones=milestones,
        )


async def run_burst(
    bot: str,
    customers: int,
    workdir: Path,
    *,
    cap: float = 150.0,
    extra_env: Mapping[str, str] | None = None,
) -> BurstResult:
    """`customers` new customers all at once (no gate: the bot sees the whole burst), each
    leaving a draft open (a third at each of the first three steps); VmRSS before, at its peak,
    and once it has settled after the last draft is open."""
    async with running_bot(bot, workdir, extra_env=extra_env) as running:
        await warm_up(running)
        await asyncio.sleep(SETTLE_SECONDS)
        rss_before = running.process.rss_bytes()
        peak = rss_before
        tally = Tally()
        started = clock()
        stop = started + cap

        async def watch_peak() -> None:
            nonlocal peak
            while True:
                peak = max(peak, running.process.rss_bytes())
                await asyncio.sleep(0.1)

        watcher = asyncio.ensure_future(watch_peak())
        try:
            await _gather(running, [open_draft(running, tally, i, stop) for i in range(customers)])
        finally:
            watcher.cancel()
            await asyncio.gather(watcher, return_exceptions=True)
        elapsed = clock() - started
        rss_after = await settled_rss(running.process)
        return BurstResult(
            bot=bot,
            customers=customers,
            opened=tally.opened,
            failed=tally.conversations_failed,
            elapsed=elapsed,
            rss_before=rss_before,
            rss_peak=max(peak, rss_after),
            rss_after=rss_after,
        )


async def open_draft(running: Running, tally: Tally, index: int, stop: float) -> bool:
    """A new customer leaves a draft open (a third at each of the first three steps) and is
    forgotten by the harness; whether the draft was opened (counted in `tally`)."""
    customer = Customer(running.telegram, CUSTOMER_IDS + index, tally)
    try:
        await customer.open_partially(1 + index % 3, stop)
    except StepTimeout:
        tally.conversations_failed += 1
        return False
    finally:
        customer.forget()
        running.telegram.customers.pop(customer.updates.id, None)
    tally.opened += 1
    return True


async def settled_rss(process: BotUnderTest) -> int:
    """VmRSS once two readings SETTLE_POLL_SECONDS apart differ by less than SETTLE_BYTES."""
    deadline = clock() + BURST_SETTLE_CAP
    last = process.rss_bytes()
    while True:
        await asyncio.sleep(SETTLE_POLL_SECONDS)
        now = process.rss_bytes()
        if abs(now - last) < SETTLE_BYTES or clock() > deadline:
            return now
        last = now


async def _gather(running: Running, coroutines: list[Any]) -> None:
    """Runs the customers; fails early if the bot process dies."""
    tasks = [asyncio.ensure_future(c) for c in coroutines]
    try:
        pending = set(tasks)
        while pending:
            _, pending = await asyncio.wait(pending, timeout=0.5)
            running.check_alive()
        for task in tasks:
            task.result()  # a bug in the simulator surfaces here
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
