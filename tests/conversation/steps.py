"""Steps shared by the conversation tests: reaching a state, finishing a draft, reading replies.

The conversation is driven only through the driver (the real Application and a fake Bot API),
so every helper here is something a customer could do or see.
"""

from __future__ import annotations

import re

from tests.helpers.driver import BotHarness, Customer, Turn

ORDER = "748596"
PROBLEM = "The blender arrived with a cracked jug."
CATEGORY = "Delivery"
CATEGORIES = ["Product-related", "Delivery", "Payment", "Other"]

# The states of the conversation, in the order a customer meets them.
ORDER_ID = "order_id"
PROBLEM_STEP = "problem"
CATEGORY_STEP = "category"
CONFIRM = "confirm"
CHOOSE_EDIT = "choose_edit"
STATES = [ORDER_ID, PROBLEM_STEP, CATEGORY_STEP, CONFIRM, CHOOSE_EDIT]

# What the bot asks in each state: a fragment of the question, and the buttons under it.
QUESTIONS: dict[str, tuple[str, list[str]]] = {
    ORDER_ID: ("Please send the <b>order ID</b>", []),
    PROBLEM_STEP: ("describe the <b>problem</b>", []),
    CATEGORY_STEP: ("Which <b>category</b> fits best?", CATEGORIES),
    CONFIRM: ("Shall I submit it?", ["Submit", "Edit", "Cancel"]),
    CHOOSE_EDIT: ("What would you like to change?", ["Order ID", "Problem", "Category", "Back"]),
}

CANCELLED = "Your complaint was cancelled and nothing was sent."
NO_CONVERSATION = "To raise a complaint, send /complaint"
STALE_BUTTON = "This button is no longer active."
ALREADY_SUBMITTED = "This complaint has already been submitted."
EXPIRED = "closed after 15 minutes without an answer"
HELP = "<b>How I can help</b>"
NOT_FOUND = "I could not find complaint"


async def reach(customer: Customer, state: str) -> Turn:
    """Starts a draft (over an unfinished one) and answers with ORDER, PROBLEM and CATEGORY
    until `state` is asked."""
    turn = await customer.send("/complaint")
    if turn.buttons == ["Continue", "Start over"]:
        turn = await customer.press("Start over")
    if state == ORDER_ID:
        return turn
    turn = await customer.send(ORDER)
    if state == PROBLEM_STEP:
        return turn
    turn = await customer.send(PROBLEM)
    if state == CATEGORY_STEP:
        return turn
    turn = await customer.press(CATEGORY)
    if state == CONFIRM:
        return turn
    turn = await customer.press("Edit")
    assert state == CHOOSE_EDIT, state
    return turn


async def answer_until_summary(customer: Customer, state: str) -> str:
    """Gives the valid answers from `state` on; returns the summary the bot then shows.

    Each answer must be taken as the answer to the step it belongs to: the bot's reply is
    checked to be the next step's question.
    """
    if state == ORDER_ID:
        turn = await customer.send(ORDER)
        assert_asks(turn, PROBLEM_STEP)
        state = PROBLEM_STEP
    if state == PROBLEM_STEP:
        turn = await customer.send(PROBLEM)
        assert_asks(turn, CATEGORY_STEP)
        state = CATEGORY_STEP
    if state == CATEGORY_STEP:
        turn = await customer.press(CATEGORY)
        assert_asks(turn, CONFIRM)
        return turn.text
    if state == CHOOSE_EDIT:
        turn = await customer.press("Back")
        assert_asks(turn, CONFIRM)
        return turn.text
    assert state == CONFIRM, state
    return customer.last_message_with("Submit").text


async def submit_and_settle(bot: BotHarness, customer: Customer) -> str:
    """Presses Submit under the summary, lets the desk register it; returns the result card."""
    turn = await customer.press("Submit")
    assert turn.toast == "Submitting…"
    await bot.settle()
    card = customer.messages()[-1]
    assert "Your complaint is registered" in card.text, card.text
    return card.text


def assert_asks(turn: Turn, state: str) -> None:
    """The bot's last reply asks the question of `state`, with that state's buttons."""
    fragment, buttons = QUESTIONS[state]
    assert fragment in turn.text, f"expected the {state} question, got {turn.text!r}"
    assert turn.buttons == buttons, f"buttons at {state}: {turn.buttons}"


def assert_repeats(turn: Turn, question: Turn) -> None:
    """The bot's last reply ends with exactly the question asked before, with the same buttons."""
    assert turn.text.endswith(question.text), (
        f"the question was not repeated:\n{turn.text!r}\nexpected it to end with\n{question.text!r}"
    )
    assert turn.buttons == question.buttons


def assert_summary(text: str, *, order: str, category: str, problem: str) -> None:
    """The summary shows exactly these answers."""
    assert "Please check your complaint" in text
    assert f"<b>Order:</b> {order}\n" in text
    assert f"<b>Category:</b> {category}\n" in text
    assert f"<b>Problem:</b> {problem}" in text


async def listed_complaints(customer: Customer) -> list[str]:
    """The lines of /mycomplaints after its header (empty when the customer has none)."""
    turn = await customer.send("/mycomplaints")
    if "You have not raised any complaints yet" in turn.text:
        return []
    header, *items = turn.text.split("\n")
    assert "Your complaints" in header
    return items


# Telegram's HTML parse mode: these tags, and &lt; &gt; &amp; &quot; or numeric entities.
TELEGRAM_TAGS = frozenset(
    {"b", "strong", "i", "em", "u", "ins", "s", "strike", "del", "a", "code", "pre"}
    | {"span", "tg-spoiler", "tg-emoji", "blockquote"}
)
_HTML_TOKEN = re.compile(
    r"<(?P<close>/?)(?P<tag>[a-z-]+)(?:\s[^<>]*)?>"
    r"|&(?:lt|gt|amp|quot|#\d+|#x[0-9a-fA-F]+);"
    r"|(?P<stray>[<>&])"
)


def assert_telegram_html(text: str) -> None:
    """The text parses in Telegram's HTML mode: known tags, balanced, nothing unescaped."""
    open_tags: list[str] = []
    for token in _HTML_TOKEN.finditer(text):
        if token["stray"]:
            raise AssertionError(f"unescaped {token['stray']!r} at {token.start()} in {text!r}")
        tag = token["tag"]
        if tag is None:
            continue
        assert tag in TELEGRAM_TAGS, f"<{tag}> is not allowed by Telegram in {text!r}"
        if token["close"]:
            assert open_tags and open_tags.pop() == tag, f"unbalanced </{tag}> in {text!r}"
        else:
            open_tags.append(tag)
    assert not open_tags, f"unclosed {open_tags} in {text!r}"
