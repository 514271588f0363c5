"""Cancelling a draft (by /cancel or the Cancel button) and editing it from the summary."""

import pytest

from tests.conversation.steps import (
    CANCELLED,
    CATEGORY,
    CATEGORY_STEP,
    CHOOSE_EDIT,
    CONFIRM,
    NO_CONVERSATION,
    ORDER,
    ORDER_ID,
    PROBLEM,
    PROBLEM_STEP,
    STALE_BUTTON,
    STATES,
    assert_asks,
    assert_repeats,
    assert_summary,
    listed_complaints,
    reach,
    submit_and_settle,
)
from tests.helpers.driver import BotHarness, Customer

pytestmark = pytest.mark.both_engines

# -- cancel -----------------------------------------------------------------------------------


@pytest.mark.parametrize("state", STATES)
async def test_cancel_command_ends_the_draft_in_every_state(bot: BotHarness, state: str) -> None:
    ada = bot.customer()
    question = await reach(ada, state)

    turn = await ada.send("/cancel")
    assert len(turn.replies) == 1
    assert turn.text.startswith(CANCELLED)
    assert "/complaint" in turn.text

    # what the customer types next is not taken as an answer
    turn = await ada.send(ORDER)
    assert NO_CONVERSATION in turn.text
    assert turn.buttons == ["Raise a complaint"]
    # the draft's buttons are dead
    if question.buttons:
        turn = await ada.press(question.buttons[0])
        assert turn.toast == STALE_BUTTON
        assert turn.silent
    assert await listed_complaints(ada) == []


async def test_cancel_button_under_the_summary_ends_the_draft(bot: BotHarness) -> None:
    ada = bot.customer()
    await reach(ada, CONFIRM)
    summary = ada.last_message_with("Submit")
    submit_data = summary.callback_data("Submit")

    turn = await ada.press("Cancel")
    assert [c.method for c in turn.replies] == ["editMessageText"]  # the summary turns into it
    assert turn.text.startswith(CANCELLED)
    assert turn.buttons == []
    assert ada.messages()[-1].buttons == []

    # a Submit tapped on the cancelled summary (e.g. from another device) files nothing
    turn = await ada.press_data(submit_data, on=summary)
    assert turn.toast == STALE_BUTTON
    assert turn.silent
    turn = await ada.send("hello")
    assert NO_CONVERSATION in turn.text
    await bot.settle()
    assert await listed_complaints(ada) == []


async def test_cancel_with_nothing_in_progress(bot: BotHarness) -> None:
    ada = bot.customer()
    turn = await ada.send("/cancel")
    assert turn.text == "There is no complaint in progress to cancel. Send /complaint to raise one."
    await reach(ada, PROBLEM_STEP)
    turn = await ada.send("/cancel")
    assert turn.text.startswith(CANCELLED)
    turn = await ada.send("/cancel")  # twice
    assert turn.text.startswith("There is no complaint in progress to cancel.")


async def test_cancel_after_submitting_does_not_withdraw_the_complaint(bot: BotHarness) -> None:
    ada = bot.customer()
    await reach(ada, CONFIRM)
    await submit_and_settle(bot, ada)
    turn = await ada.send("/cancel")
    assert turn.text.startswith("There is no complaint in progress to cancel.")
    assert len(await listed_complaints(ada)) == 1


async def test_a_new_complaint_after_cancel_starts_from_the_order_id(bot: BotHarness) -> None:
    ada = bot.customer()
    await reach(ada, CATEGORY_STEP)
    await ada.send("/cancel")
    turn = await ada.send("/complaint")
    assert_asks(turn, ORDER_ID)
    await ada.send("AB-1234")
    await ada.send("Second try, the lid is missing.")
    turn = await ada.press("Other")
    assert_summary(
        turn.text, order="AB-1234", category="Other", problem="Second try, the lid is missing."
    )


# -- edit -------------------------------------------------------------------------------------


