"""The message catalogues: complete in every language, and the only source of customer texts.

Every key of en.po must exist in every shipped catalogue, with the same placeholders and the
same HTML tags, so that no customer ever gets an English text (or a broken one) in the middle
of a conversation in their language. Operator texts (`operator.*`) may stay English.

The last part scans the code under bot/ for customer-facing text written directly into a
send/reply call: such text would reach every customer in English.
"""

from __future__ import annotations

import ast
import re
import string
from collections.abc import Iterator
from functools import cache
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

from bot.config import DEFAULT_CATEGORIES, DEFAULT_RESOLUTIONS, Settings, parse_mapping
from bot.i18n import FALLBACK_LANGUAGE, LOCALES_DIR, Translator, language_tag
from bot.messages.render import category_label
from tests.conversation.steps import assert_telegram_html

ROOT = Path(__file__).resolve().parents[1]
BOT_DIR = ROOT / "bot"
CATALOGUES = sorted(path.stem for path in LOCALES_DIR.glob("*.po"))
TRANSLATIONS = [code for code in CATALOGUES if code != FALLBACK_LANGUAGE]
OPERATOR_PREFIX = "operator."
DEFAULT_LANGUAGE = Settings.model_fields["default_language"].default
DEFAULT_CATEGORY_CODES = list(parse_mapping(DEFAULT_CATEGORIES))
# Telegram's limits: a command's description in the menu, the text of a button's answer.
MENU_DESCRIPTION_LIMIT = 256
TOAST_LIMIT = 200

_TAG = re.compile(r"<(/?[a-zA-Z][\w-]*)")
_MSGID_LINE = re.compile(r'^msgid "(.+)"$', re.MULTILINE)


@cache
def catalogue(code: str) -> dict[str, str]:
    """The catalogue as Babel reads it: {key: text}, untranslated entries included; a text
    with plural forms as its forms, one per line (they share placeholders and tags)."""
    with (LOCALES_DIR / f"{code}.po").open("rb") as handle:
        catalog = read_po(handle)
    texts = {}
    for message in catalog:
        if not message.id:
            continue
        if isinstance(message.id, tuple):
            forms = dict.fromkeys(str(form or "") for form in message.string)
            texts[str(message.id[0])] = "\n".join(forms)
        else:
            texts[str(message.id)] = str(message.string or "")
    return texts


def placeholders(text: str) -> set[str]:
    """The names of the `{name}` placeholders in a text."""
    names = (name for _, name, _, _ in string.Formatter().parse(text) if name is not None)
    return {re.split(r"[.\[]", name)[0] for name in names}


def tags(text: str) -> list[str]:
    """The HTML tags of a text, opening and closing (`b`, `/b`), sorted."""
    return sorted(_TAG.findall(text))


def customer_keys() -> list[str]:
    """The keys every catalogue must have: all English keys but the operator's."""
    return [key for key in catalogue(FALLBACK_LANGUAGE) if not key.startswith(OPERATOR_PREFIX)]


# -- the catalogues ---------------------------------------------------------------------------


def test_czech_and_german_are_shipped() -> None:
    assert {"en", "cs", "de"} <= set(CATALOGUES)


@pytest.mark.parametrize("code", CATALOGUES)
def test_catalogue_parses_with_babel_and_has_no_empty_text(code: str) -> None:
    path = LOCALES_DIR / f"{code}.po"
    with path.open("rb") as handle:
        catalog = read_po(handle)
    assert str(catalog.locale) == code, f"{path.name} says Language: {catalog.locale}"
    empty = [
        str(m.id)
        for m in catalog
        if m.id and not (all(m.string) if isinstance(m.string, tuple) else m.string)
    ]
    assert empty == [], f"{path.name} has empty msgstr for {empty}"
    fuzzy = [str(m.id) for m in catalog if m.id and m.fuzzy]
    assert fuzzy == [], f"{path.name} has fuzzy entries {fuzzy}"
    ids = _MSGID_LINE.findall(path.read_text(encoding="utf-8"))
    duplicates = sorted({key for key in ids if ids.count(key) > 1})
    assert duplicates == [], f"{path.name} defines {duplicates} more than once"


@pytest.mark.parametrize("code", TRANSLATIONS)
def test_every_english_key_is_translated(code: str) -> None:
    missing = [key for key in customer_keys() if key not in catalogue(code)]
    assert missing == [], f"{code}.po lacks {missing}"


