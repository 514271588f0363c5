"""This module contains Telegram's HTML parse mode: parse as Telegram does, measure, and cut.

Telegram limits a message to 4,096 and a caption to 1,024 characters *after* the markup is
parsed, and refuses markup it cannot parse ("can't parse entities"). The rules here follow
tdlib's HTML parser (which the Bot API uses): a fixed set of tags, attributes in single, double
or no quotes, only `&lt; &gt; &amp; &quot;` and numeric character references, and a lone `&`
kept as text. Lengths are counted in UTF-16 code units, as Telegram's entity offsets are: an
emoji counts two, so a text measured here never exceeds the limit under either count.

Our renderer measures and cuts with it, and the loopback Bot API refuses with it what Telegram
refuses, with Telegram's error texts.
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from typing import Literal

MESSAGE_LIMIT = 4096
CAPTION_LIMIT = 1024
ELLIPSIS = "…"

SUPPORTED_TAGS = frozenset(
    {
        "a",
        "b",
        "strong",
        "i",
        "em",
        "s",
        "strike",
        "del",
        "u",
        "ins",
        "tg-spoiler",
        "tg-emoji",
        "span",
        "pre",
        "code",
        "blockquote",
    }
)
_NAMED_ENTITIES = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}
_SPACES = " \t\n\r\f\v"
# Characters an unquoted attribute value may hold besides ASCII letters and digits.
_NAME_TOKEN_EXTRA = "._-:"  # noqa: S105 - not a password


class TelegramHtmlError(ValueError):
    """Markup Telegram refuses; the message is Telegram's own words (after "can't parse
    entities: ")."""


@dataclass(frozen=True, slots=True)
class Token:
    """A piece of parsed markup: visible text, a start tag or an end tag.

    `source` is the exact markup it came from; `text` is what the reader sees (text tokens only).
    """

    kind: Literal["text", "start", "end"]
    source: str
    text: str = ""
    tag: str = ""


def utf16_length(text: str) -> int:
    """The length Telegram counts: UTF-16 code units."""
    return len(text) + sum(1 for ch in text if ord(ch) > 0xFFFF)


def tokens(markup: str) -> list[Token]:
    """The markup as tokens; raises TelegramHtmlError where Telegram would refuse it."""
    result: list[Token] = []
    open_tags: list[str] = []
    text: list[str] = []
    text_start = 0
    i, size = 0, len(markup)

    def flush(end: int) -> None:
        if end > text_start:
            result.append(Token("text", markup[text_start:end], "".join(text)))
        text.clear()

    while i < size:
        ch = markup[i]
        if ch == "&":
            decoded, after = _decode_entity(markup, i)
            if decoded:
                text.append(decoded)
                i = after
                continue
        if ch != "<":
            text.append(ch)
            i += 1
            continue
        flush(i)
        begin = i
        if markup.startswith("</", i):
            i, tag = _end_tag(markup, begin, open_tags)
            result.append(Token("end", markup[begin:i], tag=tag))
        else:
            i, tag = _start_tag(markup, begin)
            open_tags.append(tag)
            result.append(Token("start", markup[begin:i], tag=tag))
        text_start = i
    flush(size)
    if open_tags:
        raise TelegramHtmlError(f'Can\'t find end tag corresponding to start tag "{open_tags[-1]}"')
    return result


def plain_text(markup: str) -> str:
    """What the reader sees of the markup."""
    return "".join(token.text for token in tokens(markup))


def visible_length(markup: str) -> int:
    """The length Telegram checks against its limits (UTF-16 units of the visible text)."""
    return utf16_length(plain_text(markup))


def shorten(text: str, limit: int) -> str:
    """Plain text cut to `limit` UTF-16 units, with an ellipsis when cut (never mid-emoji)."""
    if utf16_length(text) <= limit:
        return text
    kept = _cut_plain(text, max(0, limit - 1)).rstrip()
    return kept + ELLIPSIS


def fit(markup: str, limit: int = MESSAGE_LIMIT) -> str:
    """The markup cut to `limit` visible units: the text is cut, tags are kept balanced."""
    parsed = tokens(markup)
    if utf16_length("".join(t.text for t in parsed)) <= limit:
        return markup
    budget = max(0, limit - utf16_length(ELLIPSIS))
    out: list[str] = []
    open_tags: list[str] = []
    for token in parsed:
        if token.kind == "start":
            out.append(token.source)
            open_tags.append(token.tag)
            continue
        if token.kind == "end":
            out.append(token.source)
            open_tags.pop()
            continue
        length = utf16_length(token.text)
        if length <= budget:
            out.append(token.source)
            budget -= length
            continue
        out.append(html.escape(_cut_plain(token.text, budget).rstrip(), quote=False))
        break
    out.append(ELLIPSIS)
    out.extend(f"</{tag}>" for tag in reversed(open_tags))
    return "".join(out)


def _cut_plain(text: str, limit: int) -> str:
    """The longest prefix of `text` of at most `limit` UTF-16 units."""
    used = 0
    for index, ch in enumerate(text):
        used += 2 if ord(ch) > 0xFFFF else 1
        if used > limit:
            return text[:index]
    return text


def _byte_offset(markup: str, index: int) -> int:
    return len(markup[:index].encode("utf-8"))


