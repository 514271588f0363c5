"""The operator chat: every registered, rejected and failed complaint is posted there."""

from __future__ import annotations

import logging

import pytest

from bot.backends.base import BackendRejected, BackendUnavailable, RejectionReason
from bot.storage.deliveries import DeliveryState, DeliveryStore
from bot.storage.ledger import LedgerState
from tests.conftest import StartBot
from tests.helpers.backends import ScriptedBackend
from tests.helpers.bot_api import ApiCall
from tests.helpers.driver import BotHarness

pytestmark = pytest.mark.both_engines

OPERATORS = -1009876543210

Start = StartBot


@pytest.fixture
def start_bot(harness_factory: StartBot) -> StartBot:
    """The shared factory under this module's name."""
    return harness_factory


def operator_posts(bot: BotHarness) -> list[ApiCall]:
    return [c for c in bot.api.calls_to("sendMessage") if c.chat_id == OPERATORS]


async def test_a_registered_complaint_is_posted_with_everything_escaped(start_bot: Start) -> None:
    bot = await start_bot(operator_chat_id=OPERATORS)
    ada = bot.customer("Ada <b>&", last_name="O'Hara")
    await ada.file_complaint(
        order_id="ORD-1", problem="The <script> & lid are broken.", category="Delivery"
    )
    assert operator_posts(bot) == []  # nothing before the backend has registered it
    await bot.settle()

    [post] = operator_posts(bot)
    assert post.params["parse_mode"] == "HTML"
    text = post.text
    assert "New complaint 100001" in text
    assert "Order: ORD-1" in text
    assert "Category: Delivery" in text
    assert "The &lt;script&gt; &amp; lid are broken." in text
    assert f'<a href="tg://user?id={ada.id}">Ada &lt;b&gt;&amp; O\'Hara</a>' in text
    assert "<script>" not in text and "Ada <b>" not in text
    # The customer was told first, in their own chat.
    assert "Your complaint is registered" in ada.messages()[-1].text


async def test_a_rejected_complaint_is_posted_with_the_reason(start_bot: Start) -> None:
    backend = ScriptedBackend(
        script=[
            BackendRejected(
                "middleware refused the request (HTTP 404): unknown order",
                reason=RejectionReason.ORDER_NOT_FOUND,
            )
        ]
    )
    bot = await start_bot(backend, operator_chat_id=OPERATORS)
    ada = bot.customer()
    await ada.file_complaint(order_id="NO-SUCH-1")
    await bot.settle()

    [post] = operator_posts(bot)
    assert "Complaint rejected" in post.text
    assert "unknown order" in post.text and "NO-SUCH-1" in post.text
    assert f"tg://user?id={ada.id}" in post.text


async def test_a_complaint_that_failed_for_good_is_posted(start_bot: Start) -> None:
    backend = ScriptedBackend(script=[BackendUnavailable("still down")] * 50)
    bot = await start_bot(backend, operator_chat_id=OPERATORS, submit_give_up_hours=1)
    ada = bot.customer()
    await ada.file_complaint(order_id="GIVEUP-7")
    await bot.settle()
    assert operator_posts(bot) == []  # a delay is not news for the operators
    for _ in range(6):
        await bot.advance(1000)

    [post] = operator_posts(bot)
    assert "could not be registered" in post.text
    assert "GIVEUP-7" in post.text and "still down" in post.text
    assert "python -m bot complaints --failed" in post.text


async def test_a_post_that_fails_is_logged_and_the_complaint_stays_registered(
    start_bot: Start, caplog: pytest.LogCaptureFixture
) -> None:
    bot = await start_bot(operator_chat_id=OPERATORS)
    ada = bot.customer()
    await ada.file_complaint()
    # The customer's card replaces "Submitting…" (an edit): the next sendMessage is the post.
    bot.api.fail_next("sendMessage", "Bad Request: chat not found")
    await bot.settle()

    assert "Your complaint is registered" in ada.messages()[-1].text
    rows = await bot.built.services.ledger.in_state(*LedgerState)
    assert [row.state for row in rows] == [LedgerState.REGISTERED]
    errors = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]
    assert any("operator-registered" in m and "hat not found" in m for m in errors)
    assert bot.errors == []
    store = DeliveryStore(bot.built.services.database)
    undelivered = await store.in_state(DeliveryState.GIVEN_UP)
    assert [d.kind for d in undelivered] == ["operator-registered"]


async def test_without_an_operator_chat_nothing_is_posted(start_bot: Start) -> None:
    bot = await start_bot()
    ada = bot.customer()
    await ada.file_complaint()
    await bot.settle()
    assert {c.chat_id for c in bot.api.calls if c.chat_id is not None} == {ada.id}
