"""This module contains CustomerUpdates: the updates a Telegram user's actions produce."""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable
from typing import Any

from bot.loopback.telegram import BOT_FIRST_NAME, BOT_ID, ChatMessage, StoredFile

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

    def file(
        self,
        stored: StoredFile,
        kind: str = "photo",
        *,
        caption: str | None = None,
        album: str | None = None,
        name: str | None = None,
        mime: str | None = None,
        size: int | None = None,
    ) -> dict[str, Any]:
        """A photo, video or document (a file the loopback keeps); `album` is the
        media_group_id its album's messages share, `size` what Telegram says it weighs."""
        described: dict[str, Any] = {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "file_size": len(stored.content) if size is None else size,
        }
        if kind == "photo":
            content: dict[str, Any] = {"photo": [{**described, "width": 1280, "height": 960}]}
        elif kind == "video":
            video = {**described, "width": 1280, "height": 720, "duration": 4}
            content = {"video": video | _named(name, mime or "video/mp4")}
        else:
            content = {"document": described | _named(name, mime)}
        if caption is not None:
            content["caption"] = caption
        if album is not None:
            content["media_group_id"] = album
        return {"message": self._message(**content)}

    def contact(self, *, own: bool = True, phone: str = "420777123456") -> dict[str, Any]:
        """A shared contact: the user's own (Telegram's button) or someone else's card."""
        contact: dict[str, Any] = {"phone_number": phone, "first_name": self.user["first_name"]}
        contact["user_id"] = self.id if own else self.id + 1
        return {"message": self._message(contact=contact)}

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


def _named(name: str | None, mime: str | None) -> dict[str, Any]:
    """A file's name and type, as far as they are given."""
    return {k: v for k, v in (("file_name", name), ("mime_type", mime)) if v is not None}