def _decode_entity(markup: str, at: int) -> tuple[str, int]:
    """A character reference at `at` ("" when it is none Telegram knows), and where it ends."""
    end = at + 1
    if markup.startswith("#", end):
        end += 1
        hexadecimal = markup.startswith(("x", "X"), end)
        if hexadecimal:
            end += 1
        digits = "0123456789abcdefABCDEF" if hexadecimal else "0123456789"
        start = end
        while end < len(markup) and markup[end] in digits:
            end += 1
        if end == start:
            return "", at
        code = int(markup[start:end], 16 if hexadecimal else 10)
        if code == 0 or code >= 0x10FFFF or 0xD800 <= code <= 0xDFFF:
            return "", at
        decoded = chr(code)
    else:
        while end < len(markup) and markup[end].isascii() and markup[end].isalpha():
            end += 1
        decoded = _NAMED_ENTITIES.get(markup[at + 1 : end], "")
        if not decoded:
            return "", at
    if markup.startswith(";", end):
        end += 1
    return decoded, end


def _start_tag(markup: str, begin: int) -> tuple[int, str]:
    """Reads `<tag attr="value" …>` from `begin`; the index after it and the tag's name."""
    size = len(markup)
    i = begin + 1
    while i < size and markup[i] not in _SPACES and markup[i] != ">":
        i += 1
    if i >= size:
        raise TelegramHtmlError(f"Unclosed start tag at byte offset {_byte_offset(markup, begin)}")
    tag = markup[begin + 1 : i].lower()
    if tag not in SUPPORTED_TAGS:
        raise TelegramHtmlError(
            f'Unsupported start tag "{tag}" at byte offset {_byte_offset(markup, begin)}'
        )
    attributes: dict[str, str] = {}
    while True:
        while i < size and markup[i] in _SPACES:
            i += 1
        if i >= size:
            raise TelegramHtmlError(
                f"Unclosed start tag at byte offset {_byte_offset(markup, begin)}"
            )
        if markup[i] == ">":
            break
        name_start = i
        while i < size and markup[i] not in _SPACES and markup[i] not in "=>":
            i += 1
        name = markup[name_start:i].lower()
        if not name:
            raise TelegramHtmlError(
                f'Empty attribute name in the tag "{tag}" at byte offset '
                f"{_byte_offset(markup, begin)}"
            )
        while i < size and markup[i] in _SPACES:
            i += 1
        if i >= size or markup[i] != "=":
            raise TelegramHtmlError(
                f'Expected equal sign in declaration of an attribute of the tag "{tag}" at byte '
                f"offset {_byte_offset(markup, begin)}"
            )
        i += 1
        while i < size and markup[i] in _SPACES:
            i += 1
        if i >= size:
            raise TelegramHtmlError(
                f"Unclosed start tag at byte offset {_byte_offset(markup, begin)}"
            )
        i, value = _attribute_value(markup, i, begin, tag, name)
        attributes[name] = value
    if tag == "span" and attributes.get("class") != "tg-spoiler":
        raise TelegramHtmlError(
            f'Tag "span" must have class "tg-spoiler" at byte offset {_byte_offset(markup, begin)}'
        )
    return i + 1, tag


def _attribute_value(markup: str, i: int, begin: int, tag: str, name: str) -> tuple[int, str]:
    """An attribute's value from `i` (quoted or a bare name token); the index after it."""
    size = len(markup)
    quote = markup[i]
    if quote not in "'\"":
        start = i
        while i < size and (
            (markup[i].isascii() and markup[i].isalnum()) or markup[i] in _NAME_TOKEN_EXTRA
        ):
            i += 1
        if i == start:
            raise TelegramHtmlError(
                f'Expected quote in declaration of attribute "{name}" of the tag "{tag}" at '
                f"byte offset {_byte_offset(markup, begin)}"
            )
        return i, markup[start:i]
    i += 1
    value: list[str] = []
    while i < size and markup[i] != quote:
        if markup[i] == "&":
            decoded, after = _decode_entity(markup, i)
            if decoded:
                value.append(decoded)
                i = after
                continue
        value.append(markup[i])
        i += 1
    if i >= size:
        raise TelegramHtmlError(f"Unclosed start tag at byte offset {_byte_offset(markup, begin)}")
    return i + 1, "".join(value)


def _end_tag(markup: str, begin: int, open_tags: list[str]) -> tuple[int, str]:
    """Reads `</tag>` from `begin`, matching it to the innermost open tag."""
    size = len(markup)
    if not open_tags:
        raise TelegramHtmlError(f"Unexpected end tag at byte offset {_byte_offset(markup, begin)}")
    i = begin + 2
    while i < size and markup[i] not in _SPACES and markup[i] != ">":
        i += 1
    name = markup[begin + 2 : i].lower()
    while i < size and markup[i] in _SPACES:
        i += 1
    if i >= size or markup[i] != ">":
        raise TelegramHtmlError(f"Unclosed end tag at byte offset {_byte_offset(markup, begin)}")
    expected = open_tags.pop()
    if name and name != expected:
        raise TelegramHtmlError(
            f"Unmatched end tag at byte offset {_byte_offset(markup, begin)}, expected "
            f'"</{expected}>", found "</{name}>"'
        )
    return i + 1, expected
