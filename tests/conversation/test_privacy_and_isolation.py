"""Customers never see or touch each other's drafts and complaints; groups get a pointer to the
private chat; whatever a customer types is shown as text, never as markup."""

import itertools
from typing import Any

import pytest

from tests.conversation.steps import (
    CATEGORY,
    CONFIRM,
    NO_CONVERSATION,
    NOT_FOUND,
    ORDER,
    PROBLEM,
    STALE_BUTTON,
    assert_asks,
    assert_repeats,
    assert_summary,
    assert_telegram_html,
    listed_complaints,
    reach,
    submit_and_settle,
)
from tests.helpers.bot_api import BOT_USERNAME
from tests.helpers.driver import BotHarness, Customer, Turn

GROUP_ID = -1001234567890
_group_message_ids = itertools.count(1)


async def say_in_group(
    bot: BotHarness, customer: Customer, text: str, chat_type: str = "group"
) -> Turn:
    """The customer writes in a group the bot is a member of."""
    message: dict[str, Any] = {
        "message_id": next(_group_message_ids),
        "date": int(bot.clock()),
        "chat": {"id": GROUP_ID, "type": chat_type, "title": "Family orders"},
        "from": customer.user,
        "text": text,
    }
    if text.startswith("/"):
        command = text.split()[0]
        message["entities"] = [{"type": "bot_command", "offset": 0, "length": len(command)}]
    return await bot.feed({"message": message}, GROUP_ID)


# -- two customers at once --------------------------------------------------------------------


async def test_two_customers_interleaving_keep_their_own_drafts(bot: BotHarness) -> None:
    ada, bob = bot.customer("Ada"), bot.customer("Bob")

    assert_asks(await ada.send("/complaint"), "order_id")
    assert_asks(await bob.send("/complaint"), "order_id")
    assert_asks(await ada.send("ADA-1"), "problem")
    assert_asks(await bob.send("BOB-2"), "problem")
    assert_asks(await bob.send("Bob's parcel never came."), "category")
    assert_asks(await ada.send("Ada's blender is cracked."), "category")

    # a category button of Ada's pressed by Bob (say, a forwarded screenshot's data) is refused
    turn = await bob.press_data(ada.last_message_with("Payment").callback_data("Payment"))
    assert turn.toast == STALE_BUTTON

    ada_summary = (await ada.press("Product-related")).text
    bob_summary = (await bob.press("Delivery")).text
    assert_summary(
        ada_summary, order="ADA-1", category="Product-related", problem="Ada's blender is cracked."
    )
    assert_summary(
        bob_summary, order="BOB-2", category="Delivery", problem="Bob's parcel never came."
    )

    # each tap files its own complaint, and each card lands in its own chat
    await bob.press("Submit")
    await ada.press("Submit")
    await bot.settle()

    ada_card, bob_card = ada.messages()[-1].text, bob.messages()[-1].text
    assert "<b>Complaint number:</b> 100002" in ada_card
    assert "ADA-1" in ada_card
    assert "<b>Complaint number:</b> 100001" in bob_card
    assert "BOB-2" in bob_card
    assert [line.split(" · ")[1] for line in await listed_complaints(ada)] == ["order ADA-1"]
    assert [line.split(" · ")[1] for line in await listed_complaints(bob)] == ["order BOB-2"]


async def test_one_customer_cancelling_leaves_the_other_alone(bot: BotHarness) -> None:
    ada, bob = bot.customer("Ada"), bot.customer("Bob")
    await reach(ada, CONFIRM)
    await reach(bob, CONFIRM)
    await ada.send("/cancel")
    await submit_and_settle(bot, bob)
    assert await listed_complaints(ada) == []
    assert len(await listed_complaints(bob)) == 1


# -- /status and the status button ------------------------------------------------------------