@pytest.mark.parametrize("code", TRANSLATIONS)
def test_no_keys_that_english_does_not_have(code: str) -> None:
    """Extra keys are typos, except the category and solution labels a language may add."""
    english = catalogue(FALLBACK_LANGUAGE)
    labels = ("category.", "resolution.")
    extra = [k for k in catalogue(code) if k not in english and not k.startswith(labels)]
    assert extra == [], f"{code}.po has keys en.po does not know: {extra}"


@pytest.mark.parametrize("code", TRANSLATIONS)
def test_translations_keep_placeholders_and_tags(code: str) -> None:
    english, translated = catalogue(FALLBACK_LANGUAGE), catalogue(code)
    for key in customer_keys():
        if key not in translated:
            continue  # reported by test_every_english_key_is_translated
        assert placeholders(translated[key]) == placeholders(english[key]), (
            f"{code}.po {key}: placeholders {sorted(placeholders(translated[key]))}, "
            f"English has {sorted(placeholders(english[key]))}"
        )
        assert tags(translated[key]) == tags(english[key]), (
            f"{code}.po {key}: tags {tags(translated[key])}, English has {tags(english[key])}"
        )


@pytest.mark.parametrize("code", CATALOGUES)
def test_every_text_renders_as_telegram_html(code: str) -> None:
    for key, text in catalogue(code).items():
        filled = text.format(**{name: "x" for name in placeholders(text)})
        try:
            assert_telegram_html(filled)
        except AssertionError as err:
            raise AssertionError(f"{code}.po {key}: {err}") from None


@pytest.mark.parametrize("code", TRANSLATIONS)
def test_translations_name_the_default_categories(code: str) -> None:
    missing = [c for c in DEFAULT_CATEGORY_CODES if f"category.{c}" not in catalogue(code)]
    assert missing == [], f"{code}.po has no label for the categories {missing}"


@pytest.mark.parametrize("code", TRANSLATIONS)
def test_translations_name_the_default_solutions(code: str) -> None:
    defaults = parse_mapping(DEFAULT_RESOLUTIONS)
    missing = [c for c in defaults if f"resolution.{c}" not in catalogue(code)]
    assert missing == [], f"{code}.po has no label for the solutions {missing}"


@pytest.mark.parametrize("code", CATALOGUES)
def test_menu_descriptions_fit_the_telegram_menu(code: str) -> None:
    for key, text in catalogue(code).items():
        if key.startswith("menu."):
            assert 1 <= len(text) <= MENU_DESCRIPTION_LIMIT, f"{code}.po {key} is too long"
            assert "<" not in text, f"{code}.po {key}: the menu is plain text"
            assert "\n" not in text, f"{code}.po {key}: the menu is one line"


@pytest.mark.parametrize("code", CATALOGUES)
def test_button_answers_fit_a_toast(code: str) -> None:
    toasts = toast_keys()
    assert toasts, "the scan found no `answer(t(...))` at all"
    for key in toasts:
        text = catalogue(code).get(key, "")
        assert len(text) <= TOAST_LIMIT, f"{code}.po {key} is too long for a button's answer"


def test_category_labels_come_from_the_customers_language() -> None:
    translator = Translator()
    czech, english = translator.for_language("cs"), translator.for_language("en")
    categories = {"product-related": "Product-related", "delivery": "Delivery", "own": "Own"}
    assert category_label(czech, categories, "delivery") == "Doručení"
    assert category_label(czech, categories, "product-related") == "Vada zboží"
    assert category_label(czech, categories, "own") == "Own"  # no translation: as configured
    assert category_label(english, categories, "delivery") == "Delivery"


# -- choosing a language ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        ("cs", "cs"),
        ("cs-CZ", "cs"),
        ("CS", "cs"),
        ("cs_CZ", "cs"),
        ("de", "de"),
        ("de-AT", "de"),
        ("en", "en"),
        ("en-GB", "en"),
        ("pt-BR", "en"),  # no Portuguese: DEFAULT_LANGUAGE (en-US)
        ("", "en"),
        (None, "en"),
    ],
)
def test_translator_picks_the_customers_language(code: str | None, expected: str) -> None:
    translator = Translator(DEFAULT_LANGUAGE)
    messages = translator.for_language(code)
    assert messages.language == expected
    assert messages("button.raise") == catalogue(expected)["button.raise"]


def test_an_unknown_language_falls_back_to_the_default_language_first() -> None:
    translator = Translator("de-DE")
    assert translator.for_language("pt-BR").language == "de"
    assert translator.for_language(None).language == "de"
    assert translator.for_language("cs").language == "cs"


