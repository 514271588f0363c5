"""This module contains the reading of the middleware's answers (seed 000) into receipts."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, ValidationError

from bot.backends.base import (
    BackendBadResponse,
    Card,
    ComplaintStatus,
    Media,
    Receipt,
    StatusCode,
)

# A complaint number is shown to customers and travels in buttons: anything longer is nonsense.
MAX_NUMBER_LENGTH = 64

_NUMBER_ATTRIBUTES = frozenset({"complaintid", "complaintnumber", "complaintno"})
_STATUS_ATTRIBUTES = frozenset({"status", "complaintstatus", "state"})

# "complaint Number 12345", "complaint no. 12345", "complaint #12345", "complaint id: AB-123",
# "complaint number is 12345"; the number must hold a digit, so "complaint is registered" is no hit.
_NUMBER_IN_TEXT = re.compile(
    r"\bcomplaint\s*(?:number|num\.?|no\.?|id|reference|ref\.?|#)\s*(?:is\s+)?[:#=]?\s*"
    r"(?P<number>(?=[A-Za-z0-9_/-]*\d)[A-Za-z0-9][A-Za-z0-9_/-]*)",
    re.IGNORECASE,
)

# Checked in order: the first that matches wins. "not (yet) resolved" is not resolved.
_STATUS_WORDS: tuple[tuple[StatusCode, re.Pattern[str]], ...] = tuple(
    (code, re.compile(pattern, re.IGNORECASE))
    for code, pattern in (
        (StatusCode.REJECTED, r"\b(?:rejected|declined|refused|denied)\b"),
        (StatusCode.RESOLVED, r"(?<!not )(?<!not yet )\b(?:resolved|fixed|completed|solved)\b"),
        (StatusCode.CLOSED, r"(?<!not )(?<!not yet )\bclosed\b"),
        (
            StatusCode.IN_PROGRESS,
            r"\b(?:in[ -]progress|being (?:handled|processed|reviewed|looked into)|processing"
            r"|under (?:review|investigation)|assigned|working on)\b",
        ),
        (StatusCode.WAITING, r"\b(?:waiting|awaiting|pending|on hold)\b"),
        (StatusCode.RECEIVED, r"\b(?:received|registered|raised|logged|opened|created|new)\b"),
    )
)


def _as_text(value: object) -> object:
    """Accepts a missing value as "", numbers and booleans as their text, containers as JSON."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    return value


def _as_list(value: object) -> object:
    """Accepts a missing list as an empty one (anything else is validated as it is)."""
    return [] if value is None else value


Text = Annotated[str, BeforeValidator(_as_text)]


