"""A Czech customer files a complaint in Czech, from /start to /mycomplaints.

Telegram tells the bot the customer's language (`language_code: cs`); every reply, button and
category label is then Czech, the date is written the Czech way, and the complaint goes to the
backend with languageCode `cs-CZ`.
"""

from __future__ import annotations

import re
from typing import Any

from bot.storage.ledger import LedgerState
from tests.conversation.steps import assert_telegram_html
from tests.helpers.driver import PRODUCT_DEFAULTS, BotHarness, Customer

ORDER = "748596"
PROBLEM = "Mixér dorazil s prasklou nádobou."
CZECH_CATEGORIES = ["Vada zboží", "Doručení", "Platba", "Jiné"]
# Words of the English texts that no Czech sentence contains (commands such as /complaint aside).
ENGLISH = re.compile(r"\b(the|your|you|please|is|and|order|complaint|category)\b", re.IGNORECASE)
COMMAND = re.compile(r"/[a-z]+")


def assert_czech(text: str) -> None:
    """The text is Czech: no English words outside the commands, and valid Telegram HTML."""
    assert text, "the bot said nothing"
    english = ENGLISH.findall(COMMAND.sub("", text))
    assert not english, f"English {english} in {text!r}"
    assert_telegram_html(text)


def czech_customer(bot: BotHarness) -> Customer:
    return bot.customer("Jana", language_code="cs")


async def test_a_czech_customer_files_a_complaint_in_czech(bot: BotHarness) -> None:
    jana = czech_customer(bot)

    turn = await jana.send("/start")
    assert turn.text.startswith("Dobrý den, Jana!")
    assert "Pomohu vám podat reklamaci" in turn.text
    for command in ("/complaint", "/mycomplaints", "/status", "/help"):
        assert command in turn.text
    assert turn.buttons == ["Podat reklamaci"]

    turn = await jana.send("/complaint")
    assert "Pošlete prosím <b>číslo objednávky</b>" in turn.text
    assert turn.buttons == []

    turn = await jana.send(ORDER)
    assert "popište <b>problém</b>" in turn.text

    turn = await jana.send(PROBLEM)
    assert turn.text == "Která <b>kategorie</b> nejlépe odpovídá?"
    assert turn.buttons == CZECH_CATEGORIES

    turn = await jana.press("Doručení")
    assert turn.text == (
        "<b>Zkontrolujte prosím svou reklamaci</b>\n"
        "\n"
        "<b>Objednávka:</b> 748596\n"
        "<b>Kategorie:</b> Doručení\n"
        "<b>Problém:</b> Mixér dorazil s prasklou nádobou.\n"
        "\n"
        "Mám reklamaci odeslat?"
    )
    assert turn.buttons == ["Odeslat", "Upravit", "Zrušit"]

    turn = await jana.press("Odeslat")
    assert turn.toast == "Odesílám…"

    await bot.settle()
    card = jana.messages()[-1]
    assert card.text == (
        "✅ <b>Vaše reklamace je zaregistrována.</b>\n"
        "\n"
        "<b>Číslo reklamace:</b> 100001\n"
        "<b>Objednávka:</b> 748596\n"
        "<b>Kategorie:</b> Doručení"
    )
    assert card.buttons == ["Zjistit stav", "Nová reklamace"]

    turn = await jana.send("/mycomplaints")
    assert turn.text == (
        "<b>Vaše reklamace</b>, od nejnovější:\n"
        "<b>100001</b> · objednávka 748596 · Doručení · 28. 5. 2026 · přijata"
    )

    turn = await jana.press("Zjistit stav", on=card)
    assert turn.text == "Reklamace <b>100001</b> (objednávka 748596): <b>přijata</b>"

    [entry] = await bot.built.services.ledger.in_state(*LedgerState)
    assert entry.envelope.languageCode == "cs-CZ"
    assert entry.category == "delivery"  # the code, whatever the customer's language

    for message in jana.messages():
        assert_czech(message.text)


