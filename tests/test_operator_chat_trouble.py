"""The operator chat in trouble: a deleted topic, the bot removed or muted; nothing is lost."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from prometheus_client.exposition import generate_latest

from bot.cli.complaints import list_complaints
from bot.loopback.customer import OperatorUpdates, make_user
from bot.storage.deliveries import DeliveryState, DeliveryStore
from bot.storage.ledger import LedgerState
from bot.telegram_html import plain_text
from tests.helpers.driver import BotHarness, Customer

pytestmark = pytest.mark.both_engines

OPERATORS = -100888
WRITE = "✍️ Write about this complaint"


async def _team_and_ada(harness_factory: Any, *, forum: bool) -> tuple[BotHarness, Customer]:
    bot: BotHarness = await harness_factory(operator_chat_id=OPERATORS)
    bot.api.telegram.add_group(OPERATORS, "Shop team", forum=forum)
    ada = bot.customer()
    await ada.file_complaint(problem="The kettle leaks from the lid.")
    await bot.settle()
    return bot, ada


def _posts_with(bot: BotHarness, words: str) -> list[Any]:
    return [m for m in bot.api.chat_messages(OPERATORS) if words in plain_text(m.text)]


async def _write(ada: Customer, text: str) -> str:
    await ada.press(WRITE)
    turn = await ada.send(text)
    return turn.text


def _metric(bot: BotHarness, name: str) -> str:
    exposition = generate_latest(bot.built.metrics.registry).decode()
    return "\n".join(line for line in exposition.splitlines() if line.startswith(name))


async def test_a_deleted_topic_is_opened_again_and_the_thread_continues_there(
    harness_factory: Any,
) -> None:
    bot, ada = await _team_and_ada(harness_factory, forum=True)
    [old] = bot.api.telegram.topics(OPERATORS)
    bot.api.telegram.delete_topic(OPERATORS, old.message_thread_id)
    told = await _write(ada, "Hello? The lid is still leaking.")
    assert "Sent to the shop's team" in told
    [new] = bot.api.telegram.topics(OPERATORS)
    assert new.message_thread_id != old.message_thread_id
    assert new.name == "100001 · order 748596"
    [post] = _posts_with(bot, "still leaking")
    assert post.thread_id == new.message_thread_id
    # Once: the next message goes to the new topic straight away.
    await _write(ada, "And the handle is loose.")
    [post] = _posts_with(bot, "handle is loose")
    assert post.thread_id == new.message_thread_id
    assert len(bot.api.telegram.topics(OPERATORS)) == 1
    # An operator's answer in the new topic reaches her.
    olga = OperatorUpdates(OPERATORS, make_user(7001, "Olga"), title="Shop team", forum=True)
    await bot.feed(
        olga.text("We send a new lid.", reply_to=post, thread_id=new.message_thread_id), OPERATORS
    )
    await bot.settle()
    assert any("We send a new lid." in m.text for m in ada.messages())
    assert 'reason="topic_deleted"} 1.0' in _metric(bot, "complaint_bot_operator_chat_refusals")


@pytest.mark.parametrize("trouble", ["removed", "no_rights"])
async def test_with_the_bot_removed_or_muted_the_posts_wait_and_arrive_when_it_is_back(
    harness_factory: Any,
    trouble: str,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    bot, ada = await _team_and_ada(harness_factory, forum=False)
    telegram = bot.api.telegram
    if trouble == "removed":
        telegram.remove_bot(OPERATORS)
    else:
        telegram.forbid_posting(OPERATORS)
    with caplog.at_level(logging.INFO):
        told = await _write(ada, "First: the lid leaks.")
        assert "Sent to the shop's team" not in told
        assert "will see it as soon as Telegram lets the bot post it" in told
        told = await _write(ada, "Second: and it drips.")
        assert "Sent to the shop's team" not in told
        bob = bot.customer("Bob")
        await bob.file_complaint(problem="The toaster is cold.")
        await bot.settle()
        await bot.advance(1800)
    # The complaints are unaffected: registered, the customers have their numbers.
    assert "100002" in bob.messages()[-1].text
    entries = await bot.built.services.ledger.in_state(LedgerState.REGISTERED)
    assert len(entries) == 2
    # Nothing was given up; the operators' posts wait, listed for the operator.
    store = DeliveryStore(bot.built.services.database)
    assert await store.in_state(DeliveryState.GIVEN_UP) == []
    waiting = [d.kind for d in await store.waiting()]
    assert waiting[:1] == ["operator-customer-message"] and len(waiting) >= 1
    capsys.readouterr()
    assert await list_complaints(bot.settings, ["undelivered"]) == 0
    listed = capsys.readouterr().out
    assert "operator-customer-message" in listed and "waiting" in listed
    # One log line for the change of state, not one per attempt; the metric shows it.
    refusing = [r for r in caplog.records if "refuses the bot's posts" in r.getMessage()]
    assert len(refusing) == 1 and refusing[0].levelno == logging.ERROR
    assert _metric(bot, "complaint_bot_operator_chat_up ") == "complaint_bot_operator_chat_up 0.0"
    # The bot is added back: within the retry ceiling the backlog arrives, in order.
    telegram.add_bot_back(OPERATORS)
    with caplog.at_level(logging.INFO):
        for _ in range(11):
            await bot.advance(60)
    texts = [plain_text(m.text) for m in bot.api.chat_messages(OPERATORS)]
    first = next(i for i, t in enumerate(texts) if "First: the lid leaks." in t)
    second = next(i for i, t in enumerate(texts) if "Second: and it drips." in t)
    assert first < second
    assert any("New complaint 100002" in t for t in texts)
    assert await store.waiting() == []
    assert any("takes the bot's posts again" in r.getMessage() for r in caplog.records)
    assert _metric(bot, "complaint_bot_operator_chat_up ") == "complaint_bot_operator_chat_up 1.0"


async def test_one_customer_cannot_flood_the_operator_chat(harness_factory: Any) -> None:
    bot: BotHarness = await harness_factory(operator_chat_id=OPERATORS, follow_ups_per_hour=3)
    bot.api.telegram.add_group(OPERATORS, "Shop team")
    ada = bot.customer()
    await ada.file_complaint(problem="The kettle leaks from the lid.")
    await bot.settle()
    for n in range(3):
        assert "Sent to the shop's team" in await _write(ada, f"Message {n}.")
        bot.clock.advance(60)
    told = await _write(ada, "Message 3.")
    assert "not passed on" in told and "3 messages" in told and "57 min" in told
    assert _posts_with(bot, "Message 3.") == []
    assert len([m for m in bot.api.chat_messages(OPERATORS) if "Message " in m.text]) == 3
    # Another customer is not held back by her.
    bob = bot.customer("Bob")
    await bob.file_complaint(problem="The toaster is cold.")
    await bot.settle()
    assert "Sent to the shop's team" in await _write(bob, "Bob's message.")
    # An hour after her first, she may write again.
    bot.clock.advance(3600)
    assert "Sent to the shop's team" in await _write(ada, "Message 3, again.")
    assert len(_posts_with(bot, "Message 3, again.")) == 1