async def open_edit_menu(customer: Customer) -> None:
    """From the summary, presses Edit and checks the menu."""
    turn = await customer.press("Edit")
    assert [c.method for c in turn.replies] == ["editMessageText"]
    assert_asks(turn, CHOOSE_EDIT)
    assert_summary(turn.text, order=ORDER, category=CATEGORY, problem=PROBLEM)


async def test_editing_the_order_id(bot: BotHarness) -> None:
    ada = bot.customer()
    await reach(ada, CONFIRM)
    await open_edit_menu(ada)

    turn = await ada.press("Order ID")
    assert turn.text == "Please send the new <b>order ID</b>. It is now <code>748596</code>."
    assert turn.buttons == []

    turn = await ada.send("AB-9999")
    assert_asks(turn, CONFIRM)
    assert_summary(turn.text, order="AB-9999", category=CATEGORY, problem=PROBLEM)

    card = await submit_and_settle(bot, ada)
    assert "<b>Order:</b> AB-9999" in card
    (listed,) = await listed_complaints(ada)
    assert "order AB-9999" in listed


async def test_editing_the_problem(bot: BotHarness) -> None:
    ada = bot.customer()
    await reach(ada, CONFIRM)
    await open_edit_menu(ada)

    turn = await ada.press("Problem")
    assert turn.text == "Please send the new description of the <b>problem</b>."
    assert turn.buttons == []

    turn = await ada.send("  The jug is cracked and the lid is missing.  ")
    assert_asks(turn, CONFIRM)
    assert_summary(
        turn.text,
        order=ORDER,
        category=CATEGORY,
        problem="The jug is cracked and the lid is missing.",
    )
    await submit_and_settle(bot, ada)
    stored = await bot.built.services.ledger.for_customer(ada.id)
    problem = stored[0].envelope.entity.problemStatment
    assert problem == "The jug is cracked and the lid is missing."


@pytest.mark.parametrize("by", ["button", "typing"])
async def test_editing_the_category(bot: BotHarness, by: str) -> None:
    ada = bot.customer()
    await reach(ada, CONFIRM)
    await open_edit_menu(ada)

    turn = await ada.press("Category")
    assert_asks(turn, CATEGORY_STEP)

    turn = await (ada.press("Payment") if by == "button" else ada.send("payment"))
    assert_asks(turn, CONFIRM)
    assert_summary(turn.text, order=ORDER, category="Payment", problem=PROBLEM)

    card = await submit_and_settle(bot, ada)
    assert "<b>Category:</b> Payment" in card
    (listed,) = await listed_complaints(ada)
    assert "Payment" in listed


async def test_back_from_the_edit_menu_returns_to_the_unchanged_summary(bot: BotHarness) -> None:
    ada = bot.customer()
    question = await reach(ada, CONFIRM)
    await open_edit_menu(ada)

    turn = await ada.press("Back")
    assert [c.method for c in turn.replies] == ["editMessageText"]
    assert turn.text == question.text
    assert turn.buttons == ["Submit", "Edit", "Cancel"]
    card = await submit_and_settle(bot, ada)
    assert f"<b>Order:</b> {ORDER}" in card


@pytest.mark.parametrize(
    ("field", "bad", "notice", "good", "expected"),
    [
        pytest.param(
            "Order ID",
            "12 34",
            "That does not look like one of our order IDs",
            "AB-1234",
            {"order": "AB-1234", "category": CATEGORY, "problem": PROBLEM},
            id="order-id",
        ),
        pytest.param(
            "Problem",
            "  hi  ",
            "That is a little short.",
            "Only half of the parts came.",
            {"order": ORDER, "category": CATEGORY, "problem": "Only half of the parts came."},
            id="problem",
        ),
        pytest.param(
            "Category",
            "whatever",
            "Please choose a category with the buttons.",
            "Other",
            {"order": ORDER, "category": "Other", "problem": PROBLEM},
            id="category",
        ),
    ],
)
async def test_an_invalid_value_while_editing_is_asked_again_still_editing(
    bot: BotHarness, field: str, bad: str, notice: str, good: str, expected: dict[str, str]
) -> None:
    ada = bot.customer()
    await reach(ada, CONFIRM)
    await open_edit_menu(ada)
    question = await ada.press(field)

    turn = await ada.send(bad)
    assert turn.text.startswith(notice)
    assert_repeats(turn, question)

    # still editing: the good value leads back to the summary, not on to the next step
    turn = await (ada.press(good) if field == "Category" else ada.send(good))
    assert_asks(turn, CONFIRM)
    assert_summary(turn.text, **expected)

    card = await submit_and_settle(bot, ada)
    assert f"<b>Order:</b> {expected['order']}" in card
    assert f"<b>Category:</b> {expected['category']}" in card
    assert len(await listed_complaints(ada)) == 1


