"""This module contains the error handler: log the failure, apologise, tell the operators."""

from __future__ import annotations

import logging
from collections.abc import Callable, Coroutine
from typing import Any

from telegram import Update
from telegram.error import Forbidden, NetworkError, TelegramError
from telegram.ext import ApplicationHandlerStop, ContextTypes

from bot.conversation.flow import chat_id_of
from bot.conversation.presses import answer_press
from bot.operators.chat import OperatorChat
from bot.services import Services
from bot.storage.updates import AlreadyProcessed

logger = logging.getLogger(__name__)


def error_handler(
    services: Services, operator: OperatorChat | None = None
) -> Callable[[object, ContextTypes.DEFAULT_TYPE], Coroutine[Any, Any, None]]:
    async def on_error(update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Logs the failure with the update's ids (not its contents), apologises, reports it.

        A customer who blocked the bot (Forbidden) is no error: one INFO line, and the update
        goes no further (ApplicationHandlerStop keeps it from later error handlers too).
        """
        if not isinstance(update, Update):
            logger.error("Error outside an update", exc_info=context.error)
            if operator is not None and not isinstance(context.error, NetworkError):
                await operator.error(context.error, update_id=None, user_id=None)
            return
        user = update.effective_user
        if isinstance(context.error, AlreadyProcessed):
            logger.info(
                "Update %s was processed by another process sharing the database; dropped",
                update.update_id,
            )
            raise ApplicationHandlerStop
        if isinstance(context.error, Forbidden):
            logger.info(
                "User %s has blocked the bot; update %s dropped (%s)",
                user.id if user else None,
                update.update_id,
                context.error.message,
            )
            raise ApplicationHandlerStop
        logger.error(
            "Error handling update %s of user %s",
            update.update_id,
            user.id if user else None,
            exc_info=context.error,
        )
        if update.effective_chat is not None and update.effective_chat.type == "private":
            await _apologise(update, context, services)
        if operator is not None:
            await operator.error(
                context.error, update_id=update.update_id, user_id=user.id if user else None
            )

    return on_error


async def _apologise(
    update: Update, context: ContextTypes.DEFAULT_TYPE, services: Services
) -> None:
    """Tells the customer something went wrong (and stops the button's spinner)."""
    user = update.effective_user
    if update.callback_query is not None:
        try:
            await answer_press(update.callback_query)
        except TelegramError as err:
            logger.debug(
                "Could not answer the button press of update %s: %s", update.update_id, err
            )
    try:
        await context.bot.send_message(chat_id_of(update), services.messages(user)("error.apology"))
    except Forbidden:
        logger.info("User %s has blocked the bot; no apology sent", user.id if user else None)
    except TelegramError as err:
        logger.warning("Could not apologise to user %s: %s", user.id if user else None, err)
