"""This module contains ResultDelivery: telling customers what became of their submission."""

from __future__ import annotations

import logging
from collections.abc import Mapping

from telegram import Bot, InlineKeyboardMarkup
from telegram.constants import ParseMode
from telegram.error import BadRequest, Forbidden, TelegramError

from bot.backends.base import BackendRejected, Receipt
from bot.concurrency import CustomerLocks
from bot.conversation import render
from bot.conversation.keyboards import result_keyboard
from bot.i18n import Messages, Translator
from bot.storage.ledger import LedgerEntry

logger = logging.getLogger(__name__)


class ResultDelivery:
    """Sends results to customers, in order with their own updates (under their lock)."""

    def __init__(
        self,
        bot: Bot,
        translator: Translator,
        locks: CustomerLocks,
        categories: Mapping[str, str],
    ) -> None:
        self._bot = bot
        self._translator = translator
        self._locks = locks
        self._categories = categories

    def _messages(self, entry: LedgerEntry) -> Messages:
        return self._translator.for_language(entry.language)

    async def registered(self, entry: LedgerEntry, receipt: Receipt) -> None:
        """The card with the complaint number, replacing "Submitting…" unless time has passed."""
        t = self._messages(entry)
        card = render.registered_card(t, entry, receipt, self._categories)
        keyboard = result_keyboard(t, entry.id)
        async with self._locks.hold(entry.user_id):
            if card.photo_url and await self._send_photo(entry, card, keyboard):
                return
            await self._show(entry, card.text, keyboard, replace=not entry.told_delayed)

    async def submitting(self, entry: LedgerEntry) -> None:
        """The backend is slow: "Submitting…" replaces the summary (and its buttons)."""
        t = self._messages(entry)
        text = t("submit.submitting", order_id=entry.order_id)
        async with self._locks.hold(entry.user_id):
            await self._show(entry, text, None, replace=True, only_edit=True)

    async def delayed(self, entry: LedgerEntry) -> None:
        """The complaint is saved and will be registered when the backend is back."""
        t = self._messages(entry)
        async with self._locks.hold(entry.user_id):
            await self._show(
                entry, t("result.delayed", order_id=entry.order_id), None, replace=True
            )

    async def rejected(self, entry: LedgerEntry, error: BackendRejected) -> None:
        """The backend refused the complaint: say why, in the customer's words."""
        t = self._messages(entry)
        text = render.rejection(t, entry, error.reason, error.field)
        async with self._locks.hold(entry.user_id):
            await self._show(entry, text, result_keyboard(t, None), replace=not entry.told_delayed)

    async def failed(self, entry: LedgerEntry) -> None:
        """The backend stayed unreachable for too long."""
        t = self._messages(entry)
        async with self._locks.hold(entry.user_id):
            await self._show(
                entry, t("result.failed", order_id=entry.order_id), None, replace=False
            )

    async def _show(
        self,
        entry: LedgerEntry,
        text: str,
        keyboard: InlineKeyboardMarkup | None,
        *,
        replace: bool,
        only_edit: bool = False,
    ) -> None:
        """Edits the customer's summary message, or sends a new one (which notifies)."""
        try:
            if replace and entry.message_id is not None:
                try:
                    await self._bot.edit_message_text(
                        text,
                        chat_id=entry.chat_id,
                        message_id=entry.message_id,
                        parse_mode=ParseMode.HTML,
                        reply_markup=keyboard,
                    )
                    return
                except BadRequest as err:
                    if "not modified" in str(err).lower():
                        return
                    logger.info("Could not edit message of complaint %s (%s)", entry.id, err)
            if only_edit:
                return
            await self._bot.send_message(
                entry.chat_id, text, parse_mode=ParseMode.HTML, reply_markup=keyboard
            )
        except Forbidden:
            logger.info("Customer of complaint %s has blocked the bot", entry.id)
        except TelegramError as err:
            # The complaint's state is already committed; the customer still finds it in
            # /mycomplaints, so a lost notification is logged, not retried.
            logger.warning("Could not tell the customer of complaint %s: %s", entry.id, err)

    async def _send_photo(
        self, entry: LedgerEntry, card: render.Reply, keyboard: InlineKeyboardMarkup
    ) -> bool:
        """Sends a picture card; False (so text is shown instead) if Telegram refuses it."""
        try:
            await self._bot.send_photo(
                entry.chat_id,
                card.photo_url,
                caption=card.photo_caption,
                parse_mode=ParseMode.HTML,
                reply_markup=keyboard,
            )
        except Forbidden:
            logger.info("Customer of complaint %s has blocked the bot", entry.id)
            return True
        except TelegramError as err:
            logger.info("Telegram refused the card image of complaint %s: %s", entry.id, err)
            return False
        if entry.message_id is not None and not entry.told_delayed:
            try:
                await self._bot.delete_message(entry.chat_id, entry.message_id)
            except TelegramError as err:
                logger.debug("Could not remove the Submitting message: %s", err)
        return True
