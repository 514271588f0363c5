"""Presses Telegram no longer lets us answer (the bot was down, or a burst queued them)."""

from __future__ import annotations

import asyncio
import time

import pytest

from bot.rate_limiter import RateLimiter
from bot.telegram_html import plain_text
from tests.helpers.backends import ScriptedBackend
from tests.helpers.driver import BotHarness

pytestmark = pytest.mark.both_engines


def _apologies(bot: BotHarness, chat_id: int) -> list[str]:
    return [m.text for m in bot.api.chat_messages(chat_id) if "went wrong" in m.text]


async def test_submit_pressed_while_the_bot_was_down_still_files_the_complaint(
    harness_factory,
) -> None:
    backend = ScriptedBackend()
    bot = await harness_factory(backend)
    ada = bot.customer()
    await ada.send("/complaint")
    await ada.send("748596")
    await ada.send("The blender arrived broken.")
    await ada.press("Delivery")
    summary = ada.last_message_with("Submit")
    pressed_at = bot.clock()
    press = ada.updates.press(summary, summary.callback_data("Submit"))
    bot.clock.advance(20)  # the bot was down; the press is answered 20 s later

    await bot.feed(press, ada.id, pressed_at=pressed_at)  # Telegram refuses its answer
    await bot.settle()
    assert "Complaint number: 500001" in plain_text(ada.messages()[-1].text)
    assert _apologies(bot, ada.id) == []
    assert bot.errors == []
    assert len(backend.calls) == 1


async def test_a_late_category_press_still_shows_the_next_question(bot: BotHarness) -> None:
    ada = bot.customer()
    await ada.send("/complaint")
    await ada.send("748596")
    await ada.send("The blender arrived broken.")
    question = ada.last_message_with("Delivery")
    pressed_at = bot.clock()
    bot.clock.advance(30)
    press = ada.updates.press(question, question.callback_data("Delivery"))
    turn = await bot.feed(press, ada.id, pressed_at=pressed_at)
    assert "Please check your complaint" in turn.text
    assert turn.buttons == ["Submit", "Edit", "Cancel"]
    assert _apologies(bot, ada.id) == []


async def test_button_answers_do_not_wait_behind_queued_messages() -> None:
    limiter = RateLimiter(overall_max_rate=1, overall_time_period=1)
    await limiter.initialize()
    done: list[str] = []

    async def call(name: str) -> bool:
        done.append(name)
        return True

    messages = [
        asyncio.create_task(
            limiter.process_request(call, (f"m{n}",), {}, "sendMessage", {"chat_id": n}, None)
        )
        for n in range(4)
    ]
    await asyncio.sleep(0.05)
    started = time.monotonic()
    await limiter.process_request(
        call, ("answer",), {}, "answerCallbackQuery", {"callback_query_id": "1"}, None
    )
    assert time.monotonic() - started < 0.5
    assert len([name for name in done if name.startswith("m")]) < 4  # messages still queued
    await asyncio.gather(*messages)
    await limiter.shutdown()
