"""This module contains `python -m bot link <orderId>`: a signed complaint link for a shop."""

from __future__ import annotations

import sys
import time
from datetime import UTC, datetime

from telegram import Bot
from telegram.error import TelegramError

from bot.config import Settings
from bot.deeplinks import DeepLinkError, make_complaint_link, make_payload


async def print_link(settings: Settings, order_id: str, days: int | None = None) -> int:
    """Prints the link (and on standard error until when it works, if it expires), or one line
    saying why there is none; returns the exit status."""
    if settings.deep_link_secret is None:
        print("DEEP_LINK_SECRET: is not set, so deep links are off", file=sys.stderr)
        return 2
    secret = settings.deep_link_secret.get_secret_value()
    days = days or settings.deep_link_days
    expires_at = None if days is None else int(time.time()) + days * 86400
    try:
        make_payload(order_id, secret, expires_at)  # what a Telegram link can carry
    except DeepLinkError as err:
        print(f"Cannot make a link: {err}", file=sys.stderr)
        return 1
    if not settings.order_id_regex.fullmatch(order_id):
        print(
            f"Cannot make a link: order ID {order_id!r} does not match ORDER_ID_PATTERN, so the "
            "bot would refuse it",
            file=sys.stderr,
        )
        return 1
    username = settings.bot_username or await _username_from_telegram(settings)
    if username is None:
        print(
            "BOT_USERNAME: is not set and Telegram could not be asked (set BOT_USERNAME)",
            file=sys.stderr,
        )
        return 2
    print(make_complaint_link(order_id, secret, username, expires_at))
    if expires_at is not None:
        until = datetime.fromtimestamp(expires_at, UTC).strftime("%Y-%m-%d %H:%M UTC")
        print(f"The link works until {until}.", file=sys.stderr)
    return 0


async def _username_from_telegram(settings: Settings) -> str | None:
    if settings.telegram_bot_token is None:
        return None
    bot = Bot(
        settings.telegram_bot_token.get_secret_value(), base_url=settings.telegram_api_base_url
    )
    try:
        async with bot:
            return bot.username
    except TelegramError:
        return None
