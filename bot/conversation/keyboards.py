"""This module contains the inline keyboards, as small pure builder functions."""

from __future__ import annotations

from collections.abc import Mapping

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from bot.conversation.callbacks import Action, encode
from bot.conversation.states import Step
from bot.i18n import Messages

EDITABLE_FIELDS = (Step.ORDER_ID, Step.PROBLEM, Step.CATEGORY)
_FIELD_BUTTON = {
    Step.ORDER_ID: "button.edit_order",
    Step.PROBLEM: "button.edit_problem",
    Step.CATEGORY: "button.edit_category",
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


def edit_fields_keyboard(t: Messages, token: str) -> InlineKeyboardMarkup:
    """Which field to change, and [Back] to the summary."""
    fields = [
        _button(t(_FIELD_BUTTON[step]), Action.EDIT_FIELD, token, step) for step in EDITABLE_FIELDS
    ]
    return InlineKeyboardMarkup([fields, [_button(t("button.back"), Action.BACK, token)]])


def result_keyboard(t: Messages, ledger_id: int | None) -> InlineKeyboardMarkup:
    """[Check status] [New complaint] under a result."""
    row = [_button(t("button.new_complaint"), Action.NEW)]
    if ledger_id is not None:
        row.insert(0, _button(t("button.check_status"), Action.STATUS, str(ledger_id)))
    return InlineKeyboardMarkup([row])
