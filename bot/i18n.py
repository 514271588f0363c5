"""This module contains the Translator: message catalogues (gettext .po files) per language.

Catalogues use keys as msgids (`order.ask`) so that every language, English included, is a
translation, and a test can check that every key exists everywhere. Placeholders are
`{name}`; their values are HTML-escaped here, so an echo of customer input can never break
the HTML parse mode.
"""

from __future__ import annotations

import html
from collections.abc import Mapping
from functools import cache
from pathlib import Path

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


def load_catalogue(path: Path) -> dict[str, str]:
    """Reads a .po file into {key: text}, skipping untranslated entries."""
    with path.open("rb") as handle:
        catalog = read_po(handle)
    return {
        str(message.id): str(message.string)
        for message in catalog
        if message.id and isinstance(message.string, str) and message.string
    }


class Messages:
    """The catalogue of one language, with English behind it for any missing key."""

    def __init__(self, language: str, texts: Mapping[str, str], fallback: Mapping[str, str]):
        self.language = language
        self._texts = texts
        self._fallback = fallback

    def __call__(self, key: str, **values: object) -> str:
        """The text for `key` with its placeholders filled in (values escaped)."""
        template = self._texts.get(key) or self._fallback.get(key)
        if template is None:
            raise KeyError(f"no message {key!r} in any catalogue")
        if not values:
            return template
        return template.format(**{name: escape(value) for name, value in values.items()})

    def has(self, key: str) -> bool:
        """Whether this language or English has the key."""
        return key in self._texts or key in self._fallback

    def has_own(self, key: str) -> bool:
        """Whether this language itself has the key (no English fallback)."""
        return key in self._texts


class Translator:
    """Chooses the catalogue for a customer's Telegram language code."""

    def __init__(self, default_language: str = "en-US", locales_dir: Path = LOCALES_DIR) -> None:
        self._catalogues = {
            path.stem: load_catalogue(path) for path in sorted(locales_dir.glob("*.po"))
        }
        if FALLBACK_LANGUAGE not in self._catalogues:
            raise RuntimeError(f"the {FALLBACK_LANGUAGE} catalogue is missing in {locales_dir}")
        self.default_language = default_language
        self._messages = {
            code: Messages(code, texts, self._catalogues[FALLBACK_LANGUAGE])
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
