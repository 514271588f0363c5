"""Telegram's HTML parse mode: what it refuses, how it counts, and how we cut within it."""

from __future__ import annotations

import pytest

from bot.loopback.telegram import BotApiError, LoopbackTelegram
from bot.telegram_html import (
    TelegramHtmlError,
    fit,
    plain_text,
    shorten,
    utf16_length,
    visible_length,
)


@pytest.mark.parametrize(
    ("markup", "error"),
    [
        ("<p>hi</p>", 'Unsupported start tag "p" at byte offset 0'),
        ("a <b>bold", 'Can\'t find end tag corresponding to start tag "b"'),
        ("<b>x</i>", 'Unmatched end tag at byte offset 4, expected "</b>", found "</i>"'),
        ("x</b>", "Unexpected end tag at byte offset 1"),
        ("<b", "Unclosed start tag at byte offset 0"),
        ("é <script>", 'Unsupported start tag "script" at byte offset 3'),
        ('<a href="x>y', "Unclosed start tag at byte offset 0"),
        ("<span>s</span>", 'Tag "span" must have class "tg-spoiler" at byte offset 0'),
        ("<b =x>y</b>", 'Empty attribute name in the tag "b" at byte offset 0'),
    ],
)
def test_markup_telegram_refuses_is_refused_with_its_words(markup: str, error: str) -> None:
    with pytest.raises(TelegramHtmlError) as raised:
        plain_text(markup)
    assert str(raised.value) == error


def test_entities_and_tags_are_read_as_telegram_reads_them() -> None:
    markup = (
        '<b>Tom &amp; Jerry</b> &lt;3 &#128512; &#x41; &copy; AT&T <a href="https://x.io/?a=1&amp;b">'
        "link</a> <span class=\"tg-spoiler\">s</span> <code class='language-py'>c</code> </>"
    )
    with pytest.raises(TelegramHtmlError):
        plain_text(markup)  # the final "</>" closes nothing
    assert plain_text(markup[:-4]) == "Tom & Jerry <3 😀 A &copy; AT&T link s c"


def test_lengths_count_utf16_units_like_telegram() -> None:
    assert utf16_length("abc") == 3
    assert utf16_length("😀") == 2  # outside the Basic Multilingual Plane
    assert visible_length("<b>é😀</b>&amp;") == 4


def test_fit_cuts_the_text_and_never_the_markup() -> None:
    markup = "<b>" + "x" * 50 + "</b> <i>tail &amp; more</i>"
    cut = fit(markup, 20)
    assert plain_text(cut) == "x" * 19 + "…"
    assert cut == "<b>" + "x" * 19 + "…</b>"
    assert fit(markup, 100) == markup
    cut = fit("<b>ab</b><i>c&amp;d&lt;e</i>", 6)
    assert plain_text(cut) == "abc&d…"
    assert cut == "<b>ab</b><i>c&amp;d…</i>"


def test_shorten_never_splits_an_emoji() -> None:
    assert shorten("😀😀😀", 4) == "😀…"
    assert utf16_length(shorten("ab😀cd", 4)) <= 4
    assert shorten("short", 10) == "short"


def test_the_loopback_refuses_what_telegram_refuses() -> None:
    telegram = LoopbackTelegram()

    def refused(method: str, **params: object) -> str:
        with pytest.raises(BotApiError) as raised:
            telegram.call(method, {"chat_id": 1, **params})
        return raised.value.description

    assert refused("sendMessage", text="<b>x", parse_mode="HTML") == (
        "Bad Request: can't parse entities: Can't find end tag corresponding to start tag \"b\""
    )
    assert refused("sendMessage", text="x" * 4097) == "Bad Request: message is too long"
    assert refused("sendMessage", text="   ") == "Bad Request: message text is empty"
    assert (
        refused("sendPhoto", photo="https://x.io/p.png", caption="y" * 1025)
        == "Bad Request: message caption is too long"
    )
    keyboard = {"inline_keyboard": [[{"text": "B", "callback_data": "d" * 65}]]}
    assert refused("sendMessage", text="x", reply_markup=keyboard) == (
        "Bad Request: BUTTON_DATA_INVALID"
    )
    # 4,096 visible characters pass, however long the markup around them.
    telegram.call(
        "sendMessage", {"chat_id": 1, "text": "<b>" + "&amp;" * 4096 + "</b>", "parse_mode": "HTML"}
    )
    # Without parse_mode the text is taken as it is.
    telegram.call("sendMessage", {"chat_id": 1, "text": "<b>not markup"})


def test_the_loopback_refuses_to_answer_a_press_older_than_fifteen_seconds() -> None:
    now = [1000.0]
    telegram = LoopbackTelegram(clock=lambda: now[0])
    telegram.pressed({"callback_query": {"id": "q1"}})
    telegram.pressed({"callback_query": {"id": "q2"}})
    telegram.call("answerCallbackQuery", {"callback_query_id": "q1"})
    now[0] += 16
    with pytest.raises(BotApiError, match="query is too old"):
        telegram.call("answerCallbackQuery", {"callback_query_id": "q2"})
    with pytest.raises(BotApiError, match="query is too old"):  # answered once only
        telegram.call("answerCallbackQuery", {"callback_query_id": "q1"})
