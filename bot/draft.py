"""This module contains the Draft: a complaint being written, and its validation rules."""

from __future__ import annotations

import re
import secrets

from pydantic import BaseModel, ConfigDict

from bot.complaint import Attachment, ClaimedItem
from bot.steps import Step

MAX_ATTACHMENTS = 10
PROBLEM_MIN_LENGTH = 5
PROBLEM_MAX_LENGTH = 2000
# Longer than any sane ORDER_ID_PATTERN allows; checked before the pattern so a long message
# (Telegram lets a customer send 4,096 characters) never reaches the regex engine.
ORDER_ID_MAX_LENGTH = 64


class Draft(BaseModel):
    """The customer's answers so far, and the step they are at."""

    model_config = ConfigDict(extra="forbid")

    token: str
    step: Step
    order_id: str = ""
    problem: str = ""
    category: str = ""
    editing: bool = False
    from_deep_link: bool = False
    language: str = ""
    attachments: list[Attachment] = []
    resolution: str = ""
    phone: str = ""
    email: str = ""
    # What is claimed: the items, the amount (a decimal in CLAIM_CURRENCY, "1500.50") and the
    # refund account (an IBAN, checked).
    items: list[ClaimedItem] = []
    amount: str = ""
    refund_account: str = ""
    # From a shop's link: the order's items offered as buttons (with ids and prices), which of
    # them are picked (their indexes), and the order's hash at the shop.
    offered: list[ClaimedItem] = []
    picked: list[int] = []
    order_hash: str = ""
    # The album being received, and the answer that is edited as its files arrive.
    album: str = ""
    album_answer: int | None = None

    @classmethod
    def new(cls, *, language: str | None = None) -> Draft:
        """A fresh draft at the first step, with a token that ties buttons to this draft."""
        return cls(token=secrets.token_hex(4), step=Step.ORDER_ID, language=language or "")

    @property
    def has_answers(self) -> bool:
        """Whether the customer has given anything that a fresh draft would throw away."""
        return bool(self.order_id or self.problem or self.category or self.attachments)

    def leave_link(self) -> None:
        """The order is no longer the one the shop's link named: what the link said about
        it (its items' ids and prices, its hash) no longer applies."""
        self.from_deep_link = False
        self.offered, self.picked, self.order_hash = [], [], ""
        self.items = [ClaimedItem(label=i.label, quantity=i.quantity) for i in self.items]

    def advance(self, natural_next: Step) -> None:
        """Moves on after a valid answer: to the next step, or back to CONFIRM when editing."""
        if self.editing:
            self.editing = False
            self.step = Step.CONFIRM
        else:
            self.step = natural_next


def clean_order_id(text: str, pattern: re.Pattern[str]) -> str | None:
    """The order ID the customer typed, or None if it does not look like one."""
    candidate = text.strip()
    if len(candidate) > ORDER_ID_MAX_LENGTH or not pattern.fullmatch(candidate):
        return None
    return candidate


def problem_length_error(text: str) -> str | None:
    """'too_short' / 'too_long' when the problem statement is out of bounds, else None."""
    length = len(text.strip())
    if length < PROBLEM_MIN_LENGTH:
        return "too_short"
    if length > PROBLEM_MAX_LENGTH:
        return "too_long"
    return None
