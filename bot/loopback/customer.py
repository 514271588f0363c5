"""This module contains CustomerUpdates: the updates a Telegram user's actions produce."""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable
from typing import Any

from bot.loopback.telegram import BOT_FIRST_NAME, BOT_ID, ChatMessage

CONTENT_KINDS: dict[str, dict[str, Any]] = {
    "sticker": {
        "sticker": {
            "file_id": "s",
            "file_unique_id": "s",
            "width": 512,
            "height": 512,
            "is_animated": False,
            "is_video": False,
            "type": "regular",
        }
    },
    "photo": {"photo": [{"file_id": "p", "file_unique_id": "p", "width": 90, "height": 90}]},
    "voice": {"voice": {"file_id": "v", "file_unique_id": "v", "duration": 2}},
    "location": {"location": {"latitude": 50.08, "longitude": 14.43}},
    "contact": {"contact": {"phone_number": "+420777123456", "first_name": "Ada"}},
}
_message_ids = itertools.count(1)


class CustomerUpdates:
    """Builds the update payloads (without update_id) for one user in a private chat."""

    def __init__(self, user: dict[str, Any], clock: Callable[[], float] = time.time) -> None:
        self.user = user
        self.clock = clock
        self.sent: list[int] = []

    @property
    def id(self) -> int:
        """The user's (and their private chat's) id."""
        return int(self.user["id"])

    def _message(self, **content: Any) -> dict[str, Any]:
        message_id = next(_message_ids)
        self.sent.append(message_id)
        return {
            "message_id": message_id,
            "date": int(self.clock()),
            "chat": {"id": self.id, "type": "private", "first_name": self.user["first_name"]},
            "from": self.user,
            **content,
        }

    def text(self, text: str) -> dict[str, Any]:
        """A typed message; a leading /word is marked as a command, as Telegram does."""
        content: dict[str, Any] = {"text": text}
        if text.startswith("/"):
            command = text.split()[0]
            content["entities"] = [{"type": "bot_command", "offset": 0, "length": len(command)}]
        return {"message": self._message(**content)}

    def content(self, kind: str) -> dict[str, Any]:
        """A sticker, photo, voice message, location or contact instead of text."""
        return {"message": self._message(**CONTENT_KINDS[kind])}

    def edit(self, text: str) -> dict[str, Any]:
        """An edit of the user's previous message."""
        message = self._message(text=text)
        if len(self.sent) > 1:
            message["message_id"] = self.sent[-2]
        message["edit_date"] = int(self.clock())
        return {"edited_message": message}

    def press(self, message: ChatMessage, data: str) -> dict[str, Any]:
        """A tap on a button of `message` carrying `data` (forged data included)."""
        return {
            "callback_query": {
                "id": str(next(_message_ids)),
                "from": self.user,
                "chat_instance": f"ci-{self.id}",
                "data": data,
                "message": {
                    "message_id": message.message_id,
                    "date": int(self.clock()),
                    "chat": {"id": self.id, "type": "private"},
                    "from": {"id": BOT_ID, "is_bot": True, "first_name": BOT_FIRST_NAME},
                    "text": message.text,
                },
            }
        }


def make_user(user_id: int, first_name: str = "Ada", **fields: Any) -> dict[str, Any]:
    """A Telegram user object; fields set to None are left out."""
    user: dict[str, Any] = {
        "id": user_id,
        "is_bot": False,
        "first_name": first_name,
        "last_name": "Lovelace",
        "username": first_name.lower(),
        "language_code": "en",
    }
    user.update(fields)
    return {k: v for k, v in user.items() if v is not None}
