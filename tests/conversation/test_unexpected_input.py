"""Anything unexpected, in every state: a short answer, the current question again, and the
conversation does not move. Proven by finishing the draft afterwards: the next valid answer is
taken for the same step, and the filed complaint holds the right answers."""

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import pytest

from tests.conversation.steps import (
    CATEGORY,
    CATEGORY_STEP,
    CHOOSE_EDIT,
    CONFIRM,
    ORDER,
    PROBLEM,
    STALE_BUTTON,
    STATES,
    answer_until_summary,
    assert_repeats,
    assert_summary,
    listed_complaints,
    reach,
    submit_and_settle,
)
from tests.helpers.bot_api import BotMessage
from tests.helpers.driver import BotHarness, Customer, Turn

OLD_ORDER = "OLD-0001"
# Photos, videos and documents are attached wherever they are sent (tests/conversation/
# test_files.py); what the bot cannot use gets this answer.
NOT_READABLE = "I can read text, photos, videos and documents here, but not this kind of message."


@dataclass
class OldButtons:
    """Messages left over from earlier drafts of the same customer."""

    categories: BotMessage  # the category keyboard of a draft abandoned by a new /complaint
    submit: BotMessage  # the summary of a draft that was cancelled


async def leave_old_buttons(customer: Customer) -> OldButtons:
    """Writes two drafts the customer then leaves: one cancelled, one abandoned."""
    await customer.send("/complaint")
    await customer.send(OLD_ORDER)
    await customer.send("An older problem, long gone.")
    await customer.press("Other")
    submit = customer.last_message_with("Submit")
    await customer.send("/cancel")

    await customer.send("/complaint")
    await customer.send(OLD_ORDER)
    await customer.send("An older problem, long gone.")
    categories = customer.last_message_with("Other")
    return OldButtons(categories, submit)


@dataclass(frozen=True)
class Unexpected:
    """Something a customer does that the current state does not expect."""

    act: Callable[[Customer, OldButtons], Awaitable[Turn]]
    notice: str  # the short answer before the repeated question
    by_toast: bool = False  # the short answer is the toast of a button press


UNEXPECTED = {
    "sticker": Unexpected(lambda c, _: c.send_content("sticker"), NOT_READABLE),
    "voice": Unexpected(lambda c, _: c.send_content("voice"), NOT_READABLE),
    "location": Unexpected(lambda c, _: c.send_content("location"), NOT_READABLE),
    "contact": Unexpected(lambda c, _: c.send_content("contact"), NOT_READABLE),
    "edited-message": Unexpected(
        lambda c, _: c.edit("Other"), "I do not pick up changes to earlier messages."
    ),
    "unknown-command": Unexpected(
        lambda c, _: c.send("/frobnicate now"), "I do not know that command."
    ),
    "old-category-button": Unexpected(
        lambda c, old: c.press("Payment", on=old.categories), STALE_BUTTON, by_toast=True
    ),
    "cancelled-drafts-submit": Unexpected(
        lambda c, old: c.press("Submit", on=old.submit), STALE_BUTTON, by_toast=True
    ),
    "forged-category": Unexpected(
        lambda c, _: c.press_data("cat:deadbeef:other"), STALE_BUTTON, by_toast=True
    ),
    "garbage-data": Unexpected(lambda c, _: c.press_data("garbage"), STALE_BUTTON, by_toast=True),
    "oversized-data": Unexpected(
        lambda c, _: c.press_data("ok:" + "x" * 80), STALE_BUTTON, by_toast=True
    ),
    "empty-data": Unexpected(lambda c, _: c.press_data(""), STALE_BUTTON, by_toast=True),
    "forged-language": Unexpected(lambda c, _: c.press_data("lg:xx"), STALE_BUTTON, by_toast=True),
    "status-of-nothing": Unexpected(
        lambda c, _: c.press_data("st:" + "9" * 40), STALE_BUTTON, by_toast=True
    ),
    "status-of-no-complaint": Unexpected(
        lambda c, _: c.press_data("st:99"), STALE_BUTTON, by_toast=True
    ),
    "status-odd-digits": Unexpected(lambda c, _: c.press_data("st:²"), STALE_BUTTON, by_toast=True),
}


