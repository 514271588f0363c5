"""This module contains OperatorChat: complaints and error reports posted to OPERATOR_CHAT_ID."""

from __future__ import annotations

import logging
from collections.abc import Mapping

from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup
from telegram.constants import ParseMode
from telegram.error import TelegramError

from bot.backends.base import BackendRejected, Receipt, StatusCode
from bot.conversation.callbacks import Action, encode
from bot.conversation.render import category_label, shorten
from bot.i18n import Messages, Translator
from bot.storage.ledger import LedgerEntry

logger = logging.getLogger(__name__)

# Operators read English; the texts live in bot/locales/en.po under `operator.*`.
OPERATOR_LANGUAGE = "en"
# The longest problem statement and backend explanation quoted in a post (Telegram allows 4096).
PROBLEM_LIMIT = 2500
REASON_LIMIT = 300


class OperatorChat:
    """Posts to the operators' chat; a post that fails is logged, never raised."""

    def __init__(
        self,
        bot: Bot,
        chat_id: int,
        translator: Translator,
        categories: Mapping[str, str],
        *,
        desk_buttons: bool = False,
    ) -> None:
        self._bot = bot
        self.chat_id = chat_id
        self._t: Messages = translator.for_language(OPERATOR_LANGUAGE)
        self._categories = categories
        self._desk_buttons = desk_buttons

    async def registered(self, entry: LedgerEntry, receipt: Receipt) -> None:
        """A complaint was registered: its number, order, problem, customer (and, on the local
        desk, buttons that move it on)."""
        keyboard = desk_keyboard(self._t, receipt.number) if self._desk_buttons else None
        await self._post(
            self._t("operator.registered", number=receipt.number, **self._about(entry)),
            f"registered complaint {entry.id}",
            keyboard,
        )

    async def rejected(self, entry: LedgerEntry, error: BackendRejected) -> None:
        """The backend refused a complaint; `error.detail` says why (it never holds secrets)."""
        await self._post(
            self._t(
                "operator.rejected",
                reason=shorten(error.detail, REASON_LIMIT),
                **self._about(entry),
            ),
            f"rejected complaint {entry.id}",
        )

    async def failed(self, entry: LedgerEntry, detail: str) -> None:
        """A complaint failed for good: the backend stayed unreachable past the give-up time."""
        await self._post(
            self._t(
                "operator.failed",
                attempts=entry.attempts + 1,
                reason=shorten(detail, REASON_LIMIT),
                **self._about(entry),
            ),
            f"failed complaint {entry.id}",
        )

    async def error(
        self, error: BaseException | None, *, update_id: int | None, user_id: int | None
    ) -> None:
        """An error report: the exception's class and the ids, never the message's contents."""
        name = type(error).__name__ if error is not None else "unknown error"
        if update_id is None:
            text = self._t("operator.error_outside_update", error=name)
        else:
            text = self._t(
                "operator.error",
                error=name,
                update_id=update_id,
                user_id=user_id if user_id is not None else "unknown",
            )
        await self._post(text, f"error report ({name})")

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

    async def _post(
        self, text: str, what: str, keyboard: InlineKeyboardMarkup | None = None
    ) -> None:
        try:
            await self._bot.send_message(
                self.chat_id, text, parse_mode=ParseMode.HTML, reply_markup=keyboard
            )
        except TelegramError as err:
            logger.warning("Could not post the %s to the operator chat: %s", what, err)
        except Exception:
            logger.exception("Posting the %s to the operator chat failed", what)


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
