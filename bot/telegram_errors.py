"""This module contains what some of PTB's Telegram errors mean, read the same everywhere."""

from __future__ import annotations

import re

from telegram.error import InvalidToken, NetworkError, RetryAfter, TelegramError

# PTB's words for an answer that is not JSON: "Not Found (404). Parsing the server response
# b'<html>…' failed" for an error status, "Invalid server response" for a 200.
_NOT_JSON = "Parsing the server response"
_STATUS = re.compile(r"\((\d{3})\)\. " + _NOT_JSON)
FIRST_SERVER_ERROR = 500


def not_a_bot_api(err: TelegramError) -> bool:
    """Whether the answer came from a server that is no Telegram Bot API (a web page, an empty
    404): Telegram itself answers in JSON, a refused token included."""
    cause = err.__cause__ if isinstance(err, InvalidToken) else err
    message = cause.message if isinstance(cause, TelegramError) else err.message
    return _NOT_JSON in message or message == "Invalid server response"


def not_a_bot_api_reason(err: BaseException) -> str | None:
    """What shows that the server at TELEGRAM_API_BASE_URL is no Telegram Bot API ("HTTP 404",
    "not JSON", ...); None when it may well be one: a network failure, a 5xx (a proxy in
    front of one that is down), or an error the Bot API itself answered."""
    if isinstance(err, KeyError) and err.args == ("result",):
        return "JSON without a result"  # PTB reads `result` of an answer that has none
    if not isinstance(err, TelegramError) or isinstance(err, RetryAfter):
        return None
    text = err.message
    if isinstance(err, InvalidToken):
        # PTB's Bot.initialize raises its own InvalidToken from the one the answer made.
        cause = err.__cause__
        text = cause.message if isinstance(cause, TelegramError) else text
    if not not_a_bot_api(err):
        return None
    status = _STATUS.search(text)
    if status is None:
        return "HTTP 404" if isinstance(err, InvalidToken) else "not JSON"
    code = int(status[1])
    return None if code >= FIRST_SERVER_ERROR else f"HTTP {code}"


def retried_at_start(err: TelegramError) -> bool:
    """Whether a failed call at start is worth trying again: the network, a timeout, a 5xx or
    a flood wait. Anything else answered means a setting is wrong, and no retry fixes it."""
    if isinstance(err, RetryAfter):
        return True
    return isinstance(err, NetworkError) and not_a_bot_api_reason(err) is None


def describe_not_a_bot_api(host: str, reason: str) -> str:
    """The one line `check` and `run` say about a server that is no Bot API."""
    return (
        f"{host} did not answer as a Telegram Bot API server: check TELEGRAM_API_BASE_URL "
        f"({reason})"
    )


def host_of(url: str) -> str:
    """The host (and port) of a URL, never its path (a Bot API URL's path holds the token)."""
    rest_of_url = url.split("://", 1)[-1]
    return rest_of_url.split("/", 1)[0] or "an invalid URL"
