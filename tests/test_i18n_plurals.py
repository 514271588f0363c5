"""Texts that count something take the number's form in each language (gettext's ngettext,
with Babel's plural rule for the locale): 1 message, 2 messages; 1 zprávu, 3 zprávy, 5 zpráv."""

from __future__ import annotations

from pathlib import Path

import pytest
from babel.messages.pofile import read_po

from bot.i18n import LOCALES_DIR, Translator, plural_count
from tests.helpers.driver import BotHarness, make_settings

PLURAL_KEYS = ("help.draft_open", "timeout.expired", "follow_up.too_many")


@pytest.mark.parametrize("code", ["en", "cs", "de"])
def test_every_counting_text_has_the_languages_number_of_forms(code: str) -> None:
    with (LOCALES_DIR / f"{code}.po").open("rb") as handle:
        catalog = read_po(handle)
    plural = {str(m.id[0]): m.string for m in catalog if isinstance(m.id, tuple)}
    assert set(plural) == set(PLURAL_KEYS)
    assert {key: len(forms) for key, forms in plural.items()} == dict.fromkeys(
        PLURAL_KEYS, catalog.num_plurals
    )


@pytest.mark.parametrize(
    ("code", "counts"),
    [
        ("en", {1: "1 message within", 2: "2 messages within", 5: "5 messages within"}),
        ("cs", {1: "1 zprávu,", 3: "3 zprávy,", 5: "5 zpráv,", 21: "21 zpráv,"}),
        ("de", {1: "1 Nachricht gesendet", 2: "2 Nachrichten gesendet"}),
    ],
)
def test_a_count_takes_its_form(code: str, counts: dict[int, str]) -> None:
    messages = Translator().for_language(code)
    for count, said in counts.items():
        assert said in messages.plural("follow_up.too_many", count, limit=count, minutes=10)


def test_a_fraction_takes_the_form_of_many() -> None:
    messages = Translator().for_language("en")
    assert plural_count(0.5) == 5 and plural_count(1.0) == 1
    assert "0.5 minutes" in messages.plural("timeout.expired", plural_count(0.5), minutes="0.5")


def test_a_language_without_a_counting_text_gets_englishs(tmp_path: Path) -> None:
    for code in ("en", "sk"):
        text = (
            (LOCALES_DIR / f"{code}.po").read_text()
            if code == "en"
            else (
                'msgid ""\nmsgstr ""\n"Language: sk\\n"\n\nmsgid "button.raise"\nmsgstr "Podať"\n'
            )
        )
        (tmp_path / f"{code}.po").write_text(text)
    messages = Translator(locales_dir=tmp_path).for_language("sk")
    assert messages.plural("help.draft_open", 1, minutes=1).endswith(
        "1 minute after your last answer."
    )


async def test_help_says_one_minute_in_the_singular(tmp_path: Path) -> None:
    bot = BotHarness(make_settings(tmp_path / "bot.sqlite3", conversation_timeout_minutes=1))
    await bot.start()
    try:
        turn = await bot.customer("Ada").send("/help")
    finally:
        await bot.stop()
    assert "A draft stays open for 1 minute after your last answer." in turn.text
