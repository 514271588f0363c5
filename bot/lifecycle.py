"""This module contains the process's life around the application: start, stop, and signals.

At start the database is opened first (a wrong path or a database the bot cannot write is one
line and exit status 2), then Telegram is asked who we are, again and again with backoff while
it cannot be reached (one line per attempt). A stop (SIGINT, SIGTERM) is prompt at any moment:
polling is given two seconds to wind down, whatever Telegram is doing.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import Awaitable, Callable
from datetime import timedelta

from telegram.error import InvalidToken, RetryAfter, TelegramError
from telegram.ext import Updater

from bot.app import BuiltBot
from bot.config import ConfigError
from bot.telegram_errors import (
    describe_not_a_bot_api,
    host_of,
    not_a_bot_api_reason,
    retried_at_start,
)

logger = logging.getLogger(__name__)

FIRST_RETRY_SECONDS = 1.0
MAX_RETRY_SECONDS = 60.0
# How long polling may take to wind down (it confirms the last updates to Telegram).
UPDATER_STOP_SECONDS = 2.0


def stop_on_signals() -> asyncio.Event:
    """An event SIGINT or SIGTERM sets (where the platform lets us handle signals)."""
    event = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, event.set)
    return event


async def rest(stop: asyncio.Event, seconds: float) -> bool:
    """Waits `seconds`; True when `stop` was set meanwhile (the wait ends at once then)."""
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(seconds):
            await stop.wait()
    return stop.is_set()


async def start(built: BuiltBot, stop: asyncio.Event) -> bool:
    """Prepares the database and initialises the application, retrying Telegram with backoff
    while it cannot be reached; False when stopped before Telegram answered.

    Raises ConfigError (one line naming the setting) for what no retry can fix.
    """
    await built.prepare()
    app = built.application
    return await until_telegram_answers(
        "at start", app.initialize, stop, built.services.settings.telegram_api_base_url
    )


async def until_telegram_answers(
    what: str, call: Callable[[], Awaitable[object]], stop: asyncio.Event, base_url: str
) -> bool:
    """Calls Telegram until it answers, with backoff and one line per failed try; False when
    stopped first. Only what a retry can fix is retried (the network, a timeout, a 5xx, a
    flood wait); a refused token, or a server that answers but is no Bot API, is a
    ConfigError in the words `check` uses."""
    delay = FIRST_RETRY_SECONDS
    while True:
        try:
            await call()
            return True
        except KeyError as err:  # JSON without the Bot API's `result`
            reason = not_a_bot_api_reason(err)
            if reason is None:
                raise
            raise ConfigError(describe_not_a_bot_api(host_of(base_url), reason)) from None
        except TelegramError as err:
            if not retried_at_start(err):
                raise ConfigError(describe_refusal(err, base_url)) from None
            if isinstance(err, RetryAfter):  # a flood wait: never sooner than Telegram asks
                wait = err.retry_after
                delay = max(delay, wait.total_seconds() if isinstance(wait, timedelta) else wait)
            logger.warning(
                "Telegram (%s) could not be reached %s (%s); trying again in %.0f s",
                host_of(base_url),
                what,
                err.message,
                delay,
            )
        if await rest(stop, delay):
            return False
        delay = min(delay * 2, MAX_RETRY_SECONDS)


def describe_refusal(err: TelegramError, base_url: str) -> str:
    """What an answer at getMe that no retry fixes means, naming the setting to fix."""
    reason = not_a_bot_api_reason(err)
    if reason is not None:
        # Telegram answers in JSON, a wrong token included; anything else is another server.
        return describe_not_a_bot_api(host_of(base_url), reason)
    if isinstance(err, InvalidToken):
        return "TELEGRAM_BOT_TOKEN: Telegram refused the token (check it with @BotFather)"
    return (
        f"TELEGRAM_API_BASE_URL: {host_of(base_url)} answered getMe with an error ({err.message})"
    )


async def stop_updater(updater: Updater | None) -> None:
    """Stops polling within UPDATER_STOP_SECONDS, even in the middle of a backoff sleep or
    with Telegram unreachable (the updates it could not confirm are fetched again at the next
    start, and recognised as processed)."""
    if updater is None or not updater.running:
        return
    try:
        async with asyncio.timeout(UPDATER_STOP_SECONDS):
            await updater.stop()
    except TimeoutError:
        logger.info("Stopped polling without confirming the last updates to Telegram")


async def shut_down(built: BuiltBot) -> None:
    """Stops what runs (updater, application, workers) and closes what is open."""
    app = built.application
    await stop_updater(app.updater)
    if app.running:
        await app.stop()
        if app.post_stop is not None:
            await app.post_stop(app)
    await app.shutdown()
    if app.post_shutdown is not None:
        await app.post_shutdown(app)
