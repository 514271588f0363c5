"""This module contains OperatorDeskButtons: operators move desk complaints from their chat."""

from __future__ import annotations

import logging

from telegram import Update
from telegram.constants import ParseMode
from telegram.error import BadRequest
from telegram.ext import ContextTypes

from bot.backends.base import StatusCode
from bot.conversation.presses import answer_press
from bot.i18n import Translator
from bot.operators.chat import DESK_BUTTONS, OPERATOR_LANGUAGE, desk_keyboard
from bot.operators.desk import DeskChanges

logger = logging.getLogger(__name__)


class OperatorDeskButtons:
    """Handles the status buttons under operator posts (only in OPERATOR_CHAT_ID)."""

    def __init__(
        self,
        *,
        operator_chat_id: int,
        changes: DeskChanges,
        translator: Translator,
    ) -> None:
        self._chat_id = operator_chat_id
        self._changes = changes
        self._t = translator.for_language(OPERATOR_LANGUAGE)

    async def on_press(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Sets the status, tells the customer at once, and notes the change on the post."""
        query = update.callback_query
        assert query is not None
        chat = query.message.chat if query.message is not None else None
        if chat is None or chat.id != self._chat_id:
            await answer_press(query, self._t("operator.not_allowed"))
            return
        _, number, status_value = str(query.data).split(":", 2)
        try:
            status = StatusCode(status_value)
        except ValueError:
            status = StatusCode.UNKNOWN
        if status not in DESK_BUTTONS or not await self._changes.set_status(number, status):
            await answer_press(query, self._t("unexpected.stale_button"))
            return
        logger.info("Operator %s set desk complaint %s to %s", query.from_user.id, number, status)
        word = self._t(f"status.word.{status}")
        await answer_press(query, self._t("operator.desk_toast", number=number, status=word))
        text = getattr(query.message, "text_html", None) or ""
        note = self._t("operator.desk_changed", status=word, operator=query.from_user.first_name)
        try:
            await query.edit_message_text(
                f"{text}\n\n{note}" if text else note,
                parse_mode=ParseMode.HTML,
                reply_markup=desk_keyboard(self._t, number),
            )
        except BadRequest as err:
            logger.info("Could not note the change on the operator post: %s", err)
