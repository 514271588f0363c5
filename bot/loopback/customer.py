"""This module contains CustomerUpdates and OperatorUpdates: the updates users' actions produce."""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable
from typing import Any, Protocol

from bot.loopback.chats import DEFAULT_ICON_COLOR, ForumTopic, UserMessage
from bot.loopback.telegram import (
    BOT_FIRST_NAME,
    BOT_ID,
    BOT_USERNAME,
    ChatMessage,
    StoredFile,
    bot_message_json,
    topic_opening,
)

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
# What a message replies to: a message of the bot or of a user, a Message object as JSON, or
# only its id (then reply_to_message carries no content).
Replied = ChatMessage | UserMessage | dict[str, Any] | int


class TopicLike(Protocol):
    """A forum topic: the loopback's ForumTopic or PTB's (what createForumTopic returned)."""

    @property
    def message_thread_id(self) -> int: ...
    @property
    def name(self) -> str: ...
    @property
    def icon_color(self) -> int: ...


class _ChatUpdates:
    """The messages one user sends in one chat."""

    def __init__(
        self, user: dict[str, Any], chat: dict[str, Any], clock: Callable[[], float]
    ) -> None:
        self.user = user
        self.chat = chat
        self.clock = clock
        self.sent: list[int] = []

    def _message(
        self,
        *,
        reply_to: Replied | None = None,
        thread: TopicLike | int | None = None,
        **content: Any,
    ) -> dict[str, Any]:
        message_id = next(_message_ids)
        self.sent.append(message_id)
        message: dict[str, Any] = {
            "message_id": message_id,
            "date": int(self.clock()),
            "chat": self.chat,
            "from": self.user,
            **content,
        }
        if thread is not None:
            message |= {"message_thread_id": _thread_id(thread), "is_topic_message": True}
        if reply_to is not None:
            message["reply_to_message"] = self._replied(reply_to)
        elif thread is not None:
            # In a topic Telegram makes every message a reply to the topic's opening message.
            message["reply_to_message"] = topic_opening(self.chat, _topic(thread, self.chat))
        return message

    def _replied(self, reply_to: Replied) -> dict[str, Any]:
        """The reply_to_message object: the whole replied message, as Telegram sends it."""
        if isinstance(reply_to, ChatMessage):
            return bot_message_json(reply_to, self.chat, self.clock())
        if isinstance(reply_to, UserMessage):
            return dict(reply_to.raw)
        if isinstance(reply_to, dict):
            return reply_to
        return {"message_id": reply_to, "date": int(self.clock()), "chat": self.chat}

    def text(
        self,
        text: str,
        *,
        reply_to: Replied | None = None,
        thread_id: TopicLike | int | None = None,
    ) -> dict[str, Any]:
        """A typed message; a leading /word (also /word@bot) is marked as a command, as
        Telegram does; `reply_to` makes it a reply, `thread_id` puts it in a forum topic."""
        content: dict[str, Any] = {"text": text}
        if text.startswith("/"):
            command = text.split()[0]
            content["entities"] = [{"type": "bot_command", "offset": 0, "length": len(command)}]
        return {"message": self._message(reply_to=reply_to, thread=thread_id, **content)}

    def content(
        self,
        kind: str,
        *,
        reply_to: Replied | None = None,
        thread_id: TopicLike | int | None = None,
    ) -> dict[str, Any]:
        """A sticker, photo, voice message, location or contact instead of text."""
        return {
            "message": self._message(reply_to=reply_to, thread=thread_id, **CONTENT_KINDS[kind])
        }

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
        reply_to: Replied | None = None,
        thread_id: TopicLike | int | None = None,
    ) -> dict[str, Any]:
        """A photo, video or document (a file the loopback keeps); `album` is the
        media_group_id its album's messages share, `size` what Telegram says it weighs."""
        content = file_content(stored, kind, name=name, mime=mime, size=size)
        if caption is not None:
            content["caption"] = caption
        if album is not None:
            content["media_group_id"] = album
        return {"message": self._message(reply_to=reply_to, thread=thread_id, **content)}

    def press(self, message: ChatMessage, data: str) -> dict[str, Any]:
        """A tap on a button of `message` carrying `data` (forged data included)."""
        return {
            "callback_query": {
                "id": str(next(_message_ids)),
                "from": self.user,
                "chat_instance": f"ci-{self.chat['id']}",
                "data": data,
                "message": {
                    "message_id": message.message_id,
                    "date": int(self.clock()),
                    "chat": self.chat,
                    "from": {"id": BOT_ID, "is_bot": True, "first_name": BOT_FIRST_NAME},
                    "text": message.text,
                },
            }
        }


class CustomerUpdates(_ChatUpdates):
    """Builds the update payloads (without update_id) for one user in a private chat."""

    def __init__(self, user: dict[str, Any], clock: Callable[[], float] = time.time) -> None:
        chat = {"id": int(user["id"]), "type": "private", "first_name": user["first_name"]}
        super().__init__(user, chat, clock)

    @property
    def id(self) -> int:
        """The user's (and their private chat's) id."""
        return int(self.user["id"])

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


class OperatorUpdates(_ChatUpdates):
    """Builds the update payloads of an operator, a member of the operator chat (a supergroup,
    a forum when `forum`)."""

    def __init__(
        self,
        chat_id: int,
        user: dict[str, Any],
        *,
        title: str = "Operators",
        forum: bool = False,
        clock: Callable[[], float] = time.time,
    ) -> None:
        chat = {"id": chat_id, "type": "supergroup", "title": title, "is_forum": forum}
        super().__init__(user, chat, clock)

    @property
    def chat_id(self) -> int:
        """The operator chat's id."""
        return int(self.chat["id"])

    def command(
        self,
        name: str,
        *args: object,
        mention: bool = False,
        reply_to: Replied | None = None,
        thread_id: TopicLike | int | None = None,
    ) -> dict[str, Any]:
        """`/name args…`; with `mention`, `/name@<bot> args…` as Telegram's menu sends it in
        groups."""
        command = f"/{name}@{BOT_USERNAME}" if mention else f"/{name}"
        text = " ".join([command, *(str(arg) for arg in args)])
        return self.text(text, reply_to=reply_to, thread_id=thread_id)


def file_content(
    stored: StoredFile,
    kind: str,
    *,
    name: str | None = None,
    mime: str | None = None,
    size: int | None = None,
) -> dict[str, Any]:
    """The part of a message that carries a photo, video or document."""
    described: dict[str, Any] = {
        "file_id": stored.file_id,
        "file_unique_id": stored.file_unique_id,
        "file_size": len(stored.content) if size is None else size,
    }
    if kind == "photo":
        return {"photo": [{**described, "width": 1280, "height": 960}]}
    if kind == "video":
        video = {**described, "width": 1280, "height": 720, "duration": 4}
        return {"video": video | _named(name, mime or "video/mp4")}
    return {"document": described | _named(name, mime)}


def _thread_id(thread: TopicLike | int) -> int:
    return thread if isinstance(thread, int) else thread.message_thread_id


def _topic(thread: TopicLike | int, chat: dict[str, Any]) -> ForumTopic:
    """The topic (a bare thread id stands for a topic whose name the test did not give)."""
    if isinstance(thread, int):
        return ForumTopic(int(chat["id"]), thread, "", DEFAULT_ICON_COLOR)
    return ForumTopic(int(chat["id"]), thread.message_thread_id, thread.name, thread.icon_color)


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
