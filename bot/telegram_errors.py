"""This module contains what some of PTB's Telegram errors mean, read the same everywhere."""

from __future__ import annotations

from telegram.error import InvalidToken, TelegramError


def not_a_bot_api(err: TelegramError) -> bool:
    """Whether the answer came from a server that is no Telegram Bot API (a web page, an empty
    404): Telegram itself answers in JSON, a refused token included."""
    cause = err.__cause__ if isinstance(err, InvalidToken) else err
    message = cause.message if isinstance(cause, TelegramError) else err.message
    return "Parsing the server response" in message or message == "Invalid server response"
