"""A draft left alone for 15 minutes (CONVERSATION_TIMEOUT_MINUTES) ends; the customer is told."""

from collections.abc import Awaitable, Callable

import pytest

from tests.conversation.steps import (
    CATEGORY,
    CATEGORY_STEP,
    CONFIRM,
    EXPIRED,
    HELP,
    NO_CONVERSATION,
    ORDER,
    ORDER_ID,
    PROBLEM,
    PROBLEM_STEP,
    STALE_BUTTON,
    STATES,
    answer_until_summary,
    assert_asks,
    assert_summary,
    listed_complaints,
    reach,
)
from tests.helpers.bot_api import ApiCall
from tests.helpers.driver import BotHarness, Customer, Turn

pytestmark = pytest.mark.both_engines

MINUTE = 60


def told(calls: list[ApiCall], customer: Customer) -> list[str]:
    """The texts the bot sent to this customer among these calls."""
    return [c.text for c in calls if c.method == "sendMessage" and c.chat_id == customer.id]


@pytest.mark.parametrize("state", STATES)
async def test_sixteen_idle_minutes_end_the_draft_with_a_message(
    bot: BotHarness, state: str
) -> None:
    ada = bot.customer()
    question = await reach(ada, state)

    calls = await bot.advance(16 * MINUTE)
    (message,) = told(calls, ada)
    assert EXPIRED in message
    assert "nothing was sent" in message
    assert "/complaint" in message

    # the draft is gone: an answer is not taken, buttons are dead, a new draft starts fresh
    turn = await ada.send(ORDER)
    assert NO_CONVERSATION in turn.text
    if question.buttons:
        turn = await ada.press(question.buttons[0])
        assert turn.toast == STALE_BUTTON
        assert turn.silent
    turn = await ada.send("/complaint")
    assert_asks(turn, ORDER_ID)
    summary = await answer_until_summary(ada, ORDER_ID)
    assert_summary(summary, order=ORDER, category=CATEGORY, problem=PROBLEM)
    assert await listed_complaints(ada) == []


async def test_the_expiry_message_is_sent_once(bot: BotHarness) -> None:
    ada = bot.customer()
    await reach(ada, PROBLEM_STEP)
    assert len(told(await bot.advance(16 * MINUTE), ada)) == 1
    assert told(await bot.advance(16 * MINUTE), ada) == []


async def test_fourteen_idle_minutes_keep_the_draft(bot: BotHarness) -> None:
    ada = bot.customer()
    await reach(ada, PROBLEM_STEP)

    assert told(await bot.advance(14 * MINUTE), ada) == []

    turn = await ada.send(PROBLEM)
    assert_asks(turn, CATEGORY_STEP)
    summary = await answer_until_summary(ada, CATEGORY_STEP)
    assert_summary(summary, order=ORDER, category=CATEGORY, problem=PROBLEM)


@pytest.mark.parametrize(
    "activity",
    [
        pytest.param(lambda c: c.send(ORDER), id="an-answer"),
        pytest.param(lambda c: c.send("ab"), id="a-refused-answer"),
        pytest.param(lambda c: c.send_content("sticker"), id="a-sticker"),
    ],
)
async def test_each_activity_restarts_the_fifteen_minutes(
    bot: BotHarness, activity: Callable[[Customer], Awaitable[Turn]]
) -> None:
    ada = bot.customer()
    await reach(ada, ORDER_ID)
    await bot.advance(14 * MINUTE)
    await activity(ada)

    assert told(await bot.advance(14 * MINUTE), ada) == []  # 28 minutes after /complaint
    assert EXPIRED in told(await bot.advance(2 * MINUTE), ada)[0]