async def test_editing_every_field_then_submitting_files_the_edited_values(
    bot: BotHarness,
) -> None:
    ada = bot.customer()
    await reach(ada, CONFIRM)
    for field, value in (("Order ID", "ZX-42"), ("Problem", "Wrong colour sent.")):
        await ada.press("Edit")
        await ada.press(field)
        await ada.send(value)
    await ada.press("Edit")
    await ada.press("Category")
    turn = await ada.press("Product-related")
    assert_summary(
        turn.text, order="ZX-42", category="Product-related", problem="Wrong colour sent."
    )

    card = await submit_and_settle(bot, ada)
    assert "<b>Order:</b> ZX-42" in card
    assert "<b>Category:</b> Product-related" in card
    (listed,) = await listed_complaints(ada)
    assert "order ZX-42 · Product-related" in listed


async def test_submit_of_the_summary_is_refused_while_a_field_is_being_edited(
    bot: BotHarness,
) -> None:
    ada = bot.customer()
    await reach(ada, CONFIRM)
    submit_data = ada.last_message_with("Submit").callback_data("Submit")
    await ada.press("Edit")
    question = await ada.press("Order ID")

    turn = await ada.press_data(submit_data)
    assert turn.toast == STALE_BUTTON
    assert_repeats(turn, question)
    await bot.settle()
    assert await listed_complaints(ada) == []

    turn = await ada.send("AB-5555")
    assert_summary(turn.text, order="AB-5555", category=CATEGORY, problem=PROBLEM)


@pytest.mark.parametrize("field", ["Order ID", "Problem", "Category"])
async def test_cancel_while_editing_a_field(bot: BotHarness, field: str) -> None:
    ada = bot.customer()
    await reach(ada, CONFIRM)
    await ada.press("Edit")
    await ada.press(field)
    turn = await ada.send("/cancel")
    assert turn.text.startswith(CANCELLED)
    assert await listed_complaints(ada) == []


async def test_a_new_complaint_does_not_silently_drop_an_unfinished_one(bot: BotHarness) -> None:
    ada = bot.customer()
    await ada.send("/complaint")
    await ada.send("748596")
    await ada.send("The kettle leaks.")
    await ada.press("Delivery")
    turn = await ada.send("/complaint")
    assert "unfinished complaint about order <b>748596</b>" in turn.text
    assert turn.buttons == ["Continue", "Start over"]

    turn = await ada.press("Continue")
    assert "Please check your complaint" in turn.text and "The kettle leaks." in turn.text
    assert turn.buttons == ["Submit", "Edit", "Cancel"]

    turn = await ada.send("/complaint")
    turn = await ada.press("Start over")
    assert "order ID" in turn.text
    turn = await ada.send("ORD-2")
    assert "problem" in turn.text  # a new draft: the old order is gone


async def test_start_offers_to_continue_an_unfinished_complaint_after_a_restart(
    bot: BotHarness,
) -> None:
    ada = bot.customer()
    await ada.send("/complaint")
    await ada.send("748596")
    await bot.restart()
    turn = await ada.send("/start")
    assert "Hello Ada" in turn.text and "unfinished complaint about order" in turn.text
    turn = await ada.press("Continue")
    assert "problem" in turn.text


async def test_an_empty_draft_is_simply_started_again(bot: BotHarness) -> None:
    ada = bot.customer()
    await ada.send("/complaint")
    turn = await ada.send("/complaint")
    assert "order ID" in turn.text and turn.buttons == []
