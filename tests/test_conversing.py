"""Operators and customers talk about a complaint inside Telegram: replies both ways, once."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from bot.cli.desk import show
from bot.loopback.customer import OperatorUpdates, make_user
from bot.loopback.telegram import ChatMessage
from bot.storage.deliveries import DeliveryState, DeliveryStore
from bot.telegram_html import plain_text
from tests.helpers.driver import BotHarness, Customer, FakeClock, make_settings, sample_bytes

pytestmark = pytest.mark.both_engines

OPERATORS = -100777
WRITE = "✍️ Write about this complaint"


async def _team_and_ada(
    harness_factory: Any, *, forum: bool = False, **settings: Any
) -> tuple[BotHarness, OperatorUpdates, Customer]:
    bot: BotHarness = await harness_factory(operator_chat_id=OPERATORS, **settings)
    bot.api.telegram.add_group(OPERATORS, "Shop team", forum=forum)
    olga = OperatorUpdates(OPERATORS, make_user(7001, "Olga"), title="Shop team", forum=forum)
    ada = bot.customer()
    await ada.file_complaint(problem="The kettle leaks from the lid.")
    await bot.settle()
    return bot, olga, ada


def _posts(bot: BotHarness) -> list[ChatMessage]:
    return bot.api.chat_messages(OPERATORS)


def _post_of(bot: BotHarness, words: str) -> ChatMessage:
    return [m for m in _posts(bot) if words in plain_text(m.text)][-1]


def _said(bot: BotHarness, chat_id: int, words: str) -> list[ChatMessage]:
    return [m for m in bot.api.chat_messages(chat_id) if words in plain_text(m.text)]


async def test_an_operators_reply_reaches_the_customer_once_and_is_marked_delivered(
    harness_factory: Any,
) -> None:
    bot, olga, ada = await _team_and_ada(harness_factory)
    post = _post_of(bot, "New complaint 100001")
    reply = olga.text("Could you send a photo of the lid?", reply_to=post)

    await bot.feed(reply, OPERATORS)
    await bot.settle()
    [relayed] = _said(bot, ada.id, "Re: complaint 100001 (order 748596):")
    assert "Could you send a photo of the lid?" in plain_text(relayed.text)
    assert relayed.buttons == [WRITE]
    operator_message = reply["message"]["message_id"]
    assert bot.api.telegram.reactions_of(OPERATORS, operator_message) == ["👍"]

    await bot.feed(reply, OPERATORS, update_id=bot.last_update_id)  # Telegram redelivers it
    await bot.settle()
    assert len(_said(bot, ada.id, "Re: complaint 100001")) == 1


async def test_the_customer_answers_with_a_photo_and_the_operators_see_it_under_the_post(
    harness_factory: Any,
) -> None:
    bot, olga, ada = await _team_and_ada(harness_factory)
    post = _post_of(bot, "New complaint 100001")
    await bot.feed(olga.text("A photo, please.", reply_to=post), OPERATORS)
    await bot.settle()
    [relayed] = _said(bot, ada.id, "Re: complaint 100001")

    turn = await ada.send_file("photo", caption="Here, the crack.", reply_to=relayed)
    assert "Sent to the shop's team with complaint 100001" in plain_text(turn.text)
    await bot.settle()
    [photo] = [m for m in _posts(bot) if m.file_kind == "photo"]
    assert "Ada" in plain_text(photo.text) and "complaint 100001" in plain_text(photo.text)
    assert "Here, the crack." in plain_text(photo.text)
    assert photo.reply_to == post.message_id  # the thread: replies to the complaint's post


async def test_reply_command_and_its_mistakes(harness_factory: Any) -> None:
    bot, olga, ada = await _team_and_ada(harness_factory)
    await bot.feed(olga.command("reply", "100001", "We are sending a new one."), OPERATORS)
    await bot.feed(olga.command("reply", "999999", "Hello?"), OPERATORS)
    await bot.feed(olga.command("reply", mention=True), OPERATORS)
    await bot.settle()
    [relayed] = _said(bot, ada.id, "Re: complaint 100001")
    assert plain_text(relayed.text).endswith("We are sending a new one.")
    assert _said(bot, OPERATORS, "There is no complaint 999999.")
    assert _said(bot, OPERATORS, "/reply NUMBER your message")


async def test_write_about_this_complaint_relays_the_next_message_only(
    harness_factory: Any,
) -> None:
    bot, _, ada = await _team_and_ada(harness_factory)
    card = _said(bot, ada.id, "Complaint number: 100001")[-1]
    assert WRITE in card.buttons

    turn = await ada.press(WRITE)
    assert "about complaint 100001 (order 748596)" in plain_text(turn.text)
    turn = await ada.send("It also leaks from the bottom.")
    assert "Sent to the shop's team with complaint 100001" in plain_text(turn.text)
    assert turn.buttons == [WRITE]
    await bot.settle()
    [wrote] = _said(bot, OPERATORS, "It also leaks from the bottom.")
    assert "Ada" in plain_text(wrote.text) and "complaint 100001" in plain_text(wrote.text)

    turn = await ada.send("And another thing")  # not a follow-up any more
    assert "Sent to the shop" not in plain_text(turn.text)
    await bot.settle()
    assert _said(bot, OPERATORS, "And another thing") == []


async def test_cancel_leaves_the_writing_mode(harness_factory: Any) -> None:
    bot, _, ada = await _team_and_ada(harness_factory)
    await ada.press(WRITE)
    turn = await ada.send("/cancel")
    assert "nothing was sent" in plain_text(turn.text)
    await ada.send("Never mind")
    await bot.settle()
    assert _said(bot, OPERATORS, "Never mind") == []


async def test_a_customer_with_two_complaints_writes_about_the_one_they_answer(
    harness_factory: Any,
) -> None:
    bot, _, ada = await _team_and_ada(harness_factory)
    await ada.file_complaint(order_id="ORD-2", problem="The toaster burns everything.")
    await bot.settle()
    first_card = _said(bot, ada.id, "Complaint number: 100001")[-1]

    await ada.send("The lid is cracked too.", reply_to=first_card)
    await bot.settle()
    [wrote] = _said(bot, OPERATORS, "The lid is cracked too.")
    assert "complaint 100001 (order 748596)" in plain_text(wrote.text)
    assert wrote.reply_to == _post_of(bot, "New complaint 100001").message_id


async def test_a_blocked_customer_is_reported_to_the_operator_in_words(
    harness_factory: Any,
) -> None:
    bot, olga, ada = await _team_and_ada(harness_factory)
    bot.api.telegram.block(ada.id)
    reply = olga.text("Hello?", reply_to=_post_of(bot, "New complaint 100001"))
    await bot.feed(reply, OPERATORS)
    await bot.settle()
    [told] = _said(bot, OPERATORS, "Not delivered to the customer")
    assert "the customer has blocked the bot" in plain_text(told.text)
    assert told.reply_to == reply["message"]["message_id"]
    assert bot.api.telegram.reactions_of(OPERATORS, reply["message"]["message_id"]) == []


async def test_with_telegram_down_the_reply_arrives_once_when_it_is_back(
    harness_factory: Any,
) -> None:
    bot, olga, ada = await _team_and_ada(harness_factory)
    reply = olga.text("We are on it.", reply_to=_post_of(bot, "New complaint 100001"))
    bot.api.telegram.outage(20, "502")
    await bot.feed(reply, OPERATORS)
    await bot.settle()
    assert _said(bot, ada.id, "We are on it.") == []
    for _ in range(12):
        await bot.advance(5)
    assert len(_said(bot, ada.id, "We are on it.")) == 1
    assert bot.api.telegram.reactions_of(OPERATORS, reply["message"]["message_id"]) == ["👍"]
    store = DeliveryStore(bot.built.services.database)
    assert [d.kind for d in await store.in_state(DeliveryState.PENDING)] == []


async def test_in_a_forum_each_complaint_has_its_topic(harness_factory: Any) -> None:
    bot, olga, ada = await _team_and_ada(harness_factory, forum=True)
    [topic] = bot.api.telegram.topics(OPERATORS)
    assert topic.name == "100001 · order 748596"
    post = _post_of(bot, "New complaint 100001")
    assert post.thread_id == topic.message_thread_id

    await bot.feed(olga.text("Between us: probably the seal.", thread_id=topic), OPERATORS)
    await bot.feed(olga.text("Which colour is it?", reply_to=post, thread_id=topic), OPERATORS)
    await bot.settle()
    assert _said(bot, ada.id, "probably the seal") == []  # not a reply: among operators
    [relayed] = _said(bot, ada.id, "Which colour is it?")
    await ada.send("Red.", reply_to=relayed)
    await bot.settle()
    [wrote] = _said(bot, OPERATORS, "Red.")
    assert wrote.thread_id == topic.message_thread_id


async def test_without_an_operator_chat_there_is_no_write_button(harness_factory: Any) -> None:
    bot: BotHarness = await harness_factory()
    ada = bot.customer()
    await ada.file_complaint()
    await bot.settle()
    card = _said(bot, ada.id, "Complaint number: 100001")[-1]
    assert WRITE not in card.buttons


async def test_the_thread_is_shown_by_desk_show_and_to_the_customer(
    harness_factory: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    bot, olga, ada = await _team_and_ada(harness_factory)
    await bot.feed(olga.text("Is it the lid?", reply_to=_post_of(bot, "New complaint")), OPERATORS)
    await bot.settle()
    await ada.press(WRITE)
    photo = bot.api.telegram.add_file(sample_bytes("photo"))
    await bot.feed(ada.updates.file(photo, caption="Yes, the lid."), ada.id)
    await bot.settle()

    capsys.readouterr()
    assert await show(bot.settings, "100001") == 0
    printed = capsys.readouterr().out
    assert "  thread:   2" in printed
    assert "operator Olga: Is it the lid?" in printed
    assert "customer Ada Lovelace (@ada): Yes, the lid." in printed
    assert photo.file_id in printed

    turn = await ada.send("/mycomplaints")
    assert turn.buttons == ["100001 · 748596"]
    turn = await ada.press("100001 · 748596")
    assert "Latest messages" in plain_text(turn.text)
    assert "Shop: Is it the lid?" in plain_text(turn.text) and "You: Yes, the lid." in plain_text(
        turn.text
    )


async def test_outside_working_hours_the_customer_is_told_when_the_team_is_back(
    tmp_path: Path,
) -> None:
    saturday_noon = datetime(2026, 5, 30, 12, 0, tzinfo=UTC).timestamp()
    settings = make_settings(
        tmp_path / "bot.sqlite3",
        operator_chat_id=OPERATORS,
        operator_hours="Mon-Fri 09:00-17:00 Europe/Prague",
    )
    bot = BotHarness(settings, clock=FakeClock(saturday_noon))
    await bot.start()
    try:
        bot.api.telegram.add_group(OPERATORS, "Shop team")
        ada = bot.customer()
        await ada.file_complaint()
        await bot.settle()
        await ada.press(WRITE)
        turn = await ada.send("Is anyone there?")
        said = plain_text(turn.text)
        assert "They are away now and back 2026-06-01 09:00 CEST" in said
        await bot.settle()
        assert _said(bot, OPERATORS, "Is anyone there?")  # relayed all the same
    finally:
        await bot.stop()