async def test_only_idle_customers_are_told(bot: BotHarness) -> None:
    ada, bob = bot.customer("Ada"), bot.customer("Bob")
    await reach(ada, PROBLEM_STEP)
    await reach(bob, PROBLEM_STEP)
    await bot.advance(10 * MINUTE)
    await bob.send(PROBLEM)

    calls = await bot.advance(6 * MINUTE)
    assert len(told(calls, ada)) == 1
    assert told(calls, bob) == []
    turn = await bob.press(CATEGORY)
    assert_asks(turn, CONFIRM)


async def test_an_answer_after_twenty_minutes_is_told_the_draft_expired(bot: BotHarness) -> None:
    """The sweep has not run yet (or the bot was down): the draft has expired all the same."""
    ada = bot.customer()
    await reach(ada, PROBLEM_STEP)
    bot.clock.advance(20 * MINUTE)

    turn = await ada.send(PROBLEM)
    assert len(turn.replies) == 1
    assert EXPIRED in turn.text

    turn = await ada.send(PROBLEM)  # not taken as the problem of a new draft either
    assert NO_CONVERSATION in turn.text
    assert told(await bot.advance(0), ada) == []  # and the sweep does not tell again


async def test_submit_after_twenty_minutes_files_nothing(bot: BotHarness) -> None:
    ada = bot.customer()
    await reach(ada, CONFIRM)
    bot.clock.advance(20 * MINUTE)

    turn = await ada.press("Submit")
    assert EXPIRED in turn.all_text
    assert turn.toast == STALE_BUTTON
    assert "Submitting" not in turn.all_text
    await bot.settle()
    assert await listed_complaints(ada) == []


@pytest.mark.parametrize(
    "command",
    [
        pytest.param("/cancel", id="cancel"),
        pytest.param("/help", id="help"),
        pytest.param("/frobnicate", id="unknown-command"),
    ],
)
async def test_a_command_after_twenty_minutes_is_told_the_draft_expired(
    bot: BotHarness, command: str
) -> None:
    ada = bot.customer()
    await reach(ada, CATEGORY_STEP)
    bot.clock.advance(20 * MINUTE)

    turn = await ada.send(command)
    assert EXPIRED in turn.all_text
    assert "Which <b>category</b>" not in turn.all_text  # the expired question is not asked
    assert "Your complaint was cancelled" not in turn.all_text
    if command == "/help":
        assert HELP in turn.text
        assert turn.buttons == []
    turn = await ada.send("Delivery")
    assert NO_CONVERSATION in turn.text


# -- a draft outlives a restart of the bot, but not its timeout -------------------------------


async def test_a_draft_continues_after_a_restart(bot: BotHarness) -> None:
    ada = bot.customer()
    await reach(ada, CATEGORY_STEP)
    await bot.restart()

    turn = await ada.press(CATEGORY)  # the button sent before the restart still works
    assert_summary(turn.text, order=ORDER, category=CATEGORY, problem=PROBLEM)


async def test_a_draft_idle_across_a_restart_still_expires(bot: BotHarness) -> None:
    ada = bot.customer()
    await reach(ada, PROBLEM_STEP)
    await bot.restart()
    bot.clock.advance(20 * MINUTE)  # the bot was down; the sweep never ran

    turn = await ada.send(PROBLEM)
    assert EXPIRED in turn.text


async def test_a_draft_that_cannot_be_read_starts_over(bot: BotHarness) -> None:
    """E.g. saved by an incompatible version of the bot: the customer is told, not stuck."""
    ada = bot.customer()
    await reach(ada, PROBLEM_STEP)
    await bot.built.services.conversations.save(
        ada.id, ada.id, "problem", '{"step": "somewhere"}', now=bot.clock()
    )

    turn = await ada.send(PROBLEM)
    assert (
        turn.text
        == "Sorry, I could not restore your complaint draft. Please start again with /complaint."
    )
    assert turn.buttons == ["Raise a complaint"]
    turn = await ada.send(PROBLEM)
    assert NO_CONVERSATION in turn.text
    turn = await ada.press("Raise a complaint")
    assert_asks(turn, ORDER_ID)
