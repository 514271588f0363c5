"""A customer files a complaint on the local desk, for every category."""

import pytest

from tests.helpers.driver import BotHarness

pytestmark = pytest.mark.both_engines

CATEGORIES = ["Product-related", "Delivery", "Payment", "Other"]


async def test_start_greets_with_the_raise_button(bot: BotHarness) -> None:
    ada = bot.customer("Ada")
    turn = await ada.send("/start")
    assert "Hello Ada" in turn.text
    assert "/complaint" in turn.text
    assert "/mycomplaints" in turn.text
    assert "/help" in turn.text
    assert turn.buttons == ["Raise a complaint"]


@pytest.mark.parametrize("category", CATEGORIES)
async def test_a_complaint_in_each_category_gets_a_number(bot: BotHarness, category: str) -> None:
    ada = bot.customer()
    await ada.send("/start")
    turn = await ada.press("Raise a complaint")
    assert "order ID" in turn.text

    turn = await ada.send("748596")
    assert "problem" in turn.text

    turn = await ada.send("The blender arrived with a cracked jug.")
    assert "category" in turn.text
    assert turn.buttons == CATEGORIES

    turn = await ada.press(category)
    assert "Please check your complaint" in turn.text
    assert "748596" in turn.text
    assert category in turn.text
    assert "cracked jug" in turn.text
    assert turn.buttons == ["Submit", "Edit", "Cancel"]

    turn = await ada.press("Submit")
    assert turn.toast == "Submitting…"  # acknowledged at once; the card replaces the summary

    await bot.settle()
    card = ada.messages()[-1]
    assert "Your complaint is registered" in card.text
    assert "100001" in card.text
    assert "748596" in card.text
    assert category in card.text
    assert card.buttons == ["Check status", "New complaint"]
