"""Operators move local desk complaints with buttons on the operator-chat post."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from tests.helpers.driver import BotHarness, make_settings

pytestmark = pytest.mark.both_engines

OPERATORS = -1002003004005


@pytest.fixture
async def bot(tmp_path: Path) -> AsyncIterator[BotHarness]:
    harness = BotHarness(make_settings(tmp_path / "bot.sqlite3", operator_chat_id=OPERATORS))
    await harness.start()
    yield harness
    await harness.stop()


def _press(post: Any, label: str, chat_id: int, presser_id: int = 900) -> dict[str, Any]:
    return {
        "callback_query": {
            "id": f"op-{label}",
            "from": {"id": presser_id, "is_bot": False, "first_name": "Olga"},
            "chat_instance": "operators",
            "data": post.callback_data(label),
            "message": {
                "message_id": post.message_id,
                "date": 0,
                "chat": {"id": chat_id, "type": "supergroup", "title": "Operators"},
                "text": post.text,
            },
        }
    }


async def test_a_button_on_the_post_moves_the_complaint_and_tells_the_customer(
    bot: BotHarness,
) -> None:
    ada = bot.customer()
    await ada.file_complaint()
    await bot.settle()
    (post,) = bot.api.chat_messages(OPERATORS)
    assert "New complaint 100001" in post.text
    assert post.buttons == ["Handling", "Waiting", "Resolved", "Rejected", "Closed"]

    turn = await bot.feed(_press(post, "Resolved", OPERATORS), OPERATORS)
    assert "Complaint 100001 is now resolved" in turn.toast
    assert "Now <b>resolved</b> (by Olga)" in bot.api.chat_messages(OPERATORS)[0].text
    told = [m.text for m in ada.messages() if "is now" in m.text]
    assert len(told) == 1 and "resolved" in told[0]
    assert "resolved" in (await ada.send("/status 100001")).text


async def test_the_buttons_work_only_in_the_operator_chat(bot: BotHarness) -> None:
    ada = bot.customer()
    await ada.file_complaint()
    await bot.settle()
    (post,) = bot.api.chat_messages(OPERATORS)
    turn = await bot.feed(_press(post, "Rejected", ada.id, presser_id=ada.id), ada.id)
    assert "Only the operator chat" in turn.toast
    assert "received" in (await ada.send("/status 100001")).text
