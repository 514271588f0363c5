"""Two bot processes on one database: each complaint is submitted once, one process polls."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import pytest

from bench.backend import LoopbackBackend
from bot.backends.base import BackendUnavailable
from bot.loopback.customer import CustomerUpdates, make_user
from bot.loopback.server import LoopbackBotApiServer
from bot.loopback.telegram import LoopbackTelegram
from bot.telegram_html import plain_text
from tests.helpers.backends import ScriptedBackend
from tests.helpers.driver import BotHarness, make_settings
from tests.helpers.processes import BotProcess, until

CUSTOMERS = 6
POLLING = "Polling Telegram for updates"
STANDING_BY = "Another instance polls Telegram"


def _registered(database: Path) -> int:
    with sqlite3.connect(database) as connection:
        row = connection.execute("SELECT COUNT(*) FROM complaints WHERE state = 'registered'")
        return int(row.fetchone()[0])


async def _pending_complaints(database: Path, settings: dict[str, str]) -> list[int]:
    """Complaints confirmed while the backend was down: pending in the ledger."""
    down = ScriptedBackend(name="middleware", script=[BackendUnavailable("down")] * CUSTOMERS)
    harness = BotHarness(make_settings(database, **settings), backend=down)
    await harness.start()
    customers = [harness.customer(f"Customer{n}") for n in range(CUSTOMERS)]
    for customer in customers:
        await customer.file_complaint(order_id=f"ORD-{customer.id}")
    await harness.settle()
    await harness.stop()
    return [customer.id for customer in customers]


async def test_two_processes_file_each_complaint_once_and_one_of_them_polls(
    tmp_path: Path,
) -> None:
    backend = LoopbackBackend(latency_seconds=0.3)  # slow enough for both to be at it
    await backend.start()
    database = tmp_path / "bot.sqlite3"
    customer_ids = await _pending_complaints(database, backend.settings)
    telegram = LoopbackTelegram()
    server = LoopbackBotApiServer(telegram)
    await server.start()
    settings = {**backend.settings, "telegram_api_base_url": server.base_url}
    first, second = (BotProcess(tmp_path, settings, name) for name in ("first", "second"))
    try:
        await first.start()
        await second.start()
        await until(lambda: _registered(database) == CUSTOMERS, "every complaint registered")
        assert sorted(backend.keys.values()) == [1] * CUSTOMERS  # each filed exactly once

        def cards(chat_id: int) -> int:
            return sum("Complaint number" in m.text for m in telegram.chat_messages(chat_id))

        await until(lambda: all(cards(c) for c in customer_ids), "every customer's card")
        assert [cards(chat_id) for chat_id in customer_ids] == [1] * CUSTOMERS

        await until(
            lambda: (POLLING in first.output()) != (POLLING in second.output()),
            "one process polling",
        )
        leader, standby = (first, second) if POLLING in first.output() else (second, first)
        await until(lambda: STANDING_BY in standby.output(), "the other standing by")
        assert telegram.conflicts == 0

        assert await leader.stop() == 0
        await until(lambda: POLLING in standby.output(), "the other taking over", seconds=10)
        ada = CustomerUpdates(make_user(customer_ids[0], "Customer0"))
        telegram.deliver(ada.text("/mycomplaints"))
        await until(
            lambda: "Your complaints" in plain_text(telegram.chat_messages(ada.id)[-1].text),
            "an answer from the process that took over",
        )
        assert telegram.conflicts == 0
    finally:
        for process in (first, second):
            if process.running:
                await process.stop()
        await server.stop()
        await backend.stop()


async def test_a_bot_on_another_database_waits_quietly_and_takes_over(tmp_path: Path) -> None:
    telegram = LoopbackTelegram()
    server = LoopbackBotApiServer(telegram)
    await server.start()
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    settings = {"telegram_api_base_url": server.base_url}
    first = BotProcess(tmp_path / "a", settings, "first")
    second = BotProcess(tmp_path / "b", settings, "second")
    ada = CustomerUpdates(make_user(4242, "Ada"))

    def answered(count: int) -> bool:
        return len(telegram.chat_messages(ada.id)) >= count

    try:
        await first.start()
        await until(lambda: POLLING in first.output(), "the first polling")
        await second.start()
        await until(lambda: "standing by" in second.output(), "the second standing by")
        polls = telegram.polls
        await asyncio.sleep(6)
        assert telegram.polls - polls < 20  # a 409 storm polls hundreds of times
        telegram.deliver(ada.text("/start"))
        await until(lambda: answered(1), "an answer while both run")

        assert await first.stop() == 0
        telegram.deliver(ada.text("/help"))
        await until(lambda: answered(2), "an answer from the second", seconds=40)
        assert second.output().count("409 Conflict") == 1  # said once, then quiet
        assert "Traceback" not in second.output()
    finally:
        for process in (first, second):
            if process.running:
                await process.stop()
        await server.stop()


@pytest.mark.parametrize("instances", [1, 2])
async def test_a_backend_call_three_times_the_claim_is_made_once(
    tmp_path: Path, instances: int
) -> None:
    claim = 3  # CLAIM_SECONDS' smallest value; the backend takes three times that
    backend = LoopbackBackend(latency_seconds=3 * claim)
    await backend.start()
    database = tmp_path / "bot.sqlite3"
    await _pending_complaints(database, backend.settings)
    telegram = LoopbackTelegram()
    server = LoopbackBotApiServer(telegram)
    await server.start()
    settings = {
        **backend.settings,
        "telegram_api_base_url": server.base_url,
        "claim_seconds": str(claim),
    }
    processes = [BotProcess(tmp_path, settings, f"bot{n}") for n in range(instances)]
    try:
        for process in processes:
            await process.start()
        await until(
            lambda: _registered(database) == CUSTOMERS, "every complaint registered", seconds=40
        )
        assert sorted(backend.keys.values()) == [1] * CUSTOMERS  # each call made once
    finally:
        for process in processes:
            if process.running:
                await process.stop()
        await server.stop()
        await backend.stop()
