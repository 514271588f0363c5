"""A backend's long answer still reaches the customer as a card Telegram accepts."""

from __future__ import annotations

from pathlib import Path

import httpx
import respx

from bot.telegram_html import plain_text
from tests.helpers.backends import MIDDLEWARE_API, MIDDLEWARE_SETTINGS
from tests.helpers.driver import BotHarness, make_settings


def _answer_with_items(count: int) -> dict[str, object]:
    attributes = [{"name": "complaintId", "value": "77123"}] + [
        {"name": f"Item {n}", "value": f"Spare part <{n}> & its long description " * 3}
        for n in range(count)
    ]
    return {
        "response": {
            "responseType": "container",
            "responseMessages": [
                {"containerResponse": {"responseText": "Registered.", "attributes": attributes}}
            ],
        }
    }


async def test_eighty_attributes_give_a_card_with_the_number_not_a_parse_error(
    tmp_path: Path,
) -> None:
    settings = make_settings(tmp_path / "bot.sqlite3", **MIDDLEWARE_SETTINGS)
    with respx.mock(assert_all_called=True) as mock:
        mock.post(f"{MIDDLEWARE_API}/raiseComplaintsAgainstOrder").respond(
            json=_answer_with_items(80)
        )
        async with httpx.AsyncClient() as client:
            bot = BotHarness(settings, http_client=client)
            await bot.start()
            ada = bot.customer()
            await ada.file_complaint()
            await bot.settle()
            await bot.stop()
    card = plain_text(ada.messages()[-1].text)
    assert "Complaint number: 77123" in card
    assert "Spare part <0> & its long description" in card
    assert "more (shortened to fit Telegram)" in card
