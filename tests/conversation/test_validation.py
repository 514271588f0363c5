"""Answers the bot cannot take: a friendly explanation, the same question again, and the
conversation goes on as soon as a good answer comes."""

import pytest

from tests.conversation.steps import (
    CATEGORIES,
    CATEGORY,
    CATEGORY_STEP,
    CHOOSE_EDIT,
    CONFIRM,
    ORDER,
    ORDER_ID,
    PROBLEM,
    PROBLEM_STEP,
    answer_until_summary,
    assert_asks,
    assert_repeats,
    assert_summary,
    reach,
    submit_and_settle,
)
from tests.helpers.driver import BotHarness

ORDER_INVALID = "That does not look like one of our order IDs"


@pytest.mark.parametrize(
    "bad_order",
    [
        pytest.param("ab", id="too-short"),
        pytest.param("12 34", id="space-inside"),
        pytest.param("<b>1</b>", id="html"),
        pytest.param("-1234", id="leading-dash"),
        pytest.param("ORD_1234", id="underscore"),
        pytest.param("A" * 33, id="33-characters"),
        pytest.param("7" * 10_000, id="10000-characters"),
        pytest.param("7485\n96", id="two-lines"),
    ],
)
async def test_a_bad_order_id_is_explained_and_asked_again(bot: BotHarness, bad_order: str) -> None:
    ada = bot.customer()
    question = await reach(ada, ORDER_ID)

    turn = await ada.send(bad_order)
    assert turn.text.startswith(ORDER_INVALID)
    assert "<code>748596</code>" in turn.text  # an example of what an order ID looks like
    assert_repeats(turn, question)
    assert len(turn.replies) == 1
    assert "<b>1</b>" not in turn.text  # the bad answer is not echoed

    # the conversation goes on: a good order ID is taken, and it is the one in the summary
    summary = await answer_until_summary(ada, ORDER_ID)
    assert_summary(summary, order=ORDER, category=CATEGORY, problem=PROBLEM)


async def test_several_bad_order_ids_in_a_row_keep_asking(bot: BotHarness) -> None:
    ada = bot.customer()
    question = await reach(ada, ORDER_ID)
    for bad in ("ab", "12 34", "what is an order id?"):
        turn = await ada.send(bad)
        assert turn.text.startswith(ORDER_INVALID)
        assert_repeats(turn, question)
    turn = await ada.send(ORDER)
    assert_asks(turn, PROBLEM_STEP)


@pytest.mark.parametrize(
    ("typed", "kept"),
    [
        pytest.param("abc", "abc", id="3-characters"),
        pytest.param("A" * 32, "A" * 32, id="32-characters"),
        pytest.param("AB-1234", "AB-1234", id="with-dash"),
        pytest.param("  748596 \n", "748596", id="surrounding-spaces-trimmed"),
    ],
)
async def test_order_ids_at_the_limits_are_accepted(bot: BotHarness, typed: str, kept: str) -> None:
    ada = bot.customer()
    await reach(ada, ORDER_ID)
    turn = await ada.send(typed)
    assert_asks(turn, PROBLEM_STEP)
    await ada.send(PROBLEM)
    turn = await ada.press(CATEGORY)
    assert_summary(turn.text, order=kept, category=CATEGORY, problem=PROBLEM)


@pytest.mark.parametrize(
    "short",
    [
        pytest.param("  hi  ", id="hi-with-spaces"),
        pytest.param("abcd", id="4-characters"),
        pytest.param(" \n \n   ", id="only-whitespace"),
        pytest.param("   abcd      ", id="4-characters-padded"),
    ],
)
async def test_a_problem_shorter_than_5_characters_is_asked_again(
    bot: BotHarness, short: str
) -> None:
    ada = bot.customer()
    question = await reach(ada, PROBLEM_STEP)

    turn = await ada.send(short)
    assert turn.text.startswith("That is a little short.")
    assert "at least 5 characters" in turn.text
    assert_repeats(turn, question)

    summary = await answer_until_summary(ada, PROBLEM_STEP)
    assert_summary(summary, order=ORDER, category=CATEGORY, problem=PROBLEM)


