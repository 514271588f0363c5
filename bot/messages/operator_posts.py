"""This module contains OperatorPosts: what the bot posts to the operators' chat about a
complaint (registered, rejected, failed, a customer's message, a rating, ...), as messages to
owe; sending them is the delivery worker's, error reports bot/operators/chat.py's."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from bot.backends.base import BackendRejected, Receipt, StatusCode
from bot.complaint import Attachment
from bot.i18n import Messages, Translator
from bot.messages.callbacks import Action, encode
from bot.messages.render import (
    CAPTION_LIMIT,
    category_label,
    complaint_evidence,
    fit,
    shorten,
)
from bot.messages.results import keyboard_rows
from bot.storage.deliveries import Delivery, MediaItem, NewDelivery, OutgoingMessage
from bot.storage.ledger import LedgerEntry, QuarantinedRow

logger = logging.getLogger(__name__)

# Operators read English; the texts live in bot/locales/en.po under `operator.*`.
OPERATOR_LANGUAGE = "en"
# The reaction that tells an operator the customer has their reply (one of the emoji Telegram
# allows as reactions: a check mark is not among them).
DELIVERED_MARK = "👍"
# The longest problem statement and backend explanation quoted in a post (Telegram allows 4096).
PROBLEM_LIMIT = 2500
REASON_LIMIT = 300


class OperatorPosts:
    """The operators' chat's posts, to owe (pure: no Telegram call)."""

    def __init__(
        self,
        chat_id: int,
        translator: Translator,
        categories: Mapping[str, str],
        *,
        resolutions: Mapping[str, str] | None = None,
        desk_buttons: bool = False,
    ) -> None:
        self.chat_id = chat_id
        self._t: Messages = translator.for_language(OPERATOR_LANGUAGE)
        self._categories = categories
        self._resolutions = resolutions
        self._desk_buttons = desk_buttons

    def registered(self, entry: LedgerEntry, receipt: Receipt) -> list[NewDelivery]:
        """A complaint was registered: its number, order, problem, customer, solution wanted
        and contact (and, on the local desk, buttons that move it on); its files right under."""
        keyboard = desk_keyboard(self._t, receipt.number) if self._desk_buttons else None
        text = self._t("operator.registered", number=receipt.number, **self._about(entry))
        evidence = complaint_evidence(self._t, entry.envelope.entity, self._resolutions)
        if evidence:
            text = "\n\n".join([text, "\n".join(evidence)])
        posts = [self._post("registered", text, entry.id, keyboard)]
        for batch in media_batches(entry.envelope.entity.attachments or ()):
            caption = self._t("operator.files", number=receipt.number, count=len(batch))
            posts.append(
                NewDelivery(
                    user_id=self.chat_id,
                    chat_id=self.chat_id,
                    kind="operator-files",
                    message=OutgoingMessage(text="", caption=caption, media=batch),
                    complaint_id=entry.id,
                )
            )
        return posts

    def customer_wrote(
        self, entry: LedgerEntry, author: str, text: str, media: Sequence[MediaItem]
    ) -> NewDelivery:
        """What a customer wrote about a complaint, in its thread (a photo with the words as
        its caption)."""
        number = entry.complaint_number or str(entry.id)
        if not text and media:
            said = self._t("operator.customer_sent_file", name=author, number=number)
        else:
            said = self._t(
                "operator.customer_wrote",
                name=author,
                user_id=int(entry.user_id),
                number=number,
                order_id=entry.order_id,
                text=text,
            )
        if media:
            message = OutgoingMessage(text="", caption=fit(said, CAPTION_LIMIT), media=list(media))
        else:
            message = OutgoingMessage(text=fit(said))
        return NewDelivery(
            user_id=self.chat_id,
            chat_id=self.chat_id,
            kind="operator-customer-message",
            message=message,
            complaint_id=entry.id,
        )

    def delivered(self, delivery: Delivery) -> NewDelivery:
        """The mark on an operator's message once the customer has their reply."""
        assert delivery.message.confirms is not None
        chat_id, message_id = delivery.message.confirms
        return NewDelivery(
            user_id=chat_id,
            chat_id=chat_id,
            kind="operator-delivered",
            message=OutgoingMessage(text="", reaction=DELIVERED_MARK, reply_to=message_id),
            complaint_id=delivery.complaint_id,
        )

    def not_delivered(self, delivery: Delivery, reason: str) -> NewDelivery:
        """A reply to an operator's message: the customer could not be given it, and why."""
        assert delivery.message.confirms is not None
        chat_id, message_id = delivery.message.confirms
        if reason == "blocked":
            why = self._t("operator.reason_blocked")
        else:
            why = self._t("operator.reason_refused", detail=shorten(reason, REASON_LIMIT))
        return NewDelivery(
            user_id=chat_id,
            chat_id=chat_id,
            kind="operator-not-delivered",
            message=OutgoingMessage(
                text=self._t("operator.not_delivered", reason=why), reply_to=message_id
            ),
            complaint_id=delivery.complaint_id,
        )

    def rejected(self, entry: LedgerEntry, error: BackendRejected) -> NewDelivery:
        """The backend refused a complaint; `error.detail` says why (it never holds secrets)."""
        text = self._t(
            "operator.rejected", reason=shorten(error.detail, REASON_LIMIT), **self._about(entry)
        )
        return self._post("rejected", text, entry.id)

    def failed(self, entry: LedgerEntry, detail: str) -> NewDelivery:
        """A complaint failed for good: the backend stayed unreachable past the give-up time."""
        text = self._t(
            "operator.failed",
            attempts=entry.attempts + 1,
            reason=shorten(detail, REASON_LIMIT),
            **self._about(entry),
        )
        return self._post("failed", text, entry.id)

    def outcome_unknown(self, entry: LedgerEntry, detail: str) -> NewDelivery:
        """A create may or may not have filed the complaint: what to check, how to decide."""
        text = self._t(
            "operator.outcome_unknown", reason=shorten(detail, REASON_LIMIT), **self._about(entry)
        )
        return self._post("outcome-unknown", text, entry.id)

    def withdrawn(self, entry: LedgerEntry, outcome: str, detail: str = "") -> NewDelivery:
        """The customer withdrew a complaint: the backend has it (`done`), has no way to be
        told (`handed_over`), or did not take it (`failed`, with why)."""
        text = self._t(
            f"operator.withdrawal_{outcome}",
            number=entry.complaint_number or "-",
            reason=shorten(detail, REASON_LIMIT),
            **self._about(entry),
        )
        return self._post("withdrawal", text, entry.id)

    def quarantined(self, row: QuarantinedRow) -> NewDelivery:
        """A ledger row cannot be read and was set aside."""
        text = self._t(
            "operator.quarantined",
            entry_id=row.id,
            backend=row.backend,
            order_id=row.order_id,
            reason=shorten(row.reason, REASON_LIMIT),
        )
        return self._post("quarantined", text, row.id)

    def rated(
        self, entry: LedgerEntry, stars: int, comment: str = "", *, changed: bool = False
    ) -> NewDelivery:
        """A customer rated a finished complaint (or changed the rating), or added a comment
        to their rating (`comment` given)."""
        if comment:
            key = "operator.rating_comment"
        else:
            key = "operator.rating_changed" if changed else "operator.rated"
        text = self._t(
            key,
            number=entry.complaint_number or "-",
            stars=stars,
            bar="★" * stars + "☆" * (5 - stars),
            comment=shorten(comment, PROBLEM_LIMIT),
            entry_id=entry.id,
            backend=entry.backend,
            order_id=entry.order_id,
            user_id=int(entry.user_id),
            name=shorten(entry.envelope.customer_name(), 128),
        )
        return self._post("rating", text, entry.id)

    def undelivered(self, delivery: Delivery, reason: str) -> NewDelivery | None:
        """A message to a customer was given up (none about a post to this chat itself)."""
        if delivery.chat_id == self.chat_id:
            return None
        text = self._t(
            "operator.undelivered",
            chat_id=delivery.chat_id,
            kind=delivery.kind,
            entry_id=delivery.complaint_id if delivery.complaint_id is not None else "-",
            attempts=delivery.attempts + 1,
            reason=shorten(reason, REASON_LIMIT),
        )
        return self._post("undelivered", text, delivery.complaint_id)

    def _about(self, entry: LedgerEntry) -> dict[str, object]:
        """The placeholders every complaint post shares (escaped by the catalogue)."""
        return {
            "entry_id": entry.id,
            "backend": entry.backend,
            "order_id": entry.order_id,
            "category": category_label(self._t, self._categories, entry.category),
            "user_id": int(entry.user_id),
            "name": shorten(entry.envelope.customer_name(), 128),
            "problem": shorten(entry.envelope.entity.problemStatment, PROBLEM_LIMIT),
        }

    def _post(
        self,
        kind: str,
        text: str,
        complaint_id: int | None,
        keyboard: InlineKeyboardMarkup | None = None,
    ) -> NewDelivery:
        return NewDelivery(
            user_id=self.chat_id,
            chat_id=self.chat_id,
            kind=f"operator-{kind}",
            message=OutgoingMessage(text=fit(text), keyboard=keyboard_rows(keyboard)),
            complaint_id=complaint_id,
        )


def media_batches(attachments: Sequence[Attachment]) -> list[list[MediaItem]]:
    """The files as Telegram can group them: photos and videos in one album, documents in
    another (an album cannot mix the two)."""
    items = [MediaItem(kind=a.kind, file_id=a.fileId) for a in attachments]
    visual = [item for item in items if item.kind != "document"]
    documents = [item for item in items if item.kind == "document"]
    return [batch for batch in (visual, documents) if batch]


DESK_BUTTONS = (
    StatusCode.IN_PROGRESS,
    StatusCode.WAITING,
    StatusCode.RESOLVED,
    StatusCode.REJECTED,
    StatusCode.CLOSED,
)


def desk_keyboard(t: Messages, number: str) -> InlineKeyboardMarkup:
    """Buttons on an operator post that move a local desk complaint to another status."""
    buttons = [
        InlineKeyboardButton(
            t(f"operator.button.{status}"),
            callback_data=encode(Action.DESK, number, str(status)),
        )
        for status in DESK_BUTTONS
    ]
    return InlineKeyboardMarkup([buttons[:2], buttons[2:]])
