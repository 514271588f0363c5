"""Claims in the database: a dead process's claims run out and another process takes over."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import cast

import pytest

from bot.app import build_application
from bot.loopback.telegram import LoopbackTelegram
from bot.storage.clock import DatabaseClock
from bot.storage.ledger import LedgerState
from bot.telegram_html import plain_text
from tests.helpers.backends import ScriptedBackend
from tests.helpers.bot_api import FakeBotApi
from tests.helpers.driver import BotHarness, FakeClock, make_settings

pytestmark = pytest.mark.both_engines


async def test_a_claim_of_a_process_that_stopped_answering_runs_out_and_is_taken_over(
    tmp_path: Path,
) -> None:
    settings = make_settings(tmp_path / "bot.sqlite3")
    hung = ScriptedBackend(gate=asyncio.Event())  # the first process hangs in the backend call
    first = BotHarness(settings, backend=hung)
    await first.start()
    ada = first.customer()
    await ada.file_complaint()
    await first.built.services.outbox.run_due()
    await asyncio.sleep(0.05)
    assert len(hung.calls) == 1

    working = ScriptedBackend()
    clock = FakeClock(first.clock() + 30)
    second = BotHarness(settings, backend=working, clock=clock, telegram=first.api.telegram)
    await second.start()
    await second.settle()
    assert working.calls == []  # the first process's claim still runs

    clock.advance(61)  # the first process stopped renewing its claim a minute ago
    await second.settle()
    assert len(working.calls) == 1
    (entry,) = await second.built.services.ledger.in_state(LedgerState.REGISTERED)
    assert entry.complaint_number == "500001"

    hung.gate.set()  # the first process's call finally returns: its outcome is not recorded
    await first.settle()
    cards = [m for m in ada.messages() if "Complaint number" in plain_text(m.text)]
    assert len(cards) == 1 and "500001" in plain_text(cards[0].text)
    await second.stop()
    await first.stop()


async def test_a_call_that_outlasts_its_claim_is_not_started_again_by_its_own_worker(
    tmp_path: Path,
) -> None:
    settings = make_settings(tmp_path / "bot.sqlite3")
    slow = ScriptedBackend(gate=asyncio.Event())
    bot = BotHarness(settings, backend=slow)
    await bot.start()
    try:
        ada = bot.customer()
        await ada.file_complaint()
        outbox = bot.built.services.outbox
        await outbox.run_due()
        await asyncio.sleep(0.05)
        assert len(slow.calls) == 1
        # The call takes three times the claim; the worker looks for due work meanwhile.
        for _ in range(3):
            bot.clock.advance(settings.claim_seconds)
            assert await outbox.run_due() == 0
            await asyncio.sleep(0.01)
        assert len(slow.calls) == 1
        # Another instance looking now finds the claim renewed, not lapsed.
        other = BotHarness(settings, backend=ScriptedBackend(), clock=bot.clock)
        await other.start()
        assert await other.built.services.outbox.run_due() == 0
        await other.stop()
        slow.gate.set()
        await bot.settle()
        (entry,) = await bot.built.services.ledger.in_state(LedgerState.REGISTERED)
        assert entry.complaint_number == "500001" and len(slow.calls) == 1
    finally:
        await bot.stop()


async def test_instances_whose_clocks_disagree_keep_claims_by_the_database_clock(
    tmp_path: Path, engine: str
) -> None:
    if engine != "postgres":
        pytest.skip("one SQLite file lives on one host, with one clock")
    settings = make_settings(tmp_path / "bot.sqlite3")
    behind = DatabaseClock(base=lambda: time.time() - 120)  # this host's clock is slow...
    ahead = DatabaseClock(base=lambda: time.time() + 120)  # ...and that one's fast
    slow = ScriptedBackend(gate=asyncio.Event())
    first = BotHarness(settings, backend=slow, clock=behind)  # type: ignore[arg-type]
    await first.start()
    second = BotHarness(
        settings,
        backend=ScriptedBackend(),
        clock=ahead,  # type: ignore[arg-type]
        telegram=first.api.telegram,
    )
    await second.start()
    try:
        for bot in (first, second):
            await bot.built.services.database.open()
            await cast(DatabaseClock, bot.clock).sync(bot.built.services.database)
        assert abs(behind() - ahead()) < 1.0  # one time, the server's
        ada = first.customer()
        await ada.file_complaint()
        await first.built.services.outbox.run_due()
        await asyncio.sleep(0.05)
        assert len(slow.calls) == 1
        # By its own clock the second instance is 240 s later: the first's claim would look
        # four minutes old. By the server's it is fresh, and not taken.
        assert await second.built.services.outbox.run_due() == 0
        slow.gate.set()
        await first.settle()
        (entry,) = await first.built.services.ledger.in_state(LedgerState.REGISTERED)
        assert len(slow.calls) == 1 and entry.complaint_number == "500001"
    finally:
        await second.stop()
        await first.stop()


async def test_on_a_shared_database_the_bot_keeps_the_servers_time(
    tmp_path: Path, engine: str
) -> None:
    settings = make_settings(tmp_path / "bot.sqlite3")
    built = build_application(settings, request=FakeBotApi(LoopbackTelegram()))
    clock = built.services.clock
    if engine == "postgres":
        assert isinstance(clock, DatabaseClock)
        await built.services.database.open()
        await clock.sync(built.services.database)
        assert abs(clock() - time.time()) < 1.0
        await built.services.database.close()
    else:
        assert clock is time.time
