"""This module contains signed deep links: t.me/<bot>?start=c-<orderId>-<signature>.

It depends on the standard library only, so a shop's backend can copy or import it as is.
The signature is the first 16 characters of base64url(HMAC-SHA256(secret, orderId)): 96 bits,
so guessing a valid link for someone else's order is hopeless, while leaving 45 of Telegram's
64 payload characters for the order ID.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re

PREFIX = "c-"
SIGNATURE_LENGTH = 16
MAX_PAYLOAD_LENGTH = 64  # Telegram's limit for ?start=
MAX_ORDER_ID_LENGTH = MAX_PAYLOAD_LENGTH - len(PREFIX) - 1 - SIGNATURE_LENGTH
PAYLOAD_ALPHABET = re.compile(r"[A-Za-z0-9_-]+")  # ASCII only: used with fullmatch


class DeepLinkError(ValueError):
    """The order ID cannot be carried by a deep link."""


def sign(order_id: str, secret: str) -> str:
    """The link signature of an order ID."""
    digest = hmac.new(secret.encode(), order_id.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")[:SIGNATURE_LENGTH]


def make_payload(order_id: str, secret: str) -> str:
    """The `start` payload for an order: c-<orderId>-<signature>."""
    if not secret:
        raise DeepLinkError("a secret is needed to sign links (DEEP_LINK_SECRET)")
    if not order_id or not PAYLOAD_ALPHABET.fullmatch(order_id):
        raise DeepLinkError(
            f"order ID {order_id!r} can only use A-Z, a-z, 0-9, _ and - in a Telegram link"
        )
    if len(order_id) > MAX_ORDER_ID_LENGTH:
        raise DeepLinkError(
            f"order ID {order_id!r} is longer than the {MAX_ORDER_ID_LENGTH} characters "
            "a Telegram link can carry"
        )
    return f"{PREFIX}{order_id}-{sign(order_id, secret)}"


def make_complaint_link(order_id: str, secret: str, bot_username: str) -> str:
    """The URL that opens the bot with a complaint about `order_id` already started."""
    return f"https://t.me/{bot_username.lstrip('@')}?start={make_payload(order_id, secret)}"


def verify_payload(payload: str, secret: str) -> str | None:
    """The order ID a genuine payload carries; None for a tampered, foreign or broken one."""
    if (
        not secret
        or len(payload) > MAX_PAYLOAD_LENGTH
        or not payload.startswith(PREFIX)
        or len(payload) < len(PREFIX) + 2 + SIGNATURE_LENGTH
        or payload[-SIGNATURE_LENGTH - 1] != "-"
    ):
        return None
    order_id = payload[len(PREFIX) : -SIGNATURE_LENGTH - 1]
    signature = payload[-SIGNATURE_LENGTH:]
    if not PAYLOAD_ALPHABET.fullmatch(order_id) or not PAYLOAD_ALPHABET.fullmatch(signature):
        return None
    expected = sign(order_id, secret)
    return order_id if hmac.compare_digest(signature.encode(), expected.encode()) else None
