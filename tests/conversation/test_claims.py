"""What is claimed, as a customer meets it: items, the amount, the account a refund goes to."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from bot.cli.desk import show
from bot.complaint import ClaimedAmount, ClaimedItem
from bot.storage.ledger import LedgerEntry
from tests.conversation.steps import ORDER, PROBLEM
from tests.helpers.driver import BotHarness, Customer, make_settings
from tests.test_logging import captured_logs

IBAN = "CZ6508000000192000145399"
WRONG_IBAN = "CZ65 0800 0000 1920 0014 5398"
CLAIMS_ON = {
    "complaint_resolutions": {"refund": "Refund", "repair": "Repair"},
    "ask_items": "required",
    "ask_amount": "required",
    "ask_refund_account": "required",
    "claim_currency": "CZK",
    "refund_country": "CZ",
}
ITEMS_ASK = "Which <b>items</b> is the complaint about?"
AMOUNT_ASK = "How much do you claim, in <b>CZK</b>?"
ACCOUNT_ASK = "Which <b>bank account</b> should the refund go to?"
SUMMARY = "Please check your complaint"


@pytest.fixture
async def start_bot(tmp_path: Path) -> AsyncIterator[Any]:
    harnesses: list[BotHarness] = []

    async def start(**overrides: Any) -> BotHarness:
        harness = BotHarness(make_settings(tmp_path / "bot.sqlite3", **(CLAIMS_ON | overrides)))
        await harness.start()
        harnesses.append(harness)
        return harness

    yield start
    for harness in harnesses:
        await harness.stop()


async def up_to_items(
    customer: Customer, solution: str = "Refund", category: str = "Product-related"
) -> None:
    await customer.send("/complaint")
    await customer.send(ORDER)
    await customer.send(PROBLEM)
    await customer.press(category)
    await customer.press(solution)


async def filed_entry(bot: BotHarness, customer: Customer) -> LedgerEntry:
    await bot.settle()
    (entry,) = await bot.built.services.ledger.for_customer(customer.id)
    return entry


async def test_items_amount_and_account_reach_the_summary_card_and_envelope(
    start_bot: Any,
) -> None:
    bot = await start_bot()
    ada = bot.customer("Ada")
    await up_to_items(ada)
    assert ITEMS_ASK in ada.messages()[-1].text
    turn = await ada.send("2x Wireless headphones Model X\nCharging cable")
    assert AMOUNT_ASK in turn.text and "1,500.50" in turn.text
    turn = await ada.send("1,500.50")
    assert ACCOUNT_ASK in turn.text
    turn = await ada.send(WRONG_IBAN)
    assert "check digits of this IBAN do not match" in turn.text and ACCOUNT_ASK in turn.text
    turn = await ada.send("CZ65 0800 0000 1920 0014 5399")
    summary = turn.text
    assert SUMMARY in summary
    assert "<b>Items (2):</b>\n• 2 × Wireless headphones Model X\n• 1 × Charging cable" in summary
    assert "<b>Amount claimed:</b> CZK1,500.50" in summary
    assert "<b>Refund to account:</b> •••• 5399" in summary
    assert "0800" not in summary  # masked but for the last four
    await ada.press("Submit")
    entry = await filed_entry(bot, ada)
    entity = entry.envelope.entity
    assert entity.items == (
        ClaimedItem(label="Wireless headphones Model X", quantity=2),
        ClaimedItem(label="Charging cable", quantity=1),
    )
    assert entity.claimedAmount == ClaimedAmount(value=1500.5, currency="CZK")
    assert entity.refundAccount == IBAN
    card = ada.messages()[-1].text
    assert "<b>Complaint number:</b> 100001" in card
    assert "• 2 × Wireless headphones Model X" in card and "•••• 5399" in card
    assert IBAN not in card


async def test_a_czech_customer_writes_the_amount_the_czech_way_and_an_account_number(
    start_bot: Any,
) -> None:
    bot = await start_bot()
    jana = bot.customer("Jana", language_code="cs")
    await up_to_items(jana, solution="Vrácení peněz", category="Vada zboží")
    await jana.send("3 × kabel")
    turn = await jana.send("nula")
    assert "Tohle jako částku přečíst neumím" in turn.text and "1\u00a0500,50" in turn.text
    turn = await jana.send("-20")
    assert "Částka musí být větší než nula." in turn.text
    await jana.send("1 500,50")
    turn = await jana.send("19-2000145399/0800")
    assert "<b>Požadovaná částka:</b> 1\u00a0500,50\u00a0Kč" in turn.text
    assert "<b>Vrátit na účet:</b> •••• 5399" in turn.text
    await jana.press("Odeslat")
    entity = (await filed_entry(bot, jana)).envelope.entity
    assert entity.refundAccount == IBAN  # converted to its IBAN
    assert entity.claimedAmount == ClaimedAmount(value=1500.5, currency="CZK")


async def test_the_account_is_asked_only_for_a_refund_and_dropped_when_the_solution_changes(
    start_bot: Any,
) -> None:
    bot = await start_bot()
    ada = bot.customer("Ada")
    await up_to_items(ada, solution="Repair")
    await ada.send("Blender")
    turn = await ada.send("99")
    assert SUMMARY in turn.text and ACCOUNT_ASK not in turn.text
    await ada.press("Edit")
    turn = await ada.press("Solution")
    turn = await ada.press("Refund")
    assert ACCOUNT_ASK in turn.text  # now there is a refund to send somewhere
    turn = await ada.send(IBAN)
    assert "•••• 5399" in turn.text and SUMMARY in turn.text
    await ada.press("Edit")
    await ada.press("Solution")
    turn = await ada.press("Repair")
    assert SUMMARY in turn.text and "Refund to account" not in turn.text
    await ada.press("Submit")
    assert (await filed_entry(bot, ada)).envelope.entity.refundAccount is None


async def test_optional_steps_are_skipped_and_edited(start_bot: Any) -> None:
    bot = await start_bot(ask_items="optional", ask_amount="optional", ask_refund_account="off")
    ada = bot.customer("Ada")
    await up_to_items(ada)
    turn = await ada.press("Skip")
    assert AMOUNT_ASK in turn.text and "Or tap Skip." in turn.text
    turn = await ada.press("Skip")
    assert SUMMARY in turn.text and "Items" not in turn.text and "Amount" not in turn.text
    await ada.press("Edit")
    turn = await ada.press("Items")
    assert ITEMS_ASK in turn.text
    turn = await ada.send("2x Wireless headphones Model X")
    assert "• 2 × Wireless headphones Model X" in turn.text and SUMMARY in turn.text
    await ada.press("Edit")
    await ada.press("Amount")
    turn = await ada.send("250")
    assert "<b>Amount claimed:</b> CZK250.00" in turn.text
    await ada.press("Submit")
    entity = (await filed_entry(bot, ada)).envelope.entity
    assert entity.items == (ClaimedItem(label="Wireless headphones Model X", quantity=2),)
    assert entity.claimedAmount == ClaimedAmount(value=250.0, currency="CZK")


async def test_required_steps_offer_no_skip(start_bot: Any) -> None:
    bot = await start_bot()
    ada = bot.customer("Ada")
    await up_to_items(ada)
    assert ada.messages()[-1].buttons == []
    turn = await ada.send("Blender")
    assert AMOUNT_ASK in turn.text and turn.buttons == []
    turn = await ada.send("Skip")
    assert "I cannot read that as an amount" in turn.text and AMOUNT_ASK in turn.text


async def test_too_many_items_are_refused_in_words(start_bot: Any) -> None:
    bot = await start_bot()
    ada = bot.customer("Ada")
    await up_to_items(ada)
    turn = await ada.send("\n".join(f"Spare part {n}" for n in range(21)))
    assert "That is 21 items; up to 20 fit." in turn.text and ITEMS_ASK in turn.text


@pytest.mark.parametrize("typed", ["19-2000145399/0800", "cz65 0800 0000 1920 0014 5399", IBAN])
async def test_the_account_never_reaches_the_logs_even_at_debug(start_bot: Any, typed: str) -> None:
    with captured_logs("text", []) as buffer:
        bot = await start_bot()
        ada = bot.customer("Ada")
        await up_to_items(ada)
        await ada.send("Blender")
        await ada.send("99")
        await ada.send(typed)
        await ada.press("Submit")
        await bot.settle()
    logged = buffer.getvalue()
    # PTB's DEBUG logs of the updates and aiosqlite's of the SQL parameters were written.
    assert "Complaint 1 confirmed" in logged and "INSERT INTO desk_complaints" in logged
    assert "Calling Bot API endpoint" in logged
    for form in (IBAN, "2000145399", "0800 0000 1920", typed):
        assert form not in logged


async def test_the_local_desk_keeps_what_is_claimed_and_desk_show_prints_it(
    start_bot: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    bot = await start_bot()
    ada = bot.customer("Ada")
    await up_to_items(ada)
    await ada.send("2x Wireless headphones Model X\nCharging cable")
    await ada.send("1500")
    await ada.send("19-2000145399/0800")
    await ada.press("Submit")
    await bot.settle()
    assert await show(bot.settings, "100001") == 0
    printed = capsys.readouterr().out
    assert "  items:    2\n    2 × Wireless headphones Model X\n    1 × Charging cable" in printed
    assert "  amount:   1500.00 CZK" in printed
    assert f"  account:  {IBAN}" in printed  # the back office pays the refund
