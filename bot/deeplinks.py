"""This module contains signed deep links: t.me/<bot>?start=c-<orderId>-<signature>.

It depends on the standard library only, so a shop's backend can copy or import it as is.
The signature is the first 16 characters of base64url(HMAC-SHA256(secret, orderId)): 96 bits,
so guessing a valid link for someone else's order is hopeless, while leaving 45 of Telegram's
64 payload characters for the order ID.

A link that expires is e-<orderId>-<expiry>-<signature>: the expiry is the Unix time in base 36
(6 characters until 2038), and the signature covers "orderId\nexpiry", so neither the expiry
nor a never-expiring link can be made from it (an order ID holds no newline).

A link whose order's items (and hash) the bot keeps is i-<orderId>-<token>-<expiry>-<signature>:
the token (8 letters and digits) names the stored items, the expiry is base 36 or "0" for
never, and the signature covers "i\norderId\ntoken\nexpiry", so the token cannot be swapped
for another order's and no other kind of link can be made from it.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from dataclasses import dataclass

PREFIX = "c-"
EXPIRING_PREFIX = "e-"
ITEMS_PREFIX = "i-"
TOKEN_LENGTH = 8
TOKEN = re.compile(rf"[0-9A-Za-z]{{{TOKEN_LENGTH}}}")
NEVER = "0"  # the expiry of an items link that never expires
SIGNATURE_LENGTH = 16
MAX_PAYLOAD_LENGTH = 64  # Telegram's limit for ?start=
MAX_ORDER_ID_LENGTH = MAX_PAYLOAD_LENGTH - len(PREFIX) - 1 - SIGNATURE_LENGTH
PAYLOAD_ALPHABET = re.compile(r"[A-Za-z0-9_-]+")  # ASCII only: used with fullmatch
BASE36 = re.compile(r"[0-9a-z]{1,13}")
DIGITS36 = "0123456789abcdefghijklmnopqrstuvwxyz"


class DeepLinkError(ValueError):
    """The order ID cannot be carried by a deep link."""


@dataclass(frozen=True)
class VerifiedLink:
    """What a genuine payload vouches for: the order, and until when (Unix time; None: ever)."""

    order_id: str
    expires_at: int | None = None
    token: str | None = None  # the stored items' token, for an i- link

    def expired(self, now: float) -> bool:
        """Whether the link is past its expiry at `now` (Unix time)."""
        return self.expires_at is not None and now >= self.expires_at


def sign(order_id: str, secret: str, expires_at: int | None = None) -> str:
    """The link signature of an order ID (and of its expiry, for a link that expires)."""
    message = order_id if expires_at is None else f"{order_id}\n{_to_base36(expires_at)}"
    digest = hmac.new(secret.encode(), message.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")[:SIGNATURE_LENGTH]


def sign_with_token(order_id: str, token: str, secret: str, expires_at: int | None) -> str:
    """The signature of an items link: order, token and expiry ("0": never) together."""
    expiry = NEVER if expires_at is None else _to_base36(expires_at)
    message = f"i\n{order_id}\n{token}\n{expiry}"
    digest = hmac.new(secret.encode(), message.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")[:SIGNATURE_LENGTH]


def _to_base36(number: int) -> str:
    digits = ""
    while True:
        number, digit = divmod(number, 36)
        digits = DIGITS36[digit] + digits
        if number == 0:
            return digits


def make_payload(
    order_id: str, secret: str, expires_at: int | None = None, token: str | None = None
) -> str:
    """The `start` payload for an order: c-<orderId>-<signature>, or with `expires_at` (Unix
    time) e-<orderId>-<expiry>-<signature>, or with a stored items' `token`
    i-<orderId>-<token>-<expiry>-<signature>."""
    if not secret:
        raise DeepLinkError("a secret is needed to sign links (DEEP_LINK_SECRET)")
    if not order_id or not PAYLOAD_ALPHABET.fullmatch(order_id):
        raise DeepLinkError(
            f"order ID {order_id!r} can only use A-Z, a-z, 0-9, _ and - in a Telegram link"
        )
    if token is not None:
        if not TOKEN.fullmatch(token):
            raise DeepLinkError(f"a link token is {TOKEN_LENGTH} letters and digits: {token!r}")
        expiry = NEVER if expires_at is None else _to_base36(expires_at)
        room = MAX_ORDER_ID_LENGTH - len(token) - 1 - len(expiry) - 1
        signature = sign_with_token(order_id, token, secret, expires_at)
        payload = f"{ITEMS_PREFIX}{order_id}-{token}-{expiry}-{signature}"
        if len(order_id) > room:
            raise DeepLinkError(
                f"order ID {order_id!r} is longer than the {room} characters a Telegram link "
                "can carry with items"
            )
        return payload
    if expires_at is None:
        room, payload = MAX_ORDER_ID_LENGTH, f"{PREFIX}{order_id}-{sign(order_id, secret)}"
    else:
        expiry = _to_base36(expires_at)
        room = MAX_ORDER_ID_LENGTH - len(expiry) - 1
        payload = f"{EXPIRING_PREFIX}{order_id}-{expiry}-{sign(order_id, secret, expires_at)}"
    if len(order_id) > room:
        raise DeepLinkError(
            f"order ID {order_id!r} is longer than the {room} characters a Telegram link can "
            + ("carry" if expires_at is None else "carry with an expiry")
        )
    return payload


def make_complaint_link(
    order_id: str,
    secret: str,
    bot_username: str,
    expires_at: int | None = None,
    token: str | None = None,
) -> str:
    """The URL that opens the bot with a complaint about `order_id` already started."""
    payload = make_payload(order_id, secret, expires_at, token)
    return f"https://t.me/{bot_username.lstrip('@')}?start={payload}"


def verify_payload(payload: str, secret: str) -> VerifiedLink | None:
    """What a genuine payload vouches for; None for a tampered, foreign or broken one (an
    expired genuine link is returned: the caller says it expired, see VerifiedLink.expired)."""
    if (
        not secret
        or len(payload) > MAX_PAYLOAD_LENGTH
        or not payload.startswith((PREFIX, EXPIRING_PREFIX, ITEMS_PREFIX))
        or len(payload) < len(PREFIX) + 2 + SIGNATURE_LENGTH
        or payload[-SIGNATURE_LENGTH - 1] != "-"
    ):
        return None
    body = payload[len(PREFIX) : -SIGNATURE_LENGTH - 1]
    signature = payload[-SIGNATURE_LENGTH:]
    expires_at: int | None = None
    if payload.startswith(ITEMS_PREFIX):
        return _verify_items(body, signature, secret)
    if payload.startswith(EXPIRING_PREFIX):
        body, _, expiry = body.rpartition("-")
        if not BASE36.fullmatch(expiry):
            return None
        expires_at = int(expiry, 36)
    order_id = body
    if not PAYLOAD_ALPHABET.fullmatch(order_id) or not PAYLOAD_ALPHABET.fullmatch(signature):
        return None
    expected = sign(order_id, secret, expires_at)
    if not hmac.compare_digest(signature.encode(), expected.encode()):
        return None
    return VerifiedLink(order_id, expires_at)


def _verify_items(body: str, signature: str, secret: str) -> VerifiedLink | None:
    """An i- payload's order, token and expiry, when its signature is genuine."""
    rest, _, expiry = body.rpartition("-")
    order_id, _, token = rest.rpartition("-")
    if not (expiry == NEVER or (BASE36.fullmatch(expiry) and not expiry.startswith("0"))):
        return None
    if not TOKEN.fullmatch(token) or not PAYLOAD_ALPHABET.fullmatch(order_id):
        return None
    if not PAYLOAD_ALPHABET.fullmatch(signature):
        return None
    expires_at = None if expiry == NEVER else int(expiry, 36)
    expected = sign_with_token(order_id, token, secret, expires_at)
    if not hmac.compare_digest(signature.encode(), expected.encode()):
        return None
    return VerifiedLink(order_id, expires_at, token)