async def test_status_of_someone_elses_complaint_looks_like_a_missing_one(
    bot: BotHarness,
) -> None:
    bob, eve = bot.customer("Bob"), bot.customer("Eve")
    await reach(bob, CONFIRM)
    await submit_and_settle(bot, bob)  # Bob's complaint is number 100001

    others = await eve.send("/status 100001")
    missing = await eve.send("/status 100002")
    assert others.text == f"{NOT_FOUND} <b>100001</b> among your complaints."
    assert others.text.replace("100001", "N") == missing.text.replace("100002", "N")
    assert others.buttons == missing.buttons == []
    assert ORDER not in others.text

    own = await bob.send("/status 100001")
    assert own.text == f"Complaint <b>100001</b> (order {ORDER}): <b>received</b>"


async def test_a_forged_status_press_for_someone_elses_complaint_is_refused(
    bot: BotHarness,
) -> None:
    bob, eve = bot.customer("Bob"), bot.customer("Eve")
    await reach(bob, CONFIRM)
    await submit_and_settle(bot, bob)
    bobs_data = bob.last_message_with("Check status").callback_data("Check status")

    await eve.send("/start")
    turn = await eve.press_data(bobs_data)
    assert turn.toast == STALE_BUTTON
    assert turn.silent
    assert ORDER not in str([c.params for c in turn.calls])

    # in the middle of a draft, Eve is asked her question again, and Bob's stays hidden
    question = await reach(eve, "problem")
    turn = await eve.press_data(bobs_data)
    assert turn.toast == STALE_BUTTON
    assert turn.text.endswith(question.text)
    assert ORDER not in turn.text


# -- groups -----------------------------------------------------------------------------------


@pytest.mark.parametrize("chat_type", ["group", "supergroup"])
@pytest.mark.parametrize(
    "command", ["/complaint", f"/complaint@{BOT_USERNAME}", "/start", "/mycomplaints"]
)
async def test_a_command_in_a_group_gets_one_pointer_to_the_private_chat(
    bot: BotHarness, chat_type: str, command: str
) -> None:
    ada = bot.customer()
    turn = await say_in_group(bot, ada, command, chat_type)

    sent = [c for c in turn.calls if c.method in ("sendMessage", "sendPhoto", "editMessageText")]
    assert len(sent) == 1
    assert sent[0].chat_id == GROUP_ID
    assert f"https://t.me/{BOT_USERNAME}" in turn.text
    assert "private chat" in turn.text
    assert turn.buttons == []

    # no draft was started: in the private chat an order ID is not taken as an answer
    turn = await ada.send(ORDER)
    assert NO_CONVERSATION in turn.text


@pytest.mark.parametrize("command", ["/start@some_other_bot", "/help@SomeOtherBot now"])
async def test_a_command_for_another_bot_in_a_group_is_ignored(
    bot: BotHarness, command: str
) -> None:
    ada = bot.customer()
    turn = await say_in_group(bot, ada, command)
    assert turn.calls == []


async def test_a_command_to_this_bot_is_recognised_in_any_case(bot: BotHarness) -> None:
    ada = bot.customer()
    turn = await say_in_group(bot, ada, f"/complaint@{BOT_USERNAME.upper()}")
    assert f"https://t.me/{BOT_USERNAME}" in turn.text


async def test_editing_a_command_in_a_group_does_not_answer_again(bot: BotHarness) -> None:
    ada = bot.customer()
    first = await say_in_group(bot, ada, "/complaint")
    assert len(first.replies) == 1
    edited = {
        "message_id": next(_group_message_ids),
        "date": int(bot.clock()),
        "edit_date": int(bot.clock()),
        "chat": {"id": GROUP_ID, "type": "group", "title": "Family orders"},
        "from": ada.user,
        "text": "/complaint please",
        "entities": [{"type": "bot_command", "offset": 0, "length": len("/complaint")}],
    }
    turn = await bot.feed({"edited_message": edited}, GROUP_ID)
    assert turn.calls == []


@pytest.mark.parametrize("text", [ORDER, "my order is broken", "Delivery"])
async def test_plain_group_messages_are_ignored(bot: BotHarness, text: str) -> None:
    ada = bot.customer()
    await reach(ada, "order_id")  # even with a draft open in the private chat
    turn = await say_in_group(bot, ada, text)
    assert turn.calls == []
    turn = await ada.send(ORDER)  # the private draft did not move
    assert_asks(turn, "problem")


