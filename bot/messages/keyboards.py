"""This module contains the inline keyboards, as small pure builder functions."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from telegram import (
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    KeyboardButton,
    ReplyKeyboardMarkup,
)

from bot.i18n import Messages
from bot.messages.callbacks import Action, encode
from bot.steps import Step
from bot.storage.ledger import LedgerEntry

_FIELD_BUTTON = {
    Step.ORDER_ID: "button.edit_order",
    Step.PROBLEM: "button.edit_problem",
    Step.CATEGORY: "button.edit_category",
    Step.PHOTOS: "button.edit_files",
    Step.RESOLUTION: "button.edit_resolution",
    Step.ITEMS: "button.edit_items",
    Step.AMOUNT: "button.edit_amount",
    Step.REFUND_ACCOUNT: "button.edit_account",
    Step.CONTACT: "button.edit_contact",
}


def _button(text: str, action: Action, token: str = "", argument: str = "") -> InlineKeyboardButton:
    return InlineKeyboardButton(text, callback_data=encode(action, token, argument))


def start_keyboard(t: Messages) -> InlineKeyboardMarkup:
    """[Raise a complaint]."""
    return InlineKeyboardMarkup([[_button(t("button.raise"), Action.NEW)]])


def unfinished_keyboard(t: Messages, token: str) -> InlineKeyboardMarkup:
    """[Continue] [Start over] for a draft left unfinished."""
    return InlineKeyboardMarkup(
        [
            [
                _button(t("button.continue"), Action.CONTINUE, token),
                _button(t("button.start_over"), Action.START_OVER, token),
            ]
        ]
    )


def categories_keyboard(
    t: Messages, token: str, categories: Mapping[str, str]
) -> InlineKeyboardMarkup:
    """One button per configured category, two to a row."""
    buttons = [_button(label, Action.CATEGORY, token, code) for code, label in categories.items()]
    return InlineKeyboardMarkup([buttons[i : i + 2] for i in range(0, len(buttons), 2)])


def confirm_keyboard(t: Messages, token: str) -> InlineKeyboardMarkup:
    """[Submit] [Edit] [Cancel] under the summary."""
    return InlineKeyboardMarkup(
        [
            [
                _button(t("button.submit"), Action.SUBMIT, token),
                _button(t("button.edit"), Action.EDIT, token),
                _button(t("button.cancel"), Action.CANCEL, token),
            ]
        ]
    )


def edit_fields_keyboard(t: Messages, token: str, fields: list[Step]) -> InlineKeyboardMarkup:
    """Which field to change (three to a row), and [Back] to the summary."""
    buttons = [_button(t(_FIELD_BUTTON[step]), Action.EDIT_FIELD, token, step) for step in fields]
    rows = [buttons[i : i + 3] for i in range(0, len(buttons), 3)]
    return InlineKeyboardMarkup([*rows, [_button(t("button.back"), Action.BACK, token)]])


def photos_keyboard(
    t: Messages, token: str, *, has_files: bool, may_skip: bool, editing: bool
) -> InlineKeyboardMarkup | None:
    """[Skip] until a file arrives, then [Done]; while editing, also [Remove the files]."""
    row = []
    if has_files:
        if editing:
            row.append(_button(t("button.remove_files"), Action.REMOVE_FILES, token))
        row.append(_button(t("button.done"), Action.PHOTOS_DONE, token))
    elif may_skip:
        row.append(_button(t("button.skip"), Action.PHOTOS_DONE, token))
    return InlineKeyboardMarkup([row]) if row else None


def skip_keyboard(t: Messages, token: str) -> InlineKeyboardMarkup:
    """[Skip] under an optional question."""
    return InlineKeyboardMarkup([[_button(t("button.skip"), Action.SKIP, token)]])


def items_keyboard(
    t: Messages, token: str, labels: Sequence[str], picked: Sequence[int], *, optional: bool
) -> InlineKeyboardMarkup:
    """The order's items to pick (a picked one ticked), [Done] once one is, and [Skip]."""
    rows = [
        [_button(("✅ " if index in picked else "") + label, Action.PICK_ITEM, token, str(index))]
        for index, label in enumerate(labels)
    ]
    last = [_button(t("button.done"), Action.ITEMS_DONE, token)] if picked else []
    if optional:
        last.append(_button(t("button.skip"), Action.SKIP, token))
    return InlineKeyboardMarkup([*rows, last] if last else rows)


