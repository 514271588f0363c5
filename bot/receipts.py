"""This module contains what a complaint backend answers: the Receipt of a registered
complaint (its number, the reference status queries need, texts and cards) and a
ComplaintStatus; domain values, below storage and the backends alike."""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, ConfigDict


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Card(_Model):
    """A rich card returned by a backend (the middleware's basicCard)."""

    title: str = ""
    subtitle: str = ""
    text: str = ""
    image_url: str = ""
    image_alt: str = ""


class Media(_Model):
    """A media object returned by a backend (the middleware's mediaResponse)."""

    media_type: str = ""
    url: str
    name: str = ""
    description: str = ""


class Receipt(_Model):
    """What the customer sees of a registered complaint, and what is needed to ask its status.

    `number` is the complaint number shown to the customer; `reference` is what the backend
    needs for status queries (often the same).
    """

    number: str
    reference: str
    text: str = ""
    state: str = ""
    attributes: tuple[tuple[str, str], ...] = ()
    cards: tuple[Card, ...] = ()
    media: tuple[Media, ...] = ()


class StatusCode(StrEnum):
    """The lifecycle of a complaint, common to every backend."""

    RECEIVED = "received"
    IN_PROGRESS = "in_progress"
    WAITING = "waiting"
    RESOLVED = "resolved"
    REJECTED = "rejected"
    CLOSED = "closed"
    UNKNOWN = "unknown"


FINAL_STATUSES = frozenset({StatusCode.RESOLVED, StatusCode.REJECTED, StatusCode.CLOSED})


class ComplaintStatus(_Model):
    """The status of one complaint as the backend tells it."""

    code: StatusCode
    text: str = ""
    detail: str = ""

    @property
    def is_final(self) -> bool:
        """Resolved, rejected or closed: nothing more will happen to it."""
        return self.code in FINAL_STATUSES


def is_news(status: ComplaintStatus, *, told_code: str | None, told_detail: str) -> bool:
    """Whether a status read from the backend would show the customer something new, against
    what they were told last (its code and the shared message): a new status, or a new
    message."""
    return (told_code or "") != status.code or (
        bool(status.detail) and status.detail != told_detail
    )