def test_czech_texts_are_czech_with_english_behind_them() -> None:
    czech = Translator().for_language("cs")
    assert czech("button.submit") == "Odeslat"
    assert czech.has_own("start.greeting")
    assert "Jana" in czech("start.greeting", name="Jana")
    # operator texts are not translated: English answers for them
    assert not czech.has_own("operator.registered")
    assert czech("operator.error_outside_update", error="E") == Translator().for_language("en")(
        "operator.error_outside_update", error="E"
    )


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        ("cs", "cs-CZ"),
        ("CS", "cs-CZ"),
        ("en", "en-US"),
        ("de", "de-DE"),
        ("pt-br", "pt-BR"),
        ("cs_cz", "cs-CZ"),
        ("de-AT", "de-AT"),
        ("fr", "fr"),
        ("", DEFAULT_LANGUAGE),
        (None, DEFAULT_LANGUAGE),
    ],
)
def test_language_tag(code: str | None, expected: str) -> None:
    assert language_tag(code, DEFAULT_LANGUAGE) == expected


# -- no customer-facing text in the code ------------------------------------------------------

# Operator- and developer-facing modules: they may speak English directly.
NOT_CUSTOMER_FACING = ("cli/", "console.py", "loopback/", "__main__.py", "config.py")
# The calls that send a text to a chat, and the positions their text can take: the Bot method
# and the shortcuts on Chat, Message and CallbackQuery (`Bot.send_message(chat_id, text)`,
# `Chat.send_message(text)`, `Bot.send_photo(chat_id, photo, caption)`, ...).
TEXT_POSITIONS: dict[str, tuple[int, ...]] = {
    "send_message": (0, 1),
    "reply_text": (0,),
    "edit_message_text": (0,),
    "answer": (0,),
    "answer_press": (1,),
    "send_photo": (1, 2),
    "edit_message_caption": (0, 3),
    "Reply": (0, 3),
    "OutgoingMessage": (),  # messages owed, written for the delivery worker (text=, caption=)
}
TEXT_KEYWORDS = frozenset({"text", "caption", "photo_caption"})
_MARKUP = re.compile(r"<[^<>]*>|&#?\w+;")
_NOT_WORDS = re.compile(r"@\w+|[a-z][a-z0-9+.-]*://\S*")  # a chat's @name, a photo's URL


def literal_text(node: ast.expr) -> str:
    """The text an expression writes itself (not what it gets from t(...) or variables)."""
    match node:
        case ast.Constant(value=str(value)):
            return value
        case ast.JoinedStr(values=values):
            return "".join(literal_text(value) for value in values)
        case ast.FormattedValue(value=value):
            return literal_text(value)
        case ast.BinOp(op=ast.Add(), left=left, right=right):
            return literal_text(left) + literal_text(right)
        case ast.BinOp(op=ast.Mod(), left=left):
            return literal_text(left)
        case ast.Call(func=ast.Attribute(attr="format", value=template)):
            return literal_text(template)
        case ast.IfExp(body=body, orelse=orelse):
            return literal_text(body) + " " + literal_text(orelse)
    return ""


def has_words(text: str) -> bool:
    """Whether a literal says something: letters left once tags and entities are gone."""
    stripped = _MARKUP.sub("", text).strip()
    if _NOT_WORDS.fullmatch(stripped):
        return False
    return any(character.isalpha() for character in stripped)


def _call_name(call: ast.Call) -> str:
    match call.func:
        case ast.Attribute(attr=name) | ast.Name(id=name):
            return name
    return ""


def hard_coded_texts(source: str, filename: str = "<snippet>") -> list[str]:
    """`file:line: call(...)` for every text with literal words given to a sending call."""
    findings = []
    for node in ast.walk(ast.parse(source, filename)):
        if not isinstance(node, ast.Call):
            continue
        name = _call_name(node)
        if name not in TEXT_POSITIONS:
            continue
        texts = [node.args[i] for i in TEXT_POSITIONS[name] if i < len(node.args)]
        texts += [kw.value for kw in node.keywords if kw.arg in TEXT_KEYWORDS]
        for text in texts:
            words = literal_text(text)
            if has_words(words):
                findings.append(f"{filename}:{text.lineno}: {name}(...) is given {words!r}")
    return findings


def customer_facing_modules() -> Iterator[tuple[str, str]]:
    """(path relative to the repository, source) of every customer-facing module of bot/."""
    for path in sorted(BOT_DIR.rglob("*.py")):
        inside = path.relative_to(BOT_DIR).as_posix()
        if not inside.startswith(NOT_CUSTOMER_FACING):
            yield path.relative_to(ROOT).as_posix(), path.read_text(encoding="utf-8")


