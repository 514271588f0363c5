"""This module contains the messages owed to customers after Submit and later: what they say.

Each builder returns an OutgoingMessage for the delivery worker (bot/workers/delivery.py),
written to the database together with the change that causes it.
"""

from __future__ import annotations

from collections.abc import Mapping

from telegram import InlineKeyboardMarkup

from bot.backends.base import ComplaintStatus, Receipt, RejectionReason
from bot.i18n import Messages, plural_count
from bot.messages import render
from bot.messages.keyboards import rating_row, result_keyboard
from bot.storage.deliveries import NewDelivery, OutgoingMessage
from bot.storage.ledger import LedgerEntry


def keyboard_rows(markup: InlineKeyboardMarkup | None) -> list[list[dict[str, str]]]:
    """An inline keyboard as stored with a message."""
    if markup is None:
        return []
    return [
        [{str(k): str(v) for k, v in b.to_dict().items()} for b in row]
        for row in markup.inline_keyboard
    ]


def _to_customer(entry: LedgerEntry, kind: str, message: OutgoingMessage) -> NewDelivery:
    return NewDelivery(
        user_id=entry.user_id,
        chat_id=entry.chat_id,
        kind=kind,
        message=message,
        complaint_id=entry.id,
    )


def _summary_to_replace(entry: LedgerEntry) -> int | None:
    """The summary message a result replaces, unless the customer was already told the
    complaint is delayed (then the result is news, sent as a new message that notifies)."""
    return None if entry.told_delayed else entry.message_id


def card(
    t: Messages,
    entry: LedgerEntry,
    receipt: Receipt,
    categories: Mapping[str, str],
    resolutions: Mapping[str, str] | None = None,
    *,
    write: bool = False,
) -> NewDelivery:
    """The card with the complaint number, replacing the summary (or "Submitting…");
    `write` offers [Write about this complaint] (there is an operator chat)."""
    reply = render.registered_card(t, entry, receipt, categories, resolutions)
    return _to_customer(
        entry,
        "card",
        OutgoingMessage(
            text=reply.text,
            keyboard=keyboard_rows(result_keyboard(t, entry.id, write=write)),
            photo=reply.photo_url,
            caption=reply.photo_caption,
            replace_message_id=_summary_to_replace(entry),
        ),
    )


def submitting(t: Messages, entry: LedgerEntry) -> NewDelivery | None:
    """ "Submitting…" in place of the summary (and its buttons): a passing notice."""
    if entry.message_id is None:
        return None
    return _to_customer(
        entry,
        "submitting",
        OutgoingMessage(
            text=t("submit.submitting", order_id=entry.order_id),
            replace_message_id=entry.message_id,
            transient=True,
        ),
    )


def delayed(t: Messages, entry: LedgerEntry) -> NewDelivery:
    """The complaint is saved and will be registered when the backend is back."""
    return _to_customer(
        entry,
        "delayed",
        OutgoingMessage(
            text=t("result.delayed", order_id=entry.order_id),
            replace_message_id=entry.message_id,
        ),
    )


def rejected(
    t: Messages, entry: LedgerEntry, reason: RejectionReason | str, field: str
) -> NewDelivery:
    """The backend refused the complaint: why, in the customer's words."""
    return _to_customer(
        entry,
        "rejected",
        OutgoingMessage(
            text=render.rejection(t, entry, reason, field),
            keyboard=keyboard_rows(result_keyboard(t, None)),
            replace_message_id=_summary_to_replace(entry),
        ),
    )


def failed(t: Messages, entry: LedgerEntry) -> NewDelivery:
    """The backend stayed unreachable for too long."""
    return _to_customer(
        entry, "failed", OutgoingMessage(text=t("result.failed", order_id=entry.order_id))
    )


def status_changed(
    t: Messages, entry: LedgerEntry, status: ComplaintStatus, *, write: bool = False
) -> NewDelivery:
    """A status change, with the message the backend shares with the customer; a final one
    (resolved, rejected, closed) asks for a 1–5 star rating."""
    lines = [
        t(
            "status.changed",
            number=entry.complaint_number or "",
            order_id=entry.order_id,
            status=render.status_word(t, status.code),
        )
    ]
    if status.detail:
        detail = render.shorten(status.detail, render.BACKEND_TEXT_LIMIT)
        lines.append(t("status.changed_detail", detail=detail))
    keyboard = result_keyboard(t, entry.id, write=write)
    if status.is_final:
        lines.append(t("rating.ask"))
        keyboard = InlineKeyboardMarkup([rating_row(t, entry.id), *keyboard.inline_keyboard])
    return _to_customer(
        entry,
        "status",
        OutgoingMessage(
            text=render.fit("\n\n".join(lines)),
            keyboard=keyboard_rows(keyboard),
        ),
    )


def withdrawal(t: Messages, entry: LedgerEntry, key: str) -> NewDelivery:
    """What became of the customer's withdrawal (`withdraw.done`, `withdraw.handed_over` or
    `withdraw.failed`), with the complaint's buttons."""
    text = t(key, number=entry.complaint_number or "", order_id=entry.order_id)
    return _to_customer(
        entry,
        "withdrawal",
        OutgoingMessage(text=text, keyboard=keyboard_rows(result_keyboard(t, None))),
    )


def draft_expired(t: Messages, *, user_id: int, chat_id: int, minutes: float) -> NewDelivery:
    """An idle draft was closed."""
    return NewDelivery(
        user_id=user_id,
        chat_id=chat_id,
        kind="expired",
        message=OutgoingMessage(
            text=t.plural("timeout.expired", plural_count(minutes), minutes=f"{minutes:g}")
        ),
    )