# -- customer text is shown as text -----------------------------------------------------------


async def test_html_in_the_problem_is_shown_escaped(bot: BotHarness) -> None:
    ada = bot.customer()
    await reach(ada, "problem")
    problem = "<b>bold</b> & <script>alert(1)</script>"
    await ada.send(problem)
    turn = await ada.press(CATEGORY)

    assert (
        "<b>Problem:</b> &lt;b&gt;bold&lt;/b&gt; &amp; &lt;script&gt;alert(1)&lt;/script&gt;"
        in turn.text
    )
    assert_telegram_html(turn.text)
    await submit_and_settle(bot, ada)

    # filed as typed (escaping is for display only)
    (entry,) = await bot.built.services.ledger.for_customer(ada.id)
    assert entry.envelope.entity.problemStatment == problem
    for call in bot.api.calls:
        if call.params.get("parse_mode") == "HTML":
            assert_telegram_html(call.text)


@pytest.mark.parametrize(
    "name", ["<i>Eve</i>", "Tom & Jerry", "a<b", "</b>", "&lt;", '<a href="x">Eve</a>']
)
async def test_a_first_name_with_html_is_escaped_in_the_greeting(
    bot: BotHarness, name: str
) -> None:
    eve = bot.customer(name)
    turn = await eve.send("/start")
    assert_telegram_html(turn.text)
    if name == "<i>Eve</i>":
        assert turn.text.startswith("Hello &lt;i&gt;Eve&lt;/i&gt;!")

    # and everything else the bot says to them parses too
    await reach(eve, CONFIRM)
    await submit_and_settle(bot, eve)
    await eve.send("/mycomplaints")
    await eve.send("/status 100001")
    for call in bot.api.calls:
        if call.params.get("parse_mode") == "HTML":
            assert_telegram_html(call.text)


async def test_html_in_a_status_number_is_escaped(bot: BotHarness) -> None:
    eve = bot.customer()
    turn = await eve.send("/status <b>1</b>")
    assert "&lt;b&gt;1&lt;/b&gt;" in turn.text
    assert_telegram_html(turn.text)


async def test_html_in_a_group_members_name_is_harmless(bot: BotHarness) -> None:
    eve = bot.customer("<b>Eve")
    turn = await say_in_group(bot, eve, "/complaint")
    assert_telegram_html(turn.text)


# -- Submit, twice ----------------------------------------------------------------------------


async def test_a_double_tap_on_submit_files_one_complaint(bot: BotHarness) -> None:
    ada = bot.customer()
    await reach(ada, CONFIRM)
    summary = ada.last_message_with("Submit")
    submit = summary.callback_data("Submit")

    first = await ada.press_data(submit, on=summary)
    assert first.toast == "Submitting…"
    second = await ada.press_data(submit, on=summary)
    assert second.toast == "This complaint has already been submitted."
    assert second.silent

    await bot.settle()
    third = await ada.press_data(submit, on=summary)  # after it is registered, too
    assert third.toast == "This complaint has already been submitted."
    assert third.silent
    await bot.settle()
    (listed,) = await listed_complaints(ada)
    assert "100001" in listed


async def test_an_old_submit_during_a_new_draft_says_already_submitted(bot: BotHarness) -> None:
    ada = bot.customer()
    await reach(ada, CONFIRM)
    summary = ada.last_message_with("Submit")
    submit = summary.callback_data("Submit")
    await ada.press_data(submit, on=summary)
    await bot.settle()

    question = await reach(ada, "problem")
    turn = await ada.press_data(submit, on=summary)
    assert turn.toast == "This complaint has already been submitted."
    assert len(turn.replies) == 1
    assert_repeats(turn, question)  # the open draft's question, as for any old button
    turn = await ada.send(PROBLEM)  # the new draft did not move
    assert_asks(turn, "category")
    assert len(await listed_complaints(ada)) == 1