async def test_a_problem_of_5_characters_after_trimming_is_accepted(bot: BotHarness) -> None:
    ada = bot.customer()
    await reach(ada, PROBLEM_STEP)
    turn = await ada.send("   Broke  \n")
    assert_asks(turn, CATEGORY_STEP)
    turn = await ada.press(CATEGORY)
    assert_summary(turn.text, order=ORDER, category=CATEGORY, problem="Broke")


async def test_a_problem_of_exactly_2000_characters_is_accepted(bot: BotHarness) -> None:
    ada = bot.customer()
    await reach(ada, PROBLEM_STEP)
    problem = "x" * 2000
    turn = await ada.send(f"  {problem}  ")  # spaces around do not count
    assert_asks(turn, CATEGORY_STEP)
    turn = await ada.press(CATEGORY)
    assert_summary(turn.text, order=ORDER, category=CATEGORY, problem=problem)


@pytest.mark.parametrize("length", [2001, 10_000])
async def test_a_problem_over_2000_characters_is_refused_naming_its_length(
    bot: BotHarness, length: int
) -> None:
    ada = bot.customer()
    question = await reach(ada, PROBLEM_STEP)

    turn = await ada.send("y" * length)
    assert turn.text.startswith(f"That is {length} characters long, and I can take at most 2000.")
    assert_repeats(turn, question)
    assert "yyyyy" not in turn.text  # the long text is not echoed back
    assert len(turn.text) < 500

    summary = await answer_until_summary(ada, PROBLEM_STEP)
    assert_summary(summary, order=ORDER, category=CATEGORY, problem=PROBLEM)


@pytest.mark.parametrize(
    ("typed", "label"),
    [
        pytest.param("Delivery", "Delivery", id="label"),
        pytest.param("  payment ", "Payment", id="label-any-case-and-spaces"),
        pytest.param("PRODUCT-RELATED", "Product-related", id="label-with-dash"),
        pytest.param("other", "Other", id="lowercase"),
    ],
)
async def test_a_typed_category_label_is_accepted(bot: BotHarness, typed: str, label: str) -> None:
    ada = bot.customer()
    await reach(ada, CATEGORY_STEP)
    turn = await ada.send(typed)
    assert_asks(turn, CONFIRM)
    assert_summary(turn.text, order=ORDER, category=label, problem=PROBLEM)


@pytest.mark.parametrize("nonsense", ["I don't know", "Deliveryy", "1", "<b>Payment</b>"])
async def test_nonsense_at_the_category_is_asked_again_with_the_buttons(
    bot: BotHarness, nonsense: str
) -> None:
    ada = bot.customer()
    question = await reach(ada, CATEGORY_STEP)

    turn = await ada.send(nonsense)
    assert turn.text.startswith("Please choose a category with the buttons.")
    assert_repeats(turn, question)
    assert turn.buttons == CATEGORIES

    # a button of the repeated question works, and so would the first one
    turn = await ada.press("Payment")
    assert_summary(turn.text, order=ORDER, category="Payment", problem=PROBLEM)


@pytest.mark.parametrize("state", [CONFIRM, CHOOSE_EDIT])
async def test_text_under_the_summary_points_to_the_buttons(bot: BotHarness, state: str) -> None:
    ada = bot.customer()
    question = await reach(ada, state)

    turn = await ada.send("yes please")
    assert turn.text.startswith("Please use the buttons under the summary: Submit, Edit or Cancel.")
    assert_repeats(turn, question)

    summary = await answer_until_summary(ada, state)
    assert_summary(summary, order=ORDER, category=CATEGORY, problem=PROBLEM)
    card = await submit_and_settle(bot, ada)
    assert ORDER in card
    assert CATEGORY in card
