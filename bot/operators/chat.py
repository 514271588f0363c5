"""This module contains OperatorChat: the operators' chat, its posts to owe (OperatorPosts, in
bot/messages/) and the error reports it sends at once."""

from __future__ import annotations

import logging
from collections.abc import Mapping

from telegram import Bot
from telegram.constants import ParseMode
from telegram.error import TelegramError

from bot.i18n import Translator

# The posts' names, importable from here as before.
from bot.messages.operator_posts import (
    DELIVERED_MARK,
    DESK_BUTTONS,
    OPERATOR_LANGUAGE,
    OperatorPosts,
    desk_keyboard,
    media_batches,
)

__all__ = [
    "DELIVERED_MARK",
    "DESK_BUTTONS",
    "OPERATOR_LANGUAGE",
    "OperatorChat",
    "desk_keyboard",
    "media_batches",
]

logger = logging.getLogger(__name__)


class OperatorChat(OperatorPosts):
    """The operators' chat: posts to owe, and error reports sent at once."""

    def __init__(
        self,
        bot: Bot,
        chat_id: int,
        translator: Translator,
        categories: Mapping[str, str],
        *,
        resolutions: Mapping[str, str] | None = None,
        desk_buttons: bool = False,
    ) -> None:
        super().__init__(
            chat_id, translator, categories, resolutions=resolutions, desk_buttons=desk_buttons
        )
        self._bot = bot

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
        try:
            await self._bot.send_message(self.chat_id, text, parse_mode=ParseMode.HTML)
        except TelegramError as err:
            logger.warning(
                "Could not post the error report (%s) to the operator chat: %s", name, err
            )
        except Exception:
            logger.exception("Posting the error report (%s) to the operator chat failed", name)