class _Lenient(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")


class _Attribute(_Lenient):
    name: Text = ""
    value: Text = ""


class _Container(_Lenient):
    responseText: Text = ""
    attributes: Annotated[list[_Attribute], BeforeValidator(_as_list)] = []


class _Simple(_Lenient):
    responseText: Text = ""


class _Image(_Lenient):
    url: Text = ""
    accessibilityText: Text = ""


class _BasicCard(_Lenient):
    title: Text = ""
    subtitle: Text = ""
    formattedText: Text = ""
    image: _Image | None = None


class _Icon(_Lenient):
    url: Text = ""


class _MediaObject(_Lenient):
    contentUrl: Text = ""
    description: Text = ""
    name: Text = ""
    icon: _Icon | None = None


class _MediaResponse(_Lenient):
    mediaType: Text = ""
    mediaObjects: Annotated[list[_MediaObject], BeforeValidator(_as_list)] = []


class _Message(_Lenient):
    containerResponse: _Container | None = None
    simpleResponse: _Simple | None = None
    basicCard: _BasicCard | None = None
    mediaResponse: _MediaResponse | None = None


class _Body(_Lenient):
    responseType: Text = ""
    responseId: Text = ""
    responseMessages: list[_Message]


@dataclass(frozen=True, slots=True)
class Answer:
    """What one middleware answer says: its texts, attributes, cards and media, in order."""

    response_type: str
    texts: tuple[str, ...]
    attributes: tuple[tuple[str, str], ...]
    cards: tuple[Card, ...]
    media: tuple[Media, ...]

    @property
    def text(self) -> str:
        """The answer's response texts, one per line."""
        return "\n".join(self.texts)

    def attribute(self, names: frozenset[str]) -> str | None:
        """The first non-empty attribute whose name, lower-cased without punctuation, is named."""
        for name, value in self.attributes:
            if _normalise(name) in names and value.strip():
                return value.strip()
        return None

    def complaint_number(self) -> str | None:
        """The complaint number: the complaintId attribute, else the first one the texts name."""
        number = self.attribute(_NUMBER_ATTRIBUTES)
        if number is None:
            card_texts = (part for c in self.cards for part in (c.title, c.subtitle, c.text))
            for text in (*self.texts, *card_texts):
                match = _NUMBER_IN_TEXT.search(text)
                if match:
                    number = match.group("number").rstrip("-/_")
                    break
        if number is not None and len(number) > MAX_NUMBER_LENGTH:
            raise BackendBadResponse(
                f"middleware answered a complaint number of {len(number)} characters"
            )
        return number


def _normalise(name: str) -> str:
    return re.sub(r"[^a-z0-9]", "", name.lower())


def parse_answer(data: Any, backend: str = "middleware") -> Answer:
    """Reads any documented answer shape (wrapped in `response` or not); BackendBadResponse else."""
    if not isinstance(data, dict):
        raise BackendBadResponse(f"{backend} answered JSON that is not an object")
    inner = data.get("response", data)
    if not isinstance(inner, dict):
        raise BackendBadResponse(f"{backend} answered a 'response' that is not an object")
    if "responseMessages" not in inner:
        raise BackendBadResponse(f"{backend} answered JSON without responseMessages")
    try:
        body = _Body.model_validate(inner)
    except ValidationError as err:
        first = err.errors(include_input=False, include_url=False)[0]
        where = ".".join(str(part) for part in first["loc"])
        raise BackendBadResponse(
            f"{backend} answered JSON of an unexpected shape (at {where}: {first['msg']})"
        ) from None
    texts: list[str] = []
    attributes: list[tuple[str, str]] = []
    cards: list[Card] = []
    media: list[Media] = []
    for message in body.responseMessages:
        if message.containerResponse is not None:
            texts.append(message.containerResponse.responseText.strip())
            attributes.extend(
                (a.name.strip(), a.value.strip())
                for a in message.containerResponse.attributes
                if a.name.strip()
            )
        if message.simpleResponse is not None:
            texts.append(message.simpleResponse.responseText.strip())
        if message.basicCard is not None:
            cards.append(_card(message.basicCard))
        if message.mediaResponse is not None:
            media.extend(_media(message.mediaResponse))
    return Answer(
        response_type=body.responseType.strip(),
        texts=tuple(t for t in texts if t),
        attributes=tuple(attributes),
        cards=tuple(cards),
        media=tuple(media),
    )


def _card(card: _BasicCard) -> Card:
    image = card.image or _Image()
    return Card(
        title=card.title.strip(),
        subtitle=card.subtitle.strip(),
        text=card.formattedText.strip(),
        image_url=image.url.strip(),
        image_alt=image.accessibilityText.strip(),
    )


def _media(response: _MediaResponse) -> list[Media]:
    result = []
    for item in response.mediaObjects:
        url = item.contentUrl.strip() or (item.icon.url.strip() if item.icon else "")
        if url:
            result.append(
                Media(
                    media_type=response.mediaType.strip(),
                    url=url,
                    name=item.name.strip(),
                    description=item.description.strip(),
                )
            )
    return result


def to_receipt(answer: Answer, backend: str = "middleware") -> Receipt:
    """The receipt of a raised complaint; BackendBadResponse when the answer names no number."""
    number = answer.complaint_number()
    if not number:
        raise BackendBadResponse(
            f"{backend} answered without a complaint number "
            f"(no complaintId attribute, none in the text)"
        )
    return Receipt(
        number=number,
        reference=number,
        text=answer.text,
        attributes=answer.attributes,
        cards=answer.cards,
        media=answer.media,
    )


def guess_status(text: str) -> StatusCode:
    """The lifecycle stage a status text describes, by its words; UNKNOWN when none fits."""
    for code, pattern in _STATUS_WORDS:
        if pattern.search(text):
            return code
    return StatusCode.UNKNOWN


def to_status(answer: Answer) -> ComplaintStatus:
    """The complaint's status: a status attribute if any, else the words of the answer's text."""
    text = answer.text or "\n".join(
        part for card in answer.cards for part in (card.title, card.text) if part
    )
    code = StatusCode.UNKNOWN
    stated = answer.attribute(_STATUS_ATTRIBUTES)
    if stated is not None:
        code = guess_status(stated.replace("_", " "))
    if code is StatusCode.UNKNOWN:
        code = guess_status(text)
    return ComplaintStatus(code=code, text=text, detail=stated or "")
