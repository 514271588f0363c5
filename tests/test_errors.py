"""The application's error handler: blocked customers, failing handlers, the operators' report."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable, Coroutine
from pathlib import Path
from typing import Any

import pytest

from tests.helpers.bot_api import BOT_ID
from tests.helpers.driver import BotHarness, make_settings

OPERATORS = -1001234567890
PRIVATE_ORDER = "PRIVATE-ORDER-77"
APOLOGY = "Sorry, something went wrong on our side"

Start = Callable[..., Coroutine[Any, Any, BotHarness]]


@pytest.fixture
async def start_bot(tmp_path: Path) -> AsyncIterator[Start]:
    started: list[BotHarness] = []

    async def start(**overrides: Any) -> BotHarness:
        harness = BotHarness(make_settings(tmp_path / "bot.sqlite3", **overrides))
        await harness.start()
        started.append(harness)
        return harness

    yield start
    for harness in started:
        await harness.stop()


def records_at_info_or_above(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.levelno >= logging.INFO]


async def test_a_customer_who_blocked_the_bot_is_logged_once_and_nothing_raises(
    start_bot: Start, caplog: pytest.LogCaptureFixture
) -> None:
    bot = await start_bot(operator_chat_id=OPERATORS)
    ada = bot.customer()
    bot.api.fail_next("sendMessage", "Forbidden: bot was blocked by the user", code=403)
    caplog.set_level(logging.DEBUG)

    turn = await ada.send("/start")  # the harness raises whatever reaches its error recorder

    assert bot.errors == []
    logged = records_at_info_or_above(caplog)
    assert [(r.levelno, r.name) for r in logged] == [(logging.INFO, "bot.errors")]
    assert "blocked the bot" in logged[0].getMessage()
    assert str(ada.id) in logged[0].getMessage()
    # No apology into a chat that is closed to us, and no error report for the operators.
    assert [call.method for call in turn.calls] == ["sendMessage"]


async def test_a_blocked_customer_mid_conversation_keeps_the_bot_serving_others(
    start_bot: Start,
) -> None:
    bot = await start_bot()
    ada, bob = bot.customer("Ada"), bot.customer("Bob")
    await ada.send("/complaint")
    bot.api.fail_next("sendMessage", "Forbidden: bot was blocked by the user", code=403)
    await ada.send("748596")
    assert "order ID" in (await bob.send("/complaint")).text
    assert bot.errors == []


async def test_a_failing_handler_apologises_logs_ids_and_reports_to_the_operators(
    start_bot: Start, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    bot = await start_bot(operator_chat_id=OPERATORS)
    ada = bot.customer()
    await ada.send("/complaint")

    async def broken(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("the disk is on fire")

    monkeypatch.setattr(bot.built.services.conversations, "save", broken)
    caplog.set_level(logging.INFO)

    turn = await ada.send(PRIVATE_ORDER, expect_error=True)

    assert [type(e) for e in bot.errors] == [RuntimeError]
    assert APOLOGY in turn.text
    [failure] = [r for r in caplog.records if r.levelno >= logging.ERROR]
    update_id, user_id = failure.args  # type: ignore[misc]
    assert failure.getMessage() == f"Error handling update {update_id} of user {ada.id}"
    assert user_id == ada.id and failure.exc_info is not None
    for record in records_at_info_or_above(caplog):
        assert PRIVATE_ORDER not in record.getMessage()

    [report] = [c for c in turn.calls if c.method == "sendMessage" and c.chat_id == OPERATORS]
    assert "RuntimeError" in report.text
    assert f"update {update_id}" in report.text and f"user {ada.id}" in report.text
    assert PRIVATE_ORDER not in report.text and "disk is on fire" not in report.text


async def test_without_an_operator_chat_only_the_customer_hears_of_it(
    start_bot: Start, monkeypatch: pytest.MonkeyPatch
) -> None:
    bot = await start_bot()
    ada = bot.customer()

    async def broken(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("ledger unavailable")

    monkeypatch.setattr(bot.built.services.ledger, "for_customer", broken)
    turn = await ada.send("/mycomplaints", expect_error=True)

    assert APOLOGY in turn.text
    assert {c.chat_id for c in turn.calls if c.method == "sendMessage"} == {ada.id}


async def test_a_failing_button_press_is_answered_and_apologised_for(
    start_bot: Start, monkeypatch: pytest.MonkeyPatch
) -> None:
    bot = await start_bot(operator_chat_id=OPERATORS)
    ada = bot.customer()
    await ada.send("/complaint")
    await ada.send("748596")
    await ada.send("The lid is cracked.")

    async def broken(*args: Any, **kwargs: Any) -> None:
        raise ValueError("boom")

    monkeypatch.setattr(bot.built.services.conversations, "save", broken)
    message = ada.last_message_with("Delivery")
    press = {
        "callback_query": {
            "id": "press-1",
            "from": ada.user,
            "chat_instance": f"ci-{ada.id}",
            "data": message.callback_data("Delivery"),
            "message": {
                "message_id": message.message_id,
                "date": 1_780_000_000,
                "chat": {"id": ada.id, "type": "private"},
                "from": {"id": BOT_ID, "is_bot": True, "first_name": "Order complaints"},
                "text": message.text,
            },
        }
    }
    turn = await bot.feed(press, ada.id, expect_error=True)
    assert turn.calls  # the press was handled: spinner stopped, apology sent
    assert any(c.method == "answerCallbackQuery" for c in turn.calls)
    assert APOLOGY in turn.text
    assert any("ValueError" in c.text for c in turn.calls if c.chat_id == OPERATORS)


async def test_an_operator_chat_that_refuses_the_report_is_only_logged(
    start_bot: Start, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    bot = await start_bot(operator_chat_id=OPERATORS)
    ada = bot.customer()

    async def broken(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("ledger unavailable")

    monkeypatch.setattr(bot.built.services.ledger, "for_customer", broken)
    bot.api.fail_next("sendMessage", "Bad Request: chat not found")  # the apology goes first...
    bot.api.fail_next("sendMessage", "Bad Request: chat not found")  # ...then the report
    turn = await ada.send("/mycomplaints", expect_error=True)

    assert len(turn.calls) == 2
    assert any("operator chat" in r.getMessage() for r in caplog.records)
