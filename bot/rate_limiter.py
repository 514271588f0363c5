"""This module contains the RateLimiter: PTB's AIORateLimiter, with button answers let through.

Telegram's flood limits are about messages (30 a second overall, one a second per chat). An
answer to a button press is no message, and Telegram refuses it once the press is about 15
seconds old, so it must never wait behind a queue of messages: under a burst it would, and
every press would then fail.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any

from telegram.ext import AIORateLimiter

JSONDict = dict[str, Any]  # as PTB's BaseRateLimiter spells its results

UNLIMITED_ENDPOINTS = frozenset({"answerCallbackQuery"})


class RateLimiter(AIORateLimiter):
    """AIORateLimiter for every call but the answers to button presses."""

    async def process_request(
        self,
        callback: Callable[..., Coroutine[Any, Any, bool | JSONDict | list[JSONDict]]],
        args: Any,
        kwargs: dict[str, Any],
        endpoint: str,
        data: dict[str, Any],
        rate_limit_args: int | None,
    ) -> bool | JSONDict | list[JSONDict]:
        """Sends a button's answer at once; everything else waits its turn."""
        if endpoint in UNLIMITED_ENDPOINTS:
            return await callback(*args, **kwargs)
        return await super().process_request(
            callback, args, kwargs, endpoint, data, rate_limit_args
        )