@pytest.mark.parametrize("state", STATES)
@pytest.mark.parametrize("kind", list(UNEXPECTED))
async def test_unexpected_input_repeats_the_question_and_moves_nothing(
    bot: BotHarness, state: str, kind: str
) -> None:
    ada = bot.customer()
    old = await leave_old_buttons(ada)
    question = await reach(ada, state)
    unexpected = UNEXPECTED[kind]

    turn = await unexpected.act(ada, old)

    assert len(turn.replies) == 1, [c.text for c in turn.replies]
    assert turn.replies[0].method == "sendMessage"  # a new message; the old ones stay as they were
    assert_repeats(turn, question)
    if unexpected.by_toast:
        assert turn.toast == unexpected.notice
    else:
        assert turn.text.startswith(unexpected.notice)
    assert len(turn.text) <= len(question.text) + 100  # short: one sentence and the question

    summary = await answer_until_summary(ada, state)
    assert_summary(summary, order=ORDER, category=CATEGORY, problem=PROBLEM)
    card = await submit_and_settle(bot, ada)
    assert f"<b>Order:</b> {ORDER}" in card
    assert f"<b>Category:</b> {CATEGORY}" in card

    complaints = await listed_complaints(ada)
    assert len(complaints) == 1, complaints  # the old drafts filed nothing
    assert ORDER in complaints[0]
    assert OLD_ORDER not in complaints[0]


def draft_token(customer: Customer) -> str:
    """The token of the open draft, read from the buttons of the bot's last message."""
    data = str(customer.messages()[-1].keyboard[0][0]["callback_data"])
    return data.split(":")[1]


@pytest.mark.parametrize(
    ("state", "data"),
    [
        pytest.param(CATEGORY_STEP, "ok:{token}", id="submit-before-the-summary"),
        pytest.param(CATEGORY_STEP, "ed:{token}", id="edit-before-the-summary"),
        pytest.param(CATEGORY_STEP, "cat:{token}:nonsense", id="unknown-category"),
        pytest.param(CATEGORY_STEP, "cat:{token}", id="category-without-code"),
        pytest.param(CATEGORY_STEP, "cat:{token}:other:more", id="category-with-extra"),
        pytest.param(CONFIRM, "cat:{token}:other", id="category-under-the-summary"),
        pytest.param(CONFIRM, "bk:{token}", id="back-under-the-summary"),
        pytest.param(CONFIRM, "ef:{token}:problem", id="field-under-the-summary"),
        pytest.param(CONFIRM, "ok:{token}:extra", id="submit-with-an-argument"),
        pytest.param(CHOOSE_EDIT, "ok:{token}", id="submit-in-the-edit-menu"),
        pytest.param(CHOOSE_EDIT, "x:{token}", id="cancel-in-the-edit-menu"),
        pytest.param(CHOOSE_EDIT, "ef:{token}:confirm", id="edit-an-unknown-field"),
        pytest.param(CHOOSE_EDIT, "ef:{token}:token", id="edit-the-token"),
    ],
)
async def test_a_forged_press_on_the_current_draft_is_refused(
    bot: BotHarness, state: str, data: str
) -> None:
    """Buttons of this very draft, but not offered at this step (or with made-up values)."""
    ada = bot.customer()
    question = await reach(ada, state)

    turn = await ada.press_data(data.format(token=draft_token(ada)))
    assert turn.toast == STALE_BUTTON
    assert len(turn.replies) == 1
    assert_repeats(turn, question)

    summary = await answer_until_summary(ada, state)
    assert_summary(summary, order=ORDER, category=CATEGORY, problem=PROBLEM)
    await submit_and_settle(bot, ada)
    assert len(await listed_complaints(ada)) == 1


@pytest.mark.parametrize(
    "act",
    [
        pytest.param(lambda c: c.send_content("sticker"), id="sticker"),
        pytest.param(lambda c: c.send("/frobnicate"), id="unknown-command"),
        pytest.param(lambda c: c.send("hello"), id="text"),
        pytest.param(lambda c: c.press_data("garbage"), id="garbage-press"),
    ],
)
async def test_without_a_draft_the_customer_is_pointed_to_complaint(
    bot: BotHarness, act: Callable[[Customer], Awaitable[Turn]]
) -> None:
    ada = bot.customer()
    await ada.send("/start")
    turn = await act(ada)
    if turn.toast:
        assert turn.toast == STALE_BUTTON
        assert turn.silent
        return
    assert len(turn.replies) == 1
    assert "send /complaint" in turn.text
    assert turn.buttons == ["Raise a complaint"]


async def test_an_edited_message_without_a_draft_is_ignored(bot: BotHarness) -> None:
    ada = bot.customer()
    await ada.send("/start")
    await ada.send("hello")
    turn = await ada.edit("hello there")
    assert turn.silent


async def test_editing_an_old_cancel_command_does_not_cancel(bot: BotHarness) -> None:
    ada = bot.customer()
    await ada.send("/cancel")
    question = await reach(ada, CATEGORY_STEP)
    # the customer edits an earlier message into "/cancel": it is not read as a command
    turn = await ada.edit("/cancel")
    assert "I do not pick up changes to earlier messages." in turn.text
    assert_repeats(turn, question)
    summary = await answer_until_summary(ada, CATEGORY_STEP)
    assert_summary(summary, order=ORDER, category=CATEGORY, problem=PROBLEM)