def resolutions_keyboard(token: str, labels: Mapping[str, str]) -> InlineKeyboardMarkup:
    """One button per solution offered, two to a row."""
    buttons = [_button(label, Action.RESOLUTION, token, code) for code, label in labels.items()]
    return InlineKeyboardMarkup([buttons[i : i + 2] for i in range(0, len(buttons), 2)])


def contact_keyboard(t: Messages, *, optional: bool) -> ReplyKeyboardMarkup:
    """Telegram's own "share my phone number" button (and Skip) under the message field."""
    rows = [[KeyboardButton(t("button.share_phone"), request_contact=True)]]
    if optional:
        rows.append([KeyboardButton(t("button.skip"))])
    return ReplyKeyboardMarkup(rows, resize_keyboard=True, one_time_keyboard=True)


def result_keyboard(
    t: Messages, ledger_id: int | None, *, write: bool = False, withdraw: bool = False
) -> InlineKeyboardMarkup:
    """[Check status] [New complaint] under a result, [Write about this complaint] when
    there are operators to read it, and [Withdraw] while it can be withdrawn."""
    row = [_button(t("button.new_complaint"), Action.NEW)]
    if ledger_id is None:
        return InlineKeyboardMarkup([row])
    row.insert(0, _button(t("button.check_status"), Action.STATUS, str(ledger_id)))
    rows = [row]
    if write:
        rows.append([_button(t("button.write"), Action.WRITE, str(ledger_id))])
    if withdraw:
        rows.append([_button(t("button.withdraw"), Action.WITHDRAW, str(ledger_id))])
    return InlineKeyboardMarkup(rows)


def withdraw_keyboard(t: Messages, ledger_id: int) -> InlineKeyboardMarkup:
    """[Yes, withdraw it] [No, keep it] under the question."""
    return InlineKeyboardMarkup(
        [
            [
                _button(t("button.withdraw_yes"), Action.WITHDRAW_YES, str(ledger_id)),
                _button(t("button.withdraw_no"), Action.WITHDRAW_NO, str(ledger_id)),
            ]
        ]
    )


def write_keyboard(t: Messages, ledger_id: int) -> InlineKeyboardMarkup:
    """[Write about this complaint] alone (under a relayed reply)."""
    return InlineKeyboardMarkup([[_button(t("button.write"), Action.WRITE, str(ledger_id))]])


def complaints_keyboard(entries: Sequence[LedgerEntry]) -> InlineKeyboardMarkup | None:
    """One button per numbered complaint of a list ("100042 · 748596"), two to a row: a
    press shows it (status and latest messages)."""
    buttons = [
        _button(f"{e.complaint_number} · {e.order_id}", Action.STATUS, str(e.id))
        for e in entries
        if e.complaint_number is not None
    ]
    if not buttons:
        return None
    return InlineKeyboardMarkup([buttons[i : i + 2] for i in range(0, len(buttons), 2)])


def rating_row(t: Messages, ledger_id: int) -> list[InlineKeyboardButton]:
    """[1 ★] … [5 ★]: the customer's rating of a finished complaint, one row."""
    return [
        _button(t("button.rate", stars=stars), Action.RATE, str(ledger_id), str(stars))
        for stars in range(1, 6)
    ]


def rating_comment_keyboard(t: Messages, ledger_id: int) -> InlineKeyboardMarkup:
    """[Skip] under "anything you would like to add?"."""
    return InlineKeyboardMarkup([[_button(t("button.skip"), Action.RATING_SKIP, str(ledger_id))]])


def forget_keyboard(t: Messages, asked_at: str, signature: str) -> InlineKeyboardMarkup:
    """[Yes, forget me] [No] under the /forgetme question (the yes signed for the customer)."""
    return InlineKeyboardMarkup(
        [
            [
                _button(t("forgetme.yes"), Action.FORGET, asked_at, signature),
                _button(t("forgetme.no"), Action.KEEP),
            ]
        ]
    )
