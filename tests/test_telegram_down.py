"""Telegram is down when the bot owes a customer a message: it arrives once, after recovery."""

from __future__ import annotations

import pytest

from bot.backends.base import ComplaintStatus, StatusCode
from bot.loopback.telegram import OutageKind
from bot.storage.deliveries import DeliveryState, DeliveryStore
from bot.telegram_html import plain_text
from tests.helpers.backends import ScriptedBackend
from tests.helpers.driver import BotHarness

pytestmark = pytest.mark.both_engines

OUTAGES: list[OutageKind] = ["502", "drop", "429"]


def _holding(bot: BotHarness, chat_id: int, words: str) -> list[str]:
    texts = [plain_text(m.text) for m in bot.api.chat_messages(chat_id)]
    return [text for text in texts if words in text]


async def _through_the_outage(bot: BotHarness, seconds: float, step: float = 5) -> None:
    waited = 0.0
    while waited < seconds:
        await bot.advance(step)
        waited += step


@pytest.mark.parametrize("kind", OUTAGES)
async def test_the_card_arrives_once_after_telegram_comes_back(harness_factory, kind) -> None:
    backend = ScriptedBackend()
    bot = await harness_factory(backend)
    ada = bot.customer()
    await ada.file_complaint()
    bot.api.telegram.outage(25, kind)

    await bot.settle()  # registered at the backend; Telegram refuses the card
    assert _holding(bot, ada.id, "Complaint number") == []
    await _through_the_outage(bot, 60)  # retries back off to at most 30 s apart

    assert len(_holding(bot, ada.id, "Complaint number: 500001")) == 1
    assert len(backend.calls) == 1
    store = DeliveryStore(bot.built.services.database)
    assert {d.kind for d in await store.in_state(DeliveryState.PENDING)} == set()
    assert [d.kind for d in await store.in_state(DeliveryState.SENT)] == ["card"]


@pytest.mark.parametrize("kind", OUTAGES)
async def test_a_status_change_arrives_once_after_telegram_comes_back(
    harness_factory, kind
) -> None:
    backend = ScriptedBackend(name="middleware")
    bot = await harness_factory(backend)
    ada = bot.customer()
    await ada.file_complaint()
    await bot.settle()
    backend.statuses["500001"] = ComplaintStatus(code=StatusCode.RESOLVED, text="done")
    bot.api.telegram.outage(20, kind)
    bot.clock.advance(31 * 60)
    assert await bot.built.poller.poll() == 1  # recorded, though not yet told

    await _through_the_outage(bot, 60)
    assert len(_holding(bot, ada.id, "is now resolved")) == 1
    bot.clock.advance(31 * 60)
    await bot.built.poller.poll()  # a final status is not asked again, nor told again
    await bot.settle()
    assert len(_holding(bot, ada.id, "is now resolved")) == 1


async def test_a_429_is_never_retried_sooner_than_telegram_asked(harness_factory) -> None:
    bot = await harness_factory(ScriptedBackend())
    ada = bot.customer()
    await ada.file_complaint()
    bot.api.telegram.outage(1, "429", retry_after=30)
    await bot.settle()
    tries = len(bot.api.calls_to("editMessageText"))
    await bot.advance(25)  # the outage is long over, but Telegram asked for 30 s
    assert len(bot.api.calls_to("editMessageText")) == tries
    await bot.advance(10)
    assert len(_holding(bot, ada.id, "Complaint number: 500001")) == 1


async def test_a_customer_who_blocked_the_bot_is_not_retried(harness_factory) -> None:
    bot = await harness_factory(ScriptedBackend())
    ada = bot.customer()
    await ada.file_complaint()
    edits = len(bot.api.calls_to("editMessageText"))
    bot.api.fail_next("editMessageText", "Forbidden: bot was blocked by the user", code=403)
    await bot.settle()
    await bot.advance(600)
    assert len(bot.api.calls_to("editMessageText")) == edits + 1
    store = DeliveryStore(bot.built.services.database)
    assert [d.kind for d in await store.in_state(DeliveryState.BLOCKED)] == ["card"]


async def test_a_summary_that_cannot_be_edited_gets_the_card_as_one_new_message(
    harness_factory,
) -> None:
    bot = await harness_factory(ScriptedBackend())
    ada = bot.customer()
    await ada.file_complaint()
    edits = len(bot.api.calls_to("editMessageText"))
    bot.api.fail_next("editMessageText", "Bad Request: message to edit not found")
    bot.api.fail_next("sendMessage", "Bad Gateway", code=502)
    await bot.settle()
    await bot.advance(10)  # the retry sends (as decided), it does not try the edit again
    assert len(bot.api.calls_to("editMessageText")) == edits + 1
    assert len(_holding(bot, ada.id, "Complaint number: 500001")) == 1


async def test_a_message_given_up_is_told_to_operators_once_telegram_is_back(
    harness_factory,
) -> None:
    operators = -100777
    bot = await harness_factory(
        ScriptedBackend(), operator_chat_id=operators, submit_give_up_hours=1
    )
    ada = bot.customer()
    await ada.file_complaint()
    bot.api.telegram.outage(4000, "502")
    await bot.settle()
    await _through_the_outage(bot, 4200, step=300)

    assert _holding(bot, ada.id, "Complaint number") == []  # given up after an hour
    posts = [plain_text(m.text) for m in bot.api.chat_messages(operators)]
    assert len([p for p in posts if "could not be delivered" in p and str(ada.id) in p]) == 1
    store = DeliveryStore(bot.built.services.database)
    given_up = await store.in_state(DeliveryState.GIVEN_UP)
    assert sorted(d.kind for d in given_up) == ["card", "operator-registered"]
