"""This module contains `python -m bot link <orderId>`: a signed complaint link for a shop.

With `--item ID:QUANTITY:PRICE:LABEL` (repeated) and `--order-hash HASH` the order's items and
hash are kept in the database under a token that the link names (see bot.storage.link_orders).
"""

from __future__ import annotations

import argparse
import re
import sys
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation

from telegram import Bot
from telegram.error import TelegramError

from bot.claimed import ITEM_LABEL_MAX_LENGTH, MAX_ITEMS, MAX_QUANTITY
from bot.complaint import ClaimedItem
from bot.config import Settings
from bot.deeplinks import TOKEN_LENGTH, DeepLinkError, make_complaint_link, make_payload
from bot.storage.engines import database_for
from bot.storage.link_orders import LinkOrder, LinkOrders

ITEM_ID = re.compile(r"[A-Za-z0-9_.-]{1,64}")
ORDER_HASH = re.compile(r"[A-Za-z0-9_.:+/=-]{1,128}")


def link_item(text: str) -> ClaimedItem:
    """An --item ID:QUANTITY:PRICE:LABEL (the label may hold colons); argparse's error else."""
    parts = text.split(":", 3)
    if len(parts) != 4:
        raise argparse.ArgumentTypeError(f"is not ID:QUANTITY:PRICE:LABEL: {text!r}")
    item_id, quantity, price, label = (part.strip() for part in parts)
    if not ITEM_ID.fullmatch(item_id):
        raise argparse.ArgumentTypeError(f"item ID is 1-64 of A-Z a-z 0-9 _ . -: {item_id!r}")
    if not quantity.isascii() or not quantity.isdigit() or not 1 <= int(quantity) <= MAX_QUANTITY:
        raise argparse.ArgumentTypeError(
            f"quantity is a whole number 1-{MAX_QUANTITY}: {quantity!r}"
        )
    try:
        value = Decimal(price)
    except InvalidOperation:
        value = Decimal(-1)
    if not value.is_finite() or value < 0:
        raise argparse.ArgumentTypeError(f"price is a number such as 2490 or 12.50: {price!r}")
    if not label or len(label) > ITEM_LABEL_MAX_LENGTH:
        raise argparse.ArgumentTypeError(f"label is 1-{ITEM_LABEL_MAX_LENGTH} characters")
    return ClaimedItem(label=label, quantity=int(quantity), orderItemId=item_id, price=float(value))


def order_hash(text: str) -> str:
    """An --order-hash: the shop's hash of the order, as its API gives it."""
    if not ORDER_HASH.fullmatch(text):
        raise argparse.ArgumentTypeError("is 1-128 of A-Z a-z 0-9 _ . : + / = -")
    return text


async def print_link(
    settings: Settings,
    order_id: str,
    days: int | None = None,
    *,
    order_hash: str = "",
    items: Sequence[ClaimedItem] = (),
) -> int:
    """Prints the link (and on standard error until when it works, if it expires), or one line
    saying why there is none; returns the exit status. With items or an order hash, they are
    stored first and the link names them."""
    if settings.deep_link_secret is None:
        print("DEEP_LINK_SECRET: is not set, so deep links are off", file=sys.stderr)
        return 2
    secret = settings.deep_link_secret.get_secret_value()
    days = days or settings.deep_link_days
    expires_at = None if days is None else int(time.time()) + days * 86400
    if len(items) > MAX_ITEMS:
        print(f"Cannot make a link: at most {MAX_ITEMS} items, not {len(items)}", file=sys.stderr)
        return 1
    stored = bool(items or order_hash)
    # The token's room is checked before anything is stored.
    token = "0" * TOKEN_LENGTH if stored else None
    try:
        make_payload(order_id, secret, expires_at, token)  # what a Telegram link can carry
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
    if stored:
        token = await _store(settings, LinkOrder(order_id, order_hash, tuple(items)))
    print(make_complaint_link(order_id, secret, username, expires_at, token))
    if expires_at is not None:
        until = datetime.fromtimestamp(expires_at, UTC).strftime("%Y-%m-%d %H:%M UTC")
        print(f"The link works until {until}.", file=sys.stderr)
    return 0


async def _store(settings: Settings, order: LinkOrder) -> str:
    database = database_for(settings)
    await database.open()
    try:
        return await LinkOrders(database).store(order, now=time.time())
    finally:
        await database.close()


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
