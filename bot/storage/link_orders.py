"""This module contains the LinkOrders: what a shop's link carries beyond the order, by token.

A Telegram /start payload holds 64 characters, so a link's items and order hash are kept here,
under a short random token that the signed payload names. They are the shop's data about its
order (no customer's), written by `python -m bot link` and read when the link is opened.
"""

from __future__ import annotations

import json
import secrets
import string
from dataclasses import dataclass

from bot.complaint import ClaimedItem
from bot.deeplinks import TOKEN_LENGTH
from bot.storage.database import Database

_TOKEN_ALPHABET = string.digits + string.ascii_letters


@dataclass(frozen=True, slots=True)
class LinkOrder:
    """The order a link is about, its hash at the shop ("" if none) and its items."""

    order_id: str
    order_hash: str = ""
    items: tuple[ClaimedItem, ...] = ()


def new_token() -> str:
    """A random token: 8 letters and digits, 47 bits (tokens are signed, so this is for
    uniqueness, not secrecy)."""
    return "".join(secrets.choice(_TOKEN_ALPHABET) for _ in range(TOKEN_LENGTH))


class LinkOrders:
    """Reads and writes the `link_orders` table."""

    def __init__(self, database: Database) -> None:
        self._db = database

    async def store(self, order: LinkOrder, *, now: float) -> str:
        """Keeps the order's items and hash; the token to put in its link."""
        items = json.dumps(
            [item.model_dump(exclude_none=True) for item in order.items], ensure_ascii=False
        )
        while True:
            token = new_token()
            rows = await self._db.write_returning(
                "INSERT INTO link_orders (token, order_id, order_hash, items, created_at) "
                "VALUES (?, ?, ?, ?, ?) ON CONFLICT (token) DO NOTHING RETURNING token",
                (token, order.order_id, order.order_hash, items, now),
            )
            if rows:
                return token

    async def get(self, token: str, order_id: str) -> LinkOrder | None:
        """What the link with this token carries, if it is about this order."""
        row = await self._db.fetch_one(
            "SELECT * FROM link_orders WHERE token = ? AND order_id = ?", (token, order_id)
        )
        if row is None:
            return None
        items = tuple(ClaimedItem.model_validate(item) for item in json.loads(row["items"]))
        return LinkOrder(str(row["order_id"]), str(row["order_hash"]), items)