@pytest.mark.parametrize(
    "source",
    [
        'async def f(bot):\n    await bot.send_message(1, "Hello there")\n',
        'async def f(chat):\n    await chat.send_message("Hello there")\n',
        'async def f(message):\n    await message.reply_text("<b>Thanks!</b>")\n',
        'async def f(query):\n    await query.answer(text="Done")\n',
        'async def f(query):\n    await answer_press(query, "Done")\n',
        'def f():\n    return OutgoingMessage(text="Your complaint is saved")\n',
        'async def f(query, name):\n    await query.edit_message_text("Hi " + name)\n',
        'async def f(bot, url):\n    await bot.send_photo(1, url, caption="A photo")\n',
        'async def f(bot, url):\n    await bot.send_photo(1, url, "A photo")\n',
        'async def f(bot):\n    await bot.edit_message_caption(1, 2, None, "Now")\n',
        'def f(order_id):\n    return Reply(f"Order {order_id} is saved")\n',
        'def f(n):\n    return Reply("Complaint %s" % n)\n',
        'def f(n):\n    return Reply("Complaint {}".format(n))\n',
        'def f(ok):\n    return Reply(t("a") if ok else "Sorry")\n',
        'def f():\n    return Reply(photo_caption="Look")\n',
    ],
)
def test_the_scan_finds_a_hard_coded_text(source: str) -> None:
    assert len(hard_coded_texts(source)) == 1, source


def test_the_scan_names_the_file_and_line() -> None:
    source = 'import x\n\n\nasync def f(bot):\n    await bot.send_message(1, "Hello there")\n'
    assert hard_coded_texts(source, "bot/example.py") == [
        "bot/example.py:5: send_message(...) is given 'Hello there'"
    ]


@pytest.mark.parametrize(
    "source",
    [
        'async def f(bot, t):\n    await bot.send_message(1, t("start.greeting", name="A"))\n',
        'async def f(bot, m, u):\n    await bot.send_message(1, m(u)("error.apology"))\n',
        'def f(notice, reply):\n    return Reply(f"{notice}\\n\\n{reply.text}", reply.keyboard)\n',
        "def f(t):\n    return Reply(f\"{t('a')} {t('b')}\")\n",
        'def f(heading):\n    return Reply(f"<b>{heading}</b>")\n',
        "async def f(query):\n    await query.answer()\n",
        'async def f(bot):\n    await bot.send_photo(1, "https://example.com/a.png")\n',
        'async def f(bot, t):\n    await bot.send_message("@channel", t("x"))\n',
        'async def f(bot, text):\n    await bot.send_message(1, text, parse_mode="HTML")\n',
        'def f():\n    return "Hello there"\n',
    ],
)
def test_the_scan_allows_catalogue_texts(source: str) -> None:
    assert hard_coded_texts(source) == [], source


def test_no_customer_facing_text_is_written_in_the_code() -> None:
    modules = dict(customer_facing_modules())
    assert "bot/conversation/flow.py" in modules
    assert "bot/cli/__init__.py" not in modules
    findings = [f for path, source in modules.items() for f in hard_coded_texts(source, path)]
    assert findings == [], "texts to move into bot/locales/*.po:\n" + "\n".join(findings)


def _catalogue_keys_in(source: str) -> Iterator[tuple[str, int]]:
    """The literal keys given to t(...), self._t(...) or messages(user)(...)."""
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.Call) or not node.args:
            continue
        func = node.func
        translating = (
            (isinstance(func, ast.Name) and func.id == "t")
            or (isinstance(func, ast.Attribute) and func.attr == "_t")
            or (isinstance(func, ast.Attribute) and func.attr == "plural")
            or (isinstance(func, ast.Call) and _call_name(func) == "messages")
        )
        match node.args[0]:
            case ast.Constant(value=str(key)) if translating:
                yield key, node.lineno


def test_every_key_in_the_code_is_in_the_english_catalogue() -> None:
    english = catalogue(FALLBACK_LANGUAGE)
    unknown = [
        f"{path}:{line}: {key}"
        for path, source in customer_facing_modules()
        for key, line in _catalogue_keys_in(source)
        if key not in english
    ]
    assert unknown == [], "keys missing in en.po:\n" + "\n".join(unknown)


@cache
def toast_keys() -> frozenset[str]:
    """The keys whose text answers a button press (`query.answer(t("key"))`)."""
    keys: set[str] = set()
    for _, source in customer_facing_modules():
        for node in ast.walk(ast.parse(source)):
            if not isinstance(node, ast.Call) or _call_name(node) not in ("answer", "answer_press"):
                continue
            position = 0 if _call_name(node) == "answer" else 1
            if len(node.args) > position:
                text = ast.unparse(node.args[position])
                keys.update(key for key, _ in _catalogue_keys_in(text))
    return frozenset(keys)
