"""Files, the solution wanted and a way to reach the customer, as a customer meets them.

Every test runs the shop's defaults for these steps (PRODUCT_DEFAULTS: photos asked for
product-related complaints, the four solutions offered) unless it says otherwise.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from bot.messages.callbacks import Action, decode, encode
from bot.storage.ledger import LedgerEntry
from tests.conversation.steps import ORDER, PROBLEM, STALE_BUTTON
from tests.helpers.driver import PRODUCT_DEFAULTS, BotHarness, Customer, Turn, make_settings

pytestmark = pytest.mark.both_engines

PHOTOS_ASK = "Would you like to add <b>photos</b>"
RESOLUTION_ASK = "What would you like as the <b>solution</b>?"
RESOLUTIONS = ["Refund", "Replacement", "Repair", "No preference"]
SUMMARY = "Please check your complaint"
KEPT = "I attached your file to the complaint"
NOT_READABLE = "but not this kind of message"


@pytest.fixture
async def start_bot(tmp_path: Path) -> AsyncIterator[Any]:
    harnesses: list[BotHarness] = []

    async def start(**overrides: Any) -> BotHarness:
        settings = make_settings(tmp_path / "bot.sqlite3", **(PRODUCT_DEFAULTS | overrides))
        harness = BotHarness(settings)
        await harness.start()
        harnesses.append(harness)
        return harness

    yield start
    for harness in harnesses:
        await harness.stop()


async def up_to_category(customer: Customer) -> Turn:
    await customer.send("/complaint")
    await customer.send(ORDER)
    return await customer.send(PROBLEM)


async def filed_entry(bot: BotHarness, customer: Customer) -> LedgerEntry:
    (entry,) = await bot.built.services.ledger.for_customer(customer.id)
    return entry


async def test_an_album_of_three_photos_and_replacement_reach_the_summary_card_and_envelope(
    start_bot: Any,
) -> None:
    bot = await start_bot()
    ada = bot.customer()
    await up_to_category(ada)
    turn = await ada.press("Product-related")
    assert PHOTOS_ASK in turn.text
    assert turn.buttons == ["Skip"]  # until a file arrives

    turn = await ada.send_album(3)
    # One answer for the album, edited as its photos come in (not one message per photo).
    sent = [c for c in turn.calls if c.method == "sendMessage"]
    edits = [c for c in turn.calls if c.method == "editMessageText"]
    assert len(sent) == 1 and len(edits) == 2
    answer = ada.messages()[-1]
    assert "Files attached: 3 of 10" in answer.text
    assert answer.buttons == ["Done"]

    turn = await ada.press("Done")
    assert RESOLUTION_ASK in turn.text
    assert turn.buttons == RESOLUTIONS
    turn = await ada.press("Replacement")
    assert SUMMARY in turn.text
    assert "<b>Files:</b> 3" in turn.text
    assert "<b>Solution wanted:</b> Replacement" in turn.text

    await ada.press("Submit")
    await bot.settle()
    card = ada.messages()[-1].text
    assert "Complaint number:</b> 100001" in card
    assert "<b>Files:</b> 3" in card and "<b>Solution wanted:</b> Replacement" in card

    entity = (await filed_entry(bot, ada)).envelope.to_json_dict()["queryInfo"]["parameters"][
        "params"
    ]["entityInfo"]
    assert entity["resolution"] == "replacement"
    assert [a["kind"] for a in entity["attachments"]] == ["photo", "photo", "photo"]
    assert len({a["fileId"] for a in entity["attachments"]}) == 3
    assert all(a["fileUniqueId"] and a["size"] > 0 for a in entity["attachments"])
    assert "contact" not in entity  # not asked (ASK_CONTACT=off)


async def test_a_photo_with_a_caption_at_the_problem_step_is_the_problem_and_the_first_file(
    start_bot: Any,
) -> None:
    bot = await start_bot()
    ada = bot.customer()
    await ada.send("/complaint")
    await ada.send(ORDER)
    turn = await ada.send_file(caption="The jug is cracked along the handle.")
    assert "Which <b>category</b> fits best?" in turn.text
    await ada.press("Payment")  # not a photo category: no PHOTOS step, the file stays
    turn = await ada.press("No preference")
    assert "<b>Problem:</b> The jug is cracked along the handle." in turn.text
    assert "<b>Files:</b> 1" in turn.text


async def test_a_photo_with_a_too_short_caption_is_kept_and_the_problem_asked_again(
    start_bot: Any,
) -> None:
    bot = await start_bot()
    ada = bot.customer()
    await ada.send("/complaint")
    await ada.send(ORDER)
    turn = await ada.send_file(caption="bad")
    assert KEPT in turn.text
    assert "That is a little short" in turn.text
    assert "describe the <b>problem</b>" in turn.text


async def test_a_file_at_any_step_is_attached_and_the_question_asked_again(
    start_bot: Any,
) -> None:
    bot = await start_bot()
    ada = bot.customer()
    await ada.send("/complaint")
    turn = await ada.send_file("document", name="receipt.pdf", mime="application/pdf")
    assert KEPT in turn.text and "(1 so far)" in turn.text
    assert "Please send the <b>order ID</b>" in turn.text
    await ada.send(ORDER)
    await ada.send(PROBLEM)
    await ada.press("Delivery")
    turn = await ada.press("Refund")
    assert "<b>Files:</b> 1" in turn.text
    turn = await ada.send_file("video")
    assert KEPT in turn.text and "<b>Files:</b> 2" in turn.text  # the summary, updated
    assert turn.buttons == ["Submit", "Edit", "Cancel"]


async def test_limits_are_explained_and_the_step_goes_on(start_bot: Any) -> None:
    bot = await start_bot()
    ada = bot.customer()
    await up_to_category(ada)
    await ada.press("Product-related")
    turn = await ada.send_file("document", name="big.pdf", mime="application/pdf", size=25 << 20)
    assert "larger than the 20 MB" in turn.text
    assert turn.buttons == ["Skip"]  # nothing was attached
    turn = await ada.send_file("document", name="x.zip", mime="application/zip")
    assert "not this kind of file" in turn.text
    for _ in range(10):
        turn = await ada.send_file()
    assert "Files attached: 10 of 10" in turn.text
    turn = await ada.send_file()
    assert "up to 10 files" in turn.text
    turn = await ada.send_content("sticker")
    assert NOT_READABLE in turn.text and PHOTOS_ASK in turn.text
    turn = await ada.send("here are my photos")
    assert "Please send photos, or tap the button" in turn.text
    await ada.press("Done")
    turn = await ada.press("Repair")
    assert "<b>Files:</b> 10" in turn.text


async def test_skip_leads_to_the_solution_which_can_also_be_typed(start_bot: Any) -> None:
    bot = await start_bot()
    ada = bot.customer()
    await up_to_category(ada)
    await ada.press("Product-related")
    turn = await ada.press("Skip")
    assert RESOLUTION_ASK in turn.text
    turn = await ada.send("a unicorn")
    assert "Please choose a solution with the buttons." in turn.text
    turn = await ada.send("refund")
    assert SUMMARY in turn.text and "<b>Solution wanted:</b> Refund" in turn.text
    assert "Files:" not in turn.text


async def test_required_photos_offer_no_skip_and_refuse_a_forged_one(start_bot: Any) -> None:
    bot = await start_bot(ask_photos="required")
    ada = bot.customer()
    await up_to_category(ada)
    category_data = ada.last_message_with("Product-related").callback_data("Product-related")
    turn = await ada.press("Product-related")
    assert "Please send <b>photos</b>" in turn.text
    assert turn.buttons == []
    press = decode(category_data)  # a forged [Skip] carries the draft's own token
    assert press is not None
    turn = await ada.press_data(encode(Action.PHOTOS_DONE, press.token))
    assert turn.toast == STALE_BUTTON
    turn = await ada.send_file()
    assert ada.messages()[-1].buttons == ["Done"]
    turn = await ada.press("Done")
    assert RESOLUTION_ASK in turn.text


async def test_edit_removes_and_adds_files(start_bot: Any) -> None:
    bot = await start_bot()
    ada = bot.customer()
    await up_to_category(ada)
    await ada.press("Product-related")
    await ada.send_album(2)
    await ada.press("Done")
    await ada.press("Repair")
    turn = await ada.press("Edit")
    assert turn.buttons == ["Order ID", "Problem", "Category", "Files", "Solution", "Back"]
    turn = await ada.press("Files")
    assert turn.buttons == ["Remove the files", "Done"]
    turn = await ada.press("Remove the files")
    assert turn.buttons == ["Skip"]
    turn = await ada.press("Skip")
    assert SUMMARY in turn.text and "Files:" not in turn.text
    await ada.press("Edit")
    await ada.press("Files")
    await ada.send_file()
    turn = await ada.press("Done")
    assert SUMMARY in turn.text and "<b>Files:</b> 1" in turn.text
    await ada.press("Edit")
    await ada.press("Solution")
    turn = await ada.press("Refund")
    assert "<b>Solution wanted:</b> Refund" in turn.text


async def test_a_forged_solution_is_refused(start_bot: Any) -> None:
    bot = await start_bot()
    ada = bot.customer()
    await up_to_category(ada)
    await ada.press("Delivery")
    data = ada.messages()[-1].callback_data("Refund").replace("refund", "cash")
    turn = await ada.press_data(data)
    assert turn.toast == STALE_BUTTON
    assert RESOLUTION_ASK in turn.text


async def test_without_resolutions_and_photos_the_flow_and_the_envelope_are_as_before(
    start_bot: Any,
) -> None:
    bot = await start_bot(complaint_resolutions={})
    ada = bot.customer()
    await up_to_category(ada)
    turn = await ada.press("Delivery")
    assert SUMMARY in turn.text  # straight from the category to the summary
    assert "Files:" not in turn.text and "Solution" not in turn.text
    await ada.press("Submit")
    await bot.settle()
    entity = (await filed_entry(bot, ada)).envelope.to_json_dict()["queryInfo"]["parameters"][
        "params"
    ]["entityInfo"]
    assert set(entity) == {"orderId", "problemStatment", "category"}


async def test_the_customers_own_phone_number_is_taken_and_someone_elses_refused(
    start_bot: Any,
) -> None:
    bot = await start_bot(ask_contact="required")
    ada = bot.customer()
    await up_to_category(ada)
    await ada.press("Delivery")
    turn = await ada.press("Replacement")
    ask = turn.replies[-1]
    assert "Share my phone number" in ask.text
    assert ask.params["reply_markup"]["keyboard"][0][0]["request_contact"] is True
    assert len(ask.params["reply_markup"]["keyboard"]) == 1  # required: no Skip
    turn = await ada.share_contact(own=False)
    assert "your own phone number" in turn.text
    turn = await ada.share_contact()
    thanks, summary = turn.replies[-2:]
    assert thanks.params["reply_markup"] == {"remove_keyboard": True}
    assert "<b>Contact:</b> +420777123456" in summary.text
    await ada.press("Submit")
    await bot.settle()
    contact = (await filed_entry(bot, ada)).envelope.entity.contact
    assert contact is not None and contact.phone == "+420777123456" and contact.email is None


async def test_an_email_address_is_checked_and_optional_contact_can_be_skipped(
    start_bot: Any,
) -> None:
    bot = await start_bot(ask_contact="optional")
    ada = bot.customer()
    await up_to_category(ada)
    await ada.press("Delivery")
    turn = await ada.press("Refund")
    keyboard = turn.replies[-1].params["reply_markup"]["keyboard"]
    assert [row[0]["text"] for row in keyboard] == ["📱 Share my phone number", "Skip"]
    turn = await ada.send("ada@example")
    assert "does not look like an e-mail address" in turn.text
    turn = await ada.send("Ada@Example.COM")
    assert "<b>Contact:</b> Ada@example.com" in turn.text
    await ada.press("Edit")
    await ada.press("Contact")
    turn = await ada.send("Skip")
    assert SUMMARY in turn.text and "<b>Contact:</b> Ada@example.com" in turn.text

    bob = bot.customer("Bob")
    await up_to_category(bob)
    await bob.press("Delivery")
    await bob.press("Refund")
    turn = await bob.send("Skip")
    assert SUMMARY in turn.text and "Contact:" not in turn.text


async def test_cancel_at_the_contact_step_takes_the_keyboard_away(start_bot: Any) -> None:
    bot = await start_bot(ask_contact="optional")
    ada = bot.customer()
    await up_to_category(ada)
    await ada.press("Delivery")
    await ada.press("Refund")
    turn = await ada.send("/cancel")
    assert "cancelled" in turn.text
    assert turn.replies[-1].params["reply_markup"] == {"remove_keyboard": True}