async def test_the_czech_buttons_lead_through_editing_and_cancelling(bot: BotHarness) -> None:
    jana = czech_customer(bot)
    await jana.send("/start")
    turn = await jana.press("Podat reklamaci")
    assert "<b>číslo objednávky</b>" in turn.text
    await jana.send(ORDER)
    await jana.send(PROBLEM)
    await jana.press("Vada zboží")

    turn = await jana.press("Upravit")
    assert turn.text.endswith("Co chcete změnit?")
    assert turn.buttons == ["Číslo objednávky", "Problém", "Kategorie", "Zpět"]
    turn = await jana.press("Kategorie")
    assert turn.buttons == CZECH_CATEGORIES
    turn = await jana.press("Platba")
    assert "<b>Kategorie:</b> Platba\n" in turn.text

    turn = await jana.send("/help")
    assert turn.text.startswith("<b>S čím vám mohu pomoci</b>")
    assert "15 min" in turn.text
    assert turn.text.endswith("Mám reklamaci odeslat?")  # the question again, in Czech

    turn = await jana.press("Zrušit")
    assert turn.text.startswith("Vaše reklamace byla zrušena a nic nebylo odesláno.")
    turn = await jana.send("/mycomplaints")
    assert turn.text.startswith("Zatím nemáte žádné reklamace.")

    for message in jana.messages():
        assert_czech(message.text)


async def test_czech_regional_code_and_invalid_answers_stay_czech(bot: BotHarness) -> None:
    jana = bot.customer("Jana", language_code="cs-CZ")
    await jana.send("/complaint")
    turn = await jana.send("???")
    assert turn.text.startswith("Toto nevypadá jako číslo naší objednávky.")
    await jana.send(ORDER)
    turn = await jana.send("ab")
    assert turn.text.startswith("To je trochu málo.")
    await jana.send(PROBLEM)
    turn = await jana.send("nevím")
    assert turn.text.startswith("Vyberte prosím kategorii pomocí tlačítek.")
    assert turn.buttons == CZECH_CATEGORIES
    for message in jana.messages():
        assert_czech(message.text)


async def test_the_command_menu_is_registered_in_czech(bot: BotHarness) -> None:
    menus = {
        call.params.get("language_code"): call.params["commands"]
        for call in bot.api.calls_to("setMyCommands")
    }
    czech = {command["command"]: command["description"] for command in menus["cs"]}
    assert czech["complaint"] == "Podat reklamaci objednávky"
    assert czech["help"] == "Nápověda"
    assert [c["command"] for c in menus["cs"]] == [c["command"] for c in menus[None]]


async def test_a_german_customer_is_answered_in_german(bot: BotHarness) -> None:
    max_ = bot.customer("Max", language_code="de-AT")
    turn = await max_.send("/start")
    assert turn.text.startswith("Guten Tag, Max!")
    assert turn.buttons == ["Reklamation einreichen"]
    await max_.press("Reklamation einreichen")
    await max_.send(ORDER)
    turn = await max_.send("Der Mixer kam mit einem Sprung im Krug an.")
    assert turn.buttons == ["Produktmangel", "Lieferung", "Zahlung", "Sonstiges"]
    turn = await max_.press("Lieferung")
    assert "<b>Kategorie:</b> Lieferung\n" in turn.text
    await max_.press("Absenden")
    await bot.settle()
    assert max_.messages()[-1].text.startswith("✅ <b>Ihre Reklamation ist registriert.</b>")
    [entry] = await bot.built.services.ledger.in_state(*LedgerState)
    assert entry.envelope.languageCode == "de-AT"


async def test_language_buttons_pressed_twice_answer_once_without_an_apology(
    bot: BotHarness,
) -> None:
    ada = bot.customer("Ada")
    await ada.send("/complaint")
    await ada.send("/language")
    menu = ada.last_message_with("Čeština")
    czech = menu.callback_data("Čeština")
    first = await ada.press_data(czech, on=menu)
    assert "česky" in first.all_text and "objednávky" in first.all_text  # the open question
    second = await ada.press_data(czech, on=menu)  # the second tap of a double tap
    assert "went wrong" not in second.all_text and "Něco se pokazilo" not in second.all_text
    assert bot.errors == []


async def test_the_photos_and_solution_steps_speak_czech(harness_factory: Any) -> None:
    bot = await harness_factory(**PRODUCT_DEFAULTS, ask_contact="optional")
    jana = czech_customer(bot)
    await jana.send("/complaint")
    await jana.send(ORDER)
    await jana.send(PROBLEM)
    turn = await jana.press("Vada zboží")
    assert_czech(turn.text)
    assert turn.buttons == ["Přeskočit"]
    turn = await jana.send_album(2)
    assert_czech(turn.text)
    turn = await jana.press("Hotovo")
    assert_czech(turn.text)
    assert turn.buttons == ["Vrácení peněz", "Výměna", "Oprava", "Bez preference"]
    turn = await jana.press("Výměna")
    assert_czech(turn.text)
    turn = await jana.send("jana@example.cz")
    assert_czech(turn.text)
    assert "Výměna" in turn.text and "jana@example.cz" in turn.text
