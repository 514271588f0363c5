"""Every update is processed once, in order per customer, and no customer holds everyone up."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from bot.backends.base import ComplaintStatus, Receipt
from tests.helpers.backends import ScriptedBackend
from tests.helpers.driver import BotHarness, make_settings

pytestmark = pytest.mark.both_engines


async def test_a_redelivered_step_is_dropped(bot: BotHarness) -> None:
    ada = bot.customer()
    await ada.send("/complaint")
    order = ada.updates.text("748596")
    first = await bot.feed(order, ada.id, update_id=500)
    assert "problem" in first.text
    again = await bot.feed(order, ada.id, update_id=500)
    assert again.silent  # not taken as the problem statement
    turn = await ada.send("The blender arrived broken.")
    assert "category" in turn.text


async def test_an_update_redelivered_after_a_restart_is_dropped(bot: BotHarness) -> None:
    ada = bot.customer()
    await ada.send("/complaint")
    order = ada.updates.text("748596")
    await bot.feed(order, ada.id, update_id=700)
    await bot.restart()  # polling's offset was not confirmed: Telegram sends it again
    assert (await bot.feed(order, ada.id, update_id=700)).silent


async def test_an_update_that_changed_nothing_is_answered_once_too(bot: BotHarness) -> None:
    ada = bot.customer()
    help_ = ada.updates.text("/help")
    assert "/complaint" in (await bot.feed(help_, ada.id, update_id=900)).text
    assert (await bot.feed(help_, ada.id, update_id=900)).silent
    await bot.restart()  # written on a clean stop
    assert (await bot.feed(help_, ada.id, update_id=900)).silent


async def test_a_customer_queued_behind_a_slow_step_holds_one_slot_not_all(
    harness_factory, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("bot.concurrency.MAX_CONCURRENT_UPDATES", 4)
    backend = ScriptedBackend(name="middleware")
    bot = await harness_factory(backend)
    ada = bot.customer("Ada")
    await ada.file_complaint()
    await bot.settle()
    stuck = asyncio.Event()

    async def hanging(receipt: Receipt, envelope: object) -> ComplaintStatus:
        await stuck.wait()
        raise AssertionError("unreachable")

    backend.status = hanging  # type: ignore[method-assign]
    # Ada asks for her status again and again while the backend does not answer.
    asking = [asyncio.create_task(ada.send("/status 500001")) for _ in range(12)]
    await asyncio.sleep(0.05)
    bob = bot.customer("Bob")
    async with asyncio.timeout(2):
        turn = await bob.send("/start")
    assert "Hello Bob" in turn.text
    stuck.set()
    await asyncio.gather(*asking, return_exceptions=True)


async def test_two_processes_on_one_database_take_a_redelivered_step_once(
    tmp_path: Path,
) -> None:
    settings = make_settings(tmp_path / "bot.sqlite3")
    first = BotHarness(settings)
    await first.start()
    # A second process on the same file, started before the update came (a restart's
    # overlap, or two webhook instances): its memory knows nothing of what the first did.
    second = BotHarness(settings, clock=first.clock, telegram=first.api.telegram)
    await second.start()
    try:
        ada = first.customer()
        await ada.send("/complaint")
        order = ada.updates.text("748596")
        assert "problem" in (await first.feed(order, ada.id, update_id=5000)).text
        again = await second.feed(order, ada.id, update_id=5000)  # Telegram sends it again
        assert again.silent  # not taken as the problem statement, no second answer
        turn = await ada.send("The blender arrived broken.")
        assert "category" in turn.text
        row = await first.built.services.database.fetch_one(
            "SELECT draft FROM conversations WHERE user_id = ?", [ada.id]
        )
        assert row is not None
        draft = json.loads(row["draft"])
        assert draft["order_id"] == "748596" and draft["problem"] == "The blender arrived broken."
    finally:
        await second.stop()
        await first.stop()
