"""This module contains the callback data of our buttons: how it is written and read back.

Draft buttons carry the draft's token, so a button from an earlier draft, or a forged press,
is recognised and answered without moving the conversation.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

MAX_CALLBACK_BYTES = 64
# Ledger ids are SQLite integers (at most 2**63 - 1); longer digit strings are forged.
MAX_LEDGER_ID_DIGITS = 18


class Action(StrEnum):
    """What a button asks for."""

    NEW = "new"
    STATUS = "st"
    CATEGORY = "cat"
    SUBMIT = "ok"
    EDIT = "ed"
    EDIT_FIELD = "ef"
    BACK = "bk"
    CANCEL = "x"
    CONTINUE = "go"
    START_OVER = "ov"
    RESOLUTION = "rs"
    PHOTOS_DONE = "pd"
    REMOVE_FILES = "rf"
    SKIP = "sk"  # [Skip] of an optional step of what is claimed
    PICK_ITEM = "pi"  # argument: the index of an item offered by the shop's link
    ITEMS_DONE = "id"  # [Done] after picking items
    LANGUAGE = "lg"
    WRITE = "wr"  # write to the operators about a complaint
    DESK = "ds"  # operator chat only
    RATE = "rt"  # token: ledger id, argument: 1..5 stars
    RATING_SKIP = "rn"  # token: ledger id; no comment on the rating
    FORGET = "fg"  # token: when asked (unix seconds), argument: the customer's signature
    KEEP = "fk"  # [No] under the /forgetme question
    WITHDRAW = "wd"  # token: ledger id; asks to confirm
    WITHDRAW_YES = "wy"  # token: ledger id
    WITHDRAW_NO = "wn"  # token: ledger id


# Buttons carrying a ledger id as their token (the press is checked against its owner).
WITHDRAW_ACTIONS = frozenset({Action.WITHDRAW, Action.WITHDRAW_YES, Action.WITHDRAW_NO})
LEDGER_ACTIONS = frozenset(
    {Action.STATUS, Action.WRITE, Action.RATE, Action.RATING_SKIP, *WITHDRAW_ACTIONS}
)
RATING_STARS = frozenset({"1", "2", "3", "4", "5"})
# The signature of a [Yes, forget me] button: hex digits of a keyed hash of customer and time.
FORGET_SIGNATURE_DIGITS = 16


DRAFT_ACTIONS = frozenset(
    {
        Action.CATEGORY,
        Action.SUBMIT,
        Action.EDIT,
        Action.EDIT_FIELD,
        Action.BACK,
        Action.CANCEL,
        Action.CONTINUE,
        Action.START_OVER,
        Action.RESOLUTION,
        Action.PHOTOS_DONE,
        Action.REMOVE_FILES,
        Action.SKIP,
        Action.PICK_ITEM,
        Action.ITEMS_DONE,
    }
)


@dataclass(frozen=True, slots=True)
class Press:
    """A decoded button press."""

    action: Action
    token: str = ""
    argument: str = ""


def encode(action: Action, token: str = "", argument: str = "") -> str:
    """The callback data for a button."""
    parts = [action.value, token] + ([argument] if argument else [])
    data = ":".join(parts) if token or argument else action.value
    if len(data.encode()) > MAX_CALLBACK_BYTES:
        raise ValueError(f"callback data longer than {MAX_CALLBACK_BYTES} bytes: {data!r}")
    return data


def decode(data: object) -> Press | None:
    """The press a callback carries, or None when it is not one of ours."""
    if not isinstance(data, str) or len(data.encode()) > MAX_CALLBACK_BYTES:
        return None
    head, _, rest = data.partition(":")
    try:
        action = Action(head)
    except ValueError:
        return None
    token, _, argument = rest.partition(":")
    if action in DRAFT_ACTIONS and not token:
        return None
    if action in LEDGER_ACTIONS and not _is_ledger_id(token):
        return None
    if action is Action.RATE and argument not in RATING_STARS:
        return None
    if action in (Action.RATING_SKIP, *WITHDRAW_ACTIONS) and argument:
        return None
    if action is Action.FORGET and not (_is_ledger_id(token) and _is_signature(argument)):
        return None
    if action is Action.KEEP and (token or argument):
        return None
    return Press(action, token, argument)


def _is_ledger_id(token: str) -> bool:
    """Whether a ledger button's token can be a ledger id (ASCII digits SQLite can hold)."""
    return token.isascii() and token.isdigit() and len(token) <= MAX_LEDGER_ID_DIGITS


def _is_signature(text: str) -> bool:
    """Whether a [Yes, forget me] button's argument looks like its signature."""
    return len(text) == FORGET_SIGNATURE_DIGITS and all(c in "0123456789abcdef" for c in text)
