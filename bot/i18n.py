"""This module contains the Translator: message catalogues (gettext .po files) per language.

Catalogues use keys as msgids (`order.ask`) so that every language, English included, is a
translation, and a test can check that every key exists everywhere. Placeholders are
`{name}`; their values are HTML-escaped here, so an echo of customer input can never break
the HTML parse mode. A text that counts something has its plural forms (`msgid_plural`,
`msgstr[0]`, …), chosen by gettext's ngettext with the language's own rule (Babel's, from its
locale: Czech has three forms, English and German two).
"""

from __future__ import annotations

import gettext
import html
import io
from collections.abc import Mapping
from functools import cache
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

LOCALES_DIR = Path(__file__).parent / "locales"
FALLBACK_LANGUAGE = "en"
# The language tag sent in the envelope's languageCode for a bare Telegram language code.
LANGUAGE_TAGS = {"en": "en-US", "cs": "cs-CZ", "de": "de-DE", "sk": "sk-SK"}


class Markup(str):
    """Text that is already HTML and must not be escaped again."""

    __slots__ = ()


def escape(value: object) -> str:
    """HTML-escapes a value for Telegram's HTML parse mode, unless it is Markup."""
    if isinstance(value, Markup):
        return value
    return html.escape(str(value), quote=False)


def _read(path: Path) -> Catalog:
    with path.open("rb") as handle:
        return read_po(handle)


def load_catalogue(path: Path) -> dict[str, str]:
    """Reads a .po file into {key: text}, skipping untranslated entries (and plural ones:
    load_plurals)."""
    return {
        str(message.id): str(message.string)
        for message in _read(path)
        if isinstance(message.id, str) and message.id
        if isinstance(message.string, str) and message.string
    }


class Plurals:
    """The texts of one language that count something, and its rule for choosing the form."""

    def __init__(self, catalog: Catalog) -> None:
        self.keys = frozenset(str(m.id[0]) for m in catalog if isinstance(m.id, tuple))
        compiled = io.BytesIO()
        write_mo(compiled, catalog)  # with the Plural-Forms rule Babel knows for the language
        compiled.seek(0)
        self._translations = gettext.GNUTranslations(compiled)

    def form(self, key: str, count: int) -> str:
        """The form of `key` for `count` (gettext's ngettext)."""
        return self._translations.ngettext(key, key, count)


def load_plurals(path: Path) -> Plurals:
    """The plural texts of a .po file."""
    return Plurals(_read(path))


def plural_count(value: float) -> int:
    """What gettext counts for a number: a whole one as it is; a fraction (0.5 minutes) takes
    the form of a many (5), as it does in English, German and Czech."""
    return int(value) if float(value).is_integer() else 5


class Messages:
    """The catalogue of one language, with English behind it for any missing key."""

    def __init__(
        self,
        language: str,
        texts: Mapping[str, str],
        fallback: Mapping[str, str],
        plurals: tuple[Plurals, Plurals] | None = None,
    ):
        self.language = language
        self._texts = texts
        self._fallback = fallback
        # This language's plural texts, then English's.
        self._plurals = plurals

    def __call__(self, key: str, **values: object) -> str:
        """The text for `key` with its placeholders filled in (values escaped)."""
        template = self._texts.get(key) or self._fallback.get(key)
        if template is None:
            raise KeyError(f"no message {key!r} in any catalogue")
        if not values:
            return template
        return template.format(**{name: escape(value) for name, value in values.items()})

    def plural(self, key: str, count: int, **values: object) -> str:
        """The text for `key` in the form `count` takes in this language, placeholders filled
        in (values escaped); English's forms where this language has none."""
        own, english = self._plurals or (None, None)
        source = own if own is not None and key in own.keys else english
        if source is None or key not in source.keys:
            raise KeyError(f"no plural message {key!r} in any catalogue")
        return source.form(key, count).format(
            **{name: escape(value) for name, value in values.items()}
        )

    def has(self, key: str) -> bool:
        """Whether this language or English has the key."""
        return key in self._texts or key in self._fallback

    def has_own(self, key: str) -> bool:
        """Whether this language itself has the key (no English fallback)."""
        return key in self._texts


class Translator:
    """Chooses the catalogue for a customer's Telegram language code."""

    def __init__(self, default_language: str = "en-US", locales_dir: Path = LOCALES_DIR) -> None:
        paths = sorted(locales_dir.glob("*.po"))
        self._catalogues = {path.stem: load_catalogue(path) for path in paths}
        if FALLBACK_LANGUAGE not in self._catalogues:
            raise RuntimeError(f"the {FALLBACK_LANGUAGE} catalogue is missing in {locales_dir}")
        plurals = {path.stem: load_plurals(path) for path in paths}
        self.default_language = default_language
        self._messages = {
            code: Messages(
                code,
                texts,
                self._catalogues[FALLBACK_LANGUAGE],
                (plurals[code], plurals[FALLBACK_LANGUAGE]),
            )
            for code, texts in self._catalogues.items()
        }

    @property
    def languages(self) -> list[str]:
        """The languages with a catalogue."""
        return sorted(self._catalogues)

    def catalogue(self, language: str) -> Mapping[str, str]:
        """The raw catalogue of one language (for tests and tools)."""
        return self._catalogues[language]

    def for_language(self, code: str | None) -> Messages:
        """The messages for a language code such as `cs`, `en-US` or `pt-br`."""
        return self._messages[self.catalogue_for(code)]

    def catalogue_for(self, code: str | None) -> str:
        """The catalogue that serves a language code: its own, else the default, else English."""
        for candidate in (code, self.default_language):
            base = _base_language(candidate)
            if base in self._messages:
                return base
        return FALLBACK_LANGUAGE


@cache
def _base_language(code: str | None) -> str:
    return (code or "").replace("_", "-").split("-")[0].lower()


def language_tag(code: str | None, default: str) -> str:
    """The full tag for the envelope: `cs` → `cs-CZ`; tags with a region are kept as given."""
    if not code:
        return default
    normalised = code.replace("_", "-")
    if "-" in normalised:
        base, region = normalised.split("-", 1)
        return f"{base.lower()}-{region.upper()}"
    return LANGUAGE_TAGS.get(normalised.lower(), normalised.lower())
