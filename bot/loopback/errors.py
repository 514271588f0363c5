"""This module contains what the loopback Bot API answers instead of a result."""

from __future__ import annotations

from typing import Any


class BotApiError(Exception):
    """What Telegram answers with ok=false."""

    def __init__(self, code: int, description: str, retry_after: int | None = None) -> None:
        super().__init__(description)
        self.code = code
        self.description = description
        self.retry_after = retry_after

    def body(self) -> dict[str, Any]:
        """The JSON Telegram answers with."""
        body: dict[str, Any] = {
            "ok": False,
            "error_code": self.code,
            "description": self.description,
        }
        if self.retry_after is not None:
            body["parameters"] = {"retry_after": self.retry_after}
        return body


class ConnectionDropped(Exception):
    """Telegram (or the way to it) closed the connection without answering."""
