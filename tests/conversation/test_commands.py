"""/start, /help, /mycomplaints, /status and the buttons under a result card."""

import pytest

from tests.conversation.steps import (
    CATEGORY,
    CHOOSE_EDIT,
    HELP,
    NOT_FOUND,
    ORDER,
    ORDER_ID,
    PROBLEM,
    STATES,
    answer_until_summary,
    assert_asks,
    assert_repeats,
    assert_summary,
    listed_complaints,
    reach,
    submit_and_settle,
)
from tests.helpers.driver import BotHarness, Customer

DAY = 24 * 3600


async def file(bot: BotHarness, customer: Customer, order: str, category: str) -> str:
    """Files a complaint all the way to its card; returns the card's text."""
    await customer.send("/complaint")
    await customer.send(order)
    await customer.send(PROBLEM)
    await customer.press(category)
    return await submit_and_settle(bot, customer)


# -- /start and /help -------------------------------------------------------------------------


async def test_start_mentions_every_command(bot: BotHarness) -> None:
    ada = bot.customer("Ada")
    turn = await ada.send("/start")
    assert turn.text.startswith("Hello Ada!")
    for command in ("/complaint", "/mycomplaints", "/status", "/help"):
        assert command in turn.text
    assert turn.buttons == ["Raise a complaint"]
    turn = await ada.press("Raise a complaint")
    assert_asks(turn, ORDER_ID)


async def test_help_without_a_draft(bot: BotHarness) -> None:
    ada = bot.customer()
    turn = await ada.send("/help")
    assert len(turn.replies) == 1
    assert turn.text.startswith(HELP)
    for command in ("/complaint", "/mycomplaints", "/status", "/cancel", "/help"):
        assert command in turn.text
    assert "15 minutes" in turn.text
    assert turn.buttons == []


@pytest.mark.parametrize("state", STATES)
async def test_help_in_every_state_repeats_the_question(bot: BotHarness, state: str) -> None:
    ada = bot.customer()
    question = await reach(ada, state)

    turn = await ada.send("/help")
    assert len(turn.replies) == 1
    assert turn.text.startswith(HELP)
    assert "/cancel" in turn.text
    assert_repeats(turn, question)

    # /help did not move the conversation
    summary = await answer_until_summary(ada, state)
    assert_summary(summary, order=ORDER, category=CATEGORY, problem=PROBLEM)


async def test_help_while_editing_repeats_the_edit_question(bot: BotHarness) -> None:
    ada = bot.customer()
    await reach(ada, CHOOSE_EDIT)
    question = await ada.press("Order ID")
    turn = await ada.send("/help")
    assert turn.text.startswith(HELP)
    assert_repeats(turn, question)
    turn = await ada.send("AB-777")
    assert_summary(turn.text, order="AB-777", category=CATEGORY, problem=PROBLEM)


# -- /mycomplaints ----------------------------------------------------------------------------


async def test_mycomplaints_when_there_are_none(bot: BotHarness) -> None:
    ada = bot.customer()
    turn = await ada.send("/mycomplaints")
    assert turn.text == "You have not raised any complaints yet. Send /complaint to raise one."


async def test_mycomplaints_lists_own_complaints_newest_first(bot: BotHarness) -> None:
    ada, bob = bot.customer("Ada"), bot.customer("Bob")
    await file(bot, ada, "AAA-1", "Delivery")
    await file(bot, bob, "BOB-1", "Other")
    bot.clock.advance(3 * DAY)
    await file(bot, ada, "AAA-2", "Payment")

    turn = await ada.send("/mycomplaints")
    assert turn.text == (
        "<b>Your complaints</b>, newest first:\n"
        "<b>100003</b> · order AAA-2 · Payment · May 31, 2026 · received\n"
        "<b>100001</b> · order AAA-1 · Delivery · May 28, 2026 · received"
    )
    assert await listed_complaints(bob) == [
        "<b>100002</b> · order BOB-1 · Other · May 28, 2026 · received"
    ]


async def test_mycomplaints_does_not_disturb_a_draft(bot: BotHarness) -> None:
    ada = bot.customer()
    await reach(ada, ORDER_ID)
    assert await listed_complaints(ada) == []
    turn = await ada.send(ORDER)
    assert "describe the <b>problem</b>" in turn.text


# -- /status ----------------------------------------------------------------------------------


async def test_status_of_an_own_complaint(bot: BotHarness) -> None:
    ada = bot.customer()
    await file(bot, ada, ORDER, CATEGORY)
    for command in ("/status 100001", "/status #100001", "/status   100001  "):
        turn = await ada.send(command)
        assert turn.text == "Complaint <b>100001</b> (order 748596): <b>received</b>"
        assert turn.buttons == ["Check status", "New complaint", "Withdraw"]


async def test_status_without_a_number_explains_usage(bot: BotHarness) -> None:
    ada = bot.customer()
    turn = await ada.send("/status")
    assert turn.text.startswith("Send /status with the complaint number")
    assert "<code>/status 100001</code>" in turn.text
    assert "/mycomplaints" in turn.text

    await file(bot, ada, ORDER, CATEGORY)
    await file(bot, ada, "AB-2", CATEGORY)
    turn = await ada.send("/status")
    assert "<code>/status 100002</code>" in turn.text  # the customer's own latest number


@pytest.mark.parametrize("number", ["999999", "abc", "0", "1" * 200])
async def test_status_of_an_unknown_number(bot: BotHarness, number: str) -> None:
    ada = bot.customer()
    await file(bot, ada, ORDER, CATEGORY)
    turn = await ada.send(f"/status {number}")
    assert turn.text.startswith(NOT_FOUND)
    assert turn.text.endswith("among your complaints.")
    assert turn.buttons == []
    assert len(turn.text) < 200


async def test_status_keeps_a_draft_open(bot: BotHarness) -> None:
    ada = bot.customer()
    await file(bot, ada, ORDER, CATEGORY)
    await reach(ada, ORDER_ID)
    turn = await ada.send("/status 100001")
    assert "<b>received</b>" in turn.text
    turn = await ada.send("AB-1")
    assert "describe the <b>problem</b>" in turn.text


# -- the buttons under a result card ---------------------------------------------------------


async def test_check_status_button_on_the_card(bot: BotHarness) -> None:
    ada = bot.customer()
    await file(bot, ada, ORDER, CATEGORY)
    card = ada.messages()[-1]

    turn = await ada.press("Check status", on=card)
    assert turn.toast == ""
    assert len(turn.replies) == 1
    assert turn.text == "Complaint <b>100001</b> (order 748596): <b>received</b>"
    assert turn.buttons == ["Check status", "New complaint", "Withdraw"]
    assert "Your complaint is registered" in card.text  # the card itself stays


async def test_new_complaint_button_on_the_card(bot: BotHarness) -> None:
    ada = bot.customer()
    await file(bot, ada, ORDER, CATEGORY)
    turn = await ada.press("New complaint")
    assert_asks(turn, ORDER_ID)
    await ada.send("AB-2")
    await ada.send("The second one is broken too.")
    turn = await ada.press("Other")
    assert_summary(
        turn.text, order="AB-2", category="Other", problem="The second one is broken too."
    )
    await submit_and_settle(bot, ada)
    assert len(await listed_complaints(ada)) == 2
