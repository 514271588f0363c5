"""This module contains answer_press: the answer to a button press, which may come too late.

Telegram accepts an answer to a press for about 15 seconds. A press made while the bot was
down, or queued behind a burst, is still acted on: its answer (the spinner, a toast) is simply
no longer possible, and that is no error for the customer.
"""

from __future__ import annotations

import logging

from telegram import CallbackQuery
from telegram.error import BadRequest

logger = logging.getLogger(__name__)

_TOO_LATE = ("query is too old", "query id is invalid")


async def answer_press(query: CallbackQuery, text: str | None = None) -> bool:
    """Answers the press (with a toast when `text` is given); False when it is too late."""
    try:
        await query.answer(text)
    except BadRequest as err:
        if not any(words in err.message.lower() for words in _TOO_LATE):
            raise
        logger.debug("Press %s answered too late (%s); acting on it anyway", query.id, err.message)
        return False
    return True
