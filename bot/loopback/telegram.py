"""This module contains LoopbackTelegram: the part of Telegram the bot uses, kept in memory.

The console and the tests talk to the bot through it: they play the customer (updates in), and
it answers the bot's Bot API calls as Telegram would (messages out, recorded in order). It is
as strict as Telegram: HTML that does not parse under Telegram's rules, texts over 4,096 and
captions over 1,024 visible characters, callback data over 64 bytes, and answers to button
presses older than 15 seconds are refused with Telegram's own error texts.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from bot.loopback.chats import (
    BLOCKED,
    CHAT_NOT_FOUND,
    NOT_A_FORUM,
    REACT_NOT_FOUND,
    REPLIED_NOT_FOUND,
    THREAD_NOT_FOUND,
    ForumTopic,
    GroupChat,
    UserMessage,
    check_reactions,
    check_topic_name,
    replied_id,
    thread_of,
)
from bot.loopback.errors import BotApiError as BotApiError
from bot.loopback.errors import ConnectionDropped as ConnectionDropped
from bot.telegram_html import (
    CAPTION_LIMIT,
    MESSAGE_LIMIT,
    TelegramHtmlError,
    plain_text,
    utf16_length,
)

BOT_ID = 7000001
BOT_USERNAME = "order_complaints_test_bot"
BOT_FIRST_NAME = "Order complaints"
# Telegram accepts an answer to a button press for about this long.
QUERY_ANSWER_SECONDS = 15.0
MAX_CALLBACK_DATA_BYTES = 64
MAX_TOAST_CHARACTERS = 200
CONFLICT = (
    "Conflict: terminated by other getUpdates request; make sure that only one bot instance is "
    "running"
)
QUERY_TOO_OLD = "Bad Request: query is too old and response timeout expired or query ID is invalid"
# The most a bot can download (getFile), and what an album may hold.
MAX_DOWNLOAD_BYTES = 20 * 1024 * 1024
# The most a bot can upload (sendDocument with a file of its own).
MAX_UPLOAD_BYTES = 50 * 1024 * 1024
ALBUM_SIZES = range(2, 11)
# Methods that put something into a chat: a user who blocked the bot refuses them all.
SENDING_PREFIXES = ("send", "edit", "copy", "forward")


OutageKind = Literal["502", "429", "drop"]


@dataclass
class ChatMessage:
    """A message of the bot as it stands now (after edits); `file` is the file_id of the
    photo, video or document it shows (`photo` too for a photo), `reply_keyboard` the labels
    of a keyboard under the message field."""

    chat_id: int
    message_id: int
    text: str = ""
    photo: str = ""
    keyboard: list[list[dict[str, Any]]] = field(default_factory=list)
    deleted: bool = False
    file: str = ""
    file_kind: str = ""
    album: str = ""
    reply_keyboard: list[str] = field(default_factory=list)
    # The forum topic it was sent in, and the message it replies to (None: neither).
    thread_id: int | None = None
    reply_to: int | None = None

    @property
    def buttons(self) -> list[str]:
        """The labels of its inline buttons, row by row."""
        return [button["text"] for row in self.keyboard for button in row]

    def callback_data(self, label: str) -> str:
        """The callback data behind the button with this label."""
        for row in self.keyboard:
            for button in row:
                if button["text"] == label:
                    return str(button.get("callback_data", ""))
        raise LookupError(f"no button {label!r} among {self.buttons}")


@dataclass(frozen=True)
class StoredFile:
    """A file a customer sent, as Telegram keeps it: getFile names it, the file URL serves it."""

    file_id: str
    file_unique_id: str
    path: str
    content: bytes
    file_name: str = ""


@dataclass(frozen=True)
class ApiCall:
    """One Bot API call the bot made, with its parameters."""

    method: str
    params: dict[str, Any]
    # The messages it made (filled in once Telegram has answered): what a check of this call
    # may compare with the messages before it.
    message_ids: list[int] = field(default_factory=list, compare=False)
    # Telegram's error when it refused the call ("403 Forbidden: bot was blocked by the
    # user", or a dropped connection), filled in as it answers; empty when it accepted it. A
    # refused message was never shown to anyone.
    refusal: list[str] = field(default_factory=list, compare=False)

    @property
    def refused(self) -> bool:
        """Whether Telegram refused the call."""
        return bool(self.refusal)

    @property
    def chat_id(self) -> int | None:
        """The chat it was about, if any."""
        value = self.params.get("chat_id")
        return int(value) if value is not None else None

    @property
    def text(self) -> str:
        """The text, caption or toast it carried."""
        return str(self.params.get("text") or self.params.get("caption") or "")

    @property
    def buttons(self) -> list[str]:
        """The labels of the keyboard it carried."""
        return [b["text"] for row in keyboard_of(self.params) for b in row]


class LoopbackTelegram:
    """Answers the Bot API methods the bot uses; makes updates for the customer's side."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self.clock = clock
        self.calls: list[ApiCall] = []
        # Button presses not yet answered, with when they were made.
        self.open_queries: dict[str, float] = {}
        self.messages: dict[tuple[int, int], ChatMessage] = {}
        self.listeners: list[Callable[[ApiCall], None]] = []
        self._message_ids = itertools.count(1000)
        # Like Telegram's, update ids only grow, also from one session to the next on the same
        # database (the bot drops an update whose id it has processed before).
        self._update_ids = itertools.count(int(clock() * 1000))
        self._pending: list[dict[str, Any]] = []
        self._arrived = asyncio.Event()
        self._failures: dict[str, list[tuple[int, str, int | None]]] = {}
        self._down_until = 0.0
        self._down_kind: OutageKind = "502"
        self._down_retry_after = 7
        self.polls = 0
        self.conflicts = 0
        self._poll_generation = 0
        self.files: dict[str, StoredFile] = {}
        self._file_numbers = itertools.count(1)
        self.downloads = 0  # files served by the file URL (getFile only names them)
        self._albums = itertools.count(1)
        self.groups: dict[int, GroupChat] = {}
        # Users seen in updates (their private chats answer getChat), their messages per chat,
        # the bot's reactions per message, and users who blocked the bot.
        self.users: dict[int, dict[str, Any]] = {}
        self._user_messages: dict[tuple[int, int], UserMessage] = {}
        self.reactions: dict[tuple[int, int], list[str]] = {}
        self.blocked: set[int] = set()

    # -- the bot's side ----------------------------------------------------------------------

    def call(
        self,
        method: str,
        params: dict[str, Any],
        uploads: dict[str, tuple[str, bytes]] | None = None,
    ) -> Any:
        """Answers one Bot API call (getUpdates excepted); raises BotApiError like Telegram.

        `uploads` are files the bot sent with the call (multipart: parameter name → file name
        and bytes): Telegram keeps each (up to 50 MB) and the parameter names it by its new
        file_id, so a test can read what the bot sent (`files[call.params["document"]]`).
        """
        for name, (file_name, content) in (uploads or {}).items():
            if len(content) > MAX_UPLOAD_BYTES:
                raise BotApiError(413, "Request Entity Too Large")
            params[name] = self.add_file(content, kind=name, file_name=file_name).file_id
        record = ApiCall(method, params)
        self.calls.append(record)
        for listener in self.listeners:
            listener(record)
        try:
            result = self._answer(method, params)
        except BotApiError as err:
            record.refusal.append(f"{err.code} {err.description}")
            raise
        except ConnectionDropped:
            record.refusal.append("the connection dropped")
            raise
        for made in result if isinstance(result, list) else [result]:
            if isinstance(made, dict) and "message_id" in made and "chat" in made:
                record.message_ids.append(int(made["message_id"]))
        return result

    def _answer(self, method: str, params: dict[str, Any]) -> Any:
        if self.clock() < self._down_until:
            self._fail_as_down()
        failures = self._failures.get(method)
        if failures:
            code, description, retry_after = failures.pop(0)
            raise BotApiError(code, description, retry_after)
        sending = method.startswith(SENDING_PREFIXES)
        if sending and _chat_of(params) in self.blocked:
            raise BotApiError(403, BLOCKED)
        group = self.groups.get(_chat_of(params))
        refusal = group.refusal(sending) if group is not None else None
        if refusal is not None:
            raise refusal
        check_request(method, params)
        handler = getattr(self, f"_api_{method}", None)
        if handler is None:
            raise BotApiError(404, f"Not Found: method {method} is not in the loopback Bot API")
        return handler(params)

    async def get_updates(self, offset: int, wait_seconds: float) -> list[dict[str, Any]]:
        """Long polling: the updates from `offset` on, waiting up to `wait_seconds` for one.

        As on Telegram, one consumer at a time: a new poll ends one still waiting with 409.
        """
        self.polls += 1
        self._poll_generation += 1
        mine = self._poll_generation
        self._arrived.set()  # an older poll still waiting wakes up to its 409
        self._pending = [u for u in self._pending if u["update_id"] >= offset]
        if not self._pending and wait_seconds > 0:
            self._arrived.clear()
            try:
                async with asyncio.timeout(wait_seconds):
                    await self._arrived.wait()
            except TimeoutError:
                pass
        if self._poll_generation != mine:
            self.conflicts += 1
            raise BotApiError(409, CONFLICT)
        return list(self._pending)

    # -- the customer's side -----------------------------------------------------------------

    def outage(self, seconds: float, kind: OutageKind = "502", retry_after: int = 7) -> None:
        """Every call but getUpdates fails for `seconds`: a 502 from Telegram's front, a 429
        asking to wait `retry_after` seconds, or a connection dropped without an answer."""
        self._down_until = self.clock() + seconds
        self._down_kind = kind
        self._down_retry_after = retry_after

    def _fail_as_down(self) -> None:
        if self._down_kind == "drop":
            raise ConnectionDropped
        if self._down_kind == "429":
            raise BotApiError(
                429,
                f"Too Many Requests: retry after {self._down_retry_after}",
                retry_after=self._down_retry_after,
            )
        raise BotApiError(502, "Bad Gateway")

    def fail_next(
        self, method: str, description: str, code: int = 400, retry_after: int | None = None
    ) -> None:
        """The next call of `method` answers with a Telegram error."""
        self._failures.setdefault(method, []).append((code, description, retry_after))

    def end_polls(self) -> None:
        """Answers any waiting long poll now (with what is pending), e.g. before shutting down."""
        self._arrived.set()

    @property
    def unconsumed(self) -> int:
        """Updates delivered that the bot has not confirmed (by asking for a later offset)."""
        return len(self._pending)

    def deliver(self, update: dict[str, Any]) -> dict[str, Any]:
        """Numbers an update and queues it for getUpdates; returns it."""
        update = {"update_id": next(self._update_ids), **update}
        self.received(update)
        self._pending.append(update)
        self._arrived.set()
        return update

    def received(self, update: dict[str, Any], at: float | None = None) -> None:
        """Notes what an update brings to Telegram's side: a button press (made at `at`,
        default now), a user's message (which replies and reactions may then name, and which
        an edit changes) and its sender (whose private chat getChat then knows)."""
        self.pressed(update, at)
        for kind in ("message", "edited_message"):
            message = update.get(kind)
            if isinstance(message, dict):
                self._remember(message)
        query = update.get("callback_query")
        if isinstance(query, dict) and isinstance(query.get("from"), dict):
            self.users.setdefault(int(query["from"]["id"]), query["from"])

    def _remember(self, message: dict[str, Any]) -> None:
        sender = message.get("from") if isinstance(message.get("from"), dict) else {}
        assert isinstance(sender, dict)
        if sender.get("id") is not None:
            self.users.setdefault(int(sender["id"]), sender)
        chat_id, message_id = int(message["chat"]["id"]), int(message["message_id"])
        replied = message.get("reply_to_message")
        thread = message.get("message_thread_id") if message.get("is_topic_message") else None
        self._user_messages[(chat_id, message_id)] = UserMessage(
            chat_id,
            message_id,
            str(message.get("text") or message.get("caption") or ""),
            sender,
            thread_id=int(thread) if thread is not None else None,
            reply_to=int(replied["message_id"]) if isinstance(replied, dict) else None,
            raw={k: v for k, v in message.items() if k != "reply_to_message"},
            after_calls=len(self.calls),
        )

    def pressed(self, update: dict[str, Any], at: float | None = None) -> None:
        """Notes a button press in `update` (if it is one) as made at `at` (default: now)."""
        query = update.get("callback_query")
        if isinstance(query, dict):
            self.open_queries[str(query["id"])] = self.clock() if at is None else at

    def add_file(self, content: bytes, kind: str = "photo", file_name: str = "") -> StoredFile:
        """Keeps a file a customer (or the bot) sends, with ids in Telegram's style."""
        number = next(self._file_numbers)
        stored = StoredFile(
            file_id=f"AgAC{kind}-{number:04d}-loopback",
            file_unique_id=f"AQAD{number:04d}",
            path=f"{kind}s/file_{number}",
            content=content,
            file_name=file_name,
        )
        self.files[stored.file_id] = stored
        return stored

    def file_content(self, path: str) -> bytes | None:
        """What the file URL `<base>/file/bot<token>/<path>` serves (None: no such file)."""
        content = next((f.content for f in self.files.values() if f.path == path), None)
        if content is not None:
            self.downloads += 1
        return content

    def chat_messages(self, chat_id: int) -> list[ChatMessage]:
        """The bot's messages in a chat as they look now, oldest first (deleted left out)."""
        return [
            m for (chat, _), m in sorted(self.messages.items()) if chat == chat_id and not m.deleted
        ]

    def user_messages(self, chat_id: int) -> list[UserMessage]:
        """The messages users sent in a chat (through updates), oldest first."""
        return [m for (chat, _), m in sorted(self._user_messages.items()) if chat == chat_id]

    def add_group(self, chat_id: int, title: str, *, forum: bool = False) -> GroupChat:
        """A supergroup the bot is a member of (a forum, with topics, when `forum`)."""
        group = GroupChat(chat_id, title, forum)
        self.groups[chat_id] = group
        return group

    def topics(self, chat_id: int) -> list[ForumTopic]:
        """The topics created in a forum chat, oldest first."""
        group = self.groups.get(chat_id)
        return list(group.topics.values()) if group is not None else []

    def reactions_of(self, chat_id: int, message_id: int) -> list[str]:
        """The emoji the bot has set on a message (none: an empty list)."""
        return list(self.reactions.get((chat_id, message_id), []))

    def delete_topic(self, chat_id: int, thread_id: int) -> None:
        """An operator deletes a forum topic (with its messages): sends to it are refused."""
        del self.groups[chat_id].topics[thread_id]

    def remove_bot(self, chat_id: int) -> None:
        """An admin removes the bot from the group: every call about it answers 403."""
        self.groups[chat_id].member = False

    def forbid_posting(self, chat_id: int) -> None:
        """An admin takes the bot's right to post (it stays a member): sends answer 400."""
        self.groups[chat_id].may_post = False

    def add_bot_back(self, chat_id: int) -> None:
        """The bot is a member with its rights again."""
        group = self.groups[chat_id]
        group.member = group.may_post = True

    def block(self, user_id: int) -> None:
        """The user blocks the bot: every send to their chat answers 403 until `unblock`."""
        self.blocked.add(user_id)

    def unblock(self, user_id: int) -> None:
        """The user restarts the bot after blocking it."""
        self.blocked.discard(user_id)

    # -- the methods -------------------------------------------------------------------------

    def _api_getMe(self, params: dict[str, Any]) -> dict[str, Any]:
        return {
            "id": BOT_ID,
            "is_bot": True,
            "first_name": BOT_FIRST_NAME,
            "username": BOT_USERNAME,
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
        }

    def _api_getChat(self, params: dict[str, Any]) -> dict[str, Any]:
        chat_id = _chat_of(params)
        if chat_id in self.groups:
            chat = self.groups[chat_id].as_chat()
        elif chat_id in self.users:
            user = self.users[chat_id]
            names = ("first_name", "last_name", "username")
            chat = {"id": chat_id, "type": "private"} | {k: user[k] for k in names if k in user}
        else:
            raise BotApiError(400, CHAT_NOT_FOUND)
        return chat | {
            "accent_color_id": 0,
            "max_reaction_count": 11,
            "accepted_gift_types": {
                "unlimited_gifts": False,
                "limited_gifts": False,
                "unique_gifts": False,
                "premium_subscription": False,
                "gifts_from_channels": False,
            },
        }

    def _api_createForumTopic(self, params: dict[str, Any]) -> dict[str, Any]:
        group = self.groups.get(_chat_of(params))
        if group is None or not group.forum:
            raise BotApiError(400, NOT_A_FORUM)
        name = check_topic_name(params.get("name"))
        color = params.get("icon_color")
        # Like Telegram, a topic's thread id is the id of the service message that opened it.
        topic = ForumTopic(group.chat_id, next(self._message_ids), name)
        if color not in (None, ""):
            topic = ForumTopic(group.chat_id, topic.message_thread_id, name, int(str(color)))
        group.topics[topic.message_thread_id] = topic
        return topic.as_telegram()

    def _api_setMessageReaction(self, params: dict[str, Any]) -> bool:
        key = (_chat_of(params), int(params["message_id"]))
        if not self._exists(*key):
            raise BotApiError(400, REACT_NOT_FOUND)
        self.reactions[key] = check_reactions(params.get("reaction"))
        return True

    def _api_sendMessage(self, params: dict[str, Any]) -> dict[str, Any]:
        return self._store(params, text=str(params["text"]))

    def _api_sendPhoto(self, params: dict[str, Any]) -> dict[str, Any]:
        return self._send_file(params, "photo")

    def _api_sendVideo(self, params: dict[str, Any]) -> dict[str, Any]:
        return self._send_file(params, "video")

    def _api_sendDocument(self, params: dict[str, Any]) -> dict[str, Any]:
        return self._send_file(params, "document")

    def _api_sendMediaGroup(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        items = params.get("media")
        if not isinstance(items, list) or len(items) not in ALBUM_SIZES:
            raise BotApiError(400, "Bad Request: wrong number of media in the album")
        kinds = {str(item.get("type")) for item in items}
        if "document" in kinds and kinds != {"document"}:
            raise BotApiError(400, "Bad Request: document can't be mixed with other media types")
        placement = self._placement(params)
        album = f"album-{next(self._albums)}"
        sent = []
        for item in items:
            check_request("sendMediaGroup", {**item, "chat_id": params["chat_id"]})
            kind = str(item.get("type"))
            sent.append(
                self._send_file(
                    {"chat_id": params["chat_id"], kind: item.get("media"), **item},
                    kind,
                    album,
                    placement,
                )
            )
        return sent

    def _api_getFile(self, params: dict[str, Any]) -> dict[str, Any]:
        stored = self.files.get(str(params.get("file_id")))
        if stored is None:
            raise BotApiError(400, "Bad Request: invalid file_id")
        if len(stored.content) > MAX_DOWNLOAD_BYTES:
            raise BotApiError(400, "Bad Request: file is too big")
        return {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "file_size": len(stored.content),
            "file_path": stored.path,
        }

    def _api_editMessageText(self, params: dict[str, Any]) -> dict[str, Any]:
        message = self._existing(params)
        message.text = str(params["text"])
        message.keyboard = keyboard_of(params)
        return self._as_telegram(message)

    def _api_editMessageReplyMarkup(self, params: dict[str, Any]) -> dict[str, Any]:
        message = self._existing(params)
        message.keyboard = keyboard_of(params)
        return self._as_telegram(message)

    def _api_deleteMessage(self, params: dict[str, Any]) -> bool:
        self._existing(params).deleted = True
        return True

    def _api_answerCallbackQuery(self, params: dict[str, Any]) -> bool:
        pressed_at = self.open_queries.pop(str(params.get("callback_query_id")), None)
        if pressed_at is None or self.clock() - pressed_at > QUERY_ANSWER_SECONDS:
            raise BotApiError(400, QUERY_TOO_OLD)
        if len(str(params.get("text") or "")) > MAX_TOAST_CHARACTERS:
            raise BotApiError(400, "Bad Request: MESSAGE_TOO_LONG")
        return True

    def _api_setMyCommands(self, params: dict[str, Any]) -> bool:
        return True

    def _api_deleteWebhook(self, params: dict[str, Any]) -> bool:
        return True

    def _api_setWebhook(self, params: dict[str, Any]) -> bool:
        return True

    def _api_close(self, params: dict[str, Any]) -> bool:
        return True

    # -- helpers -----------------------------------------------------------------------------

    def _store(self, params: dict[str, Any], *, text: str, photo: str = "") -> dict[str, Any]:
        chat_id = int(params["chat_id"])
        thread_id, reply_to = self._placement(params)
        message = ChatMessage(chat_id, next(self._message_ids), text, photo, keyboard_of(params))
        message.thread_id, message.reply_to = thread_id, reply_to
        if photo:
            message.file, message.file_kind = photo, "photo"
        message.reply_keyboard = reply_keyboard_of(params)
        self.messages[(chat_id, message.message_id)] = message
        return self._as_telegram(message)

    def _send_file(
        self,
        params: dict[str, Any],
        kind: str,
        album: str = "",
        placement: tuple[int | None, int | None] | None = None,
    ) -> dict[str, Any]:
        """A photo, video or document sent by file_id (one Telegram keeps) or by URL."""
        file = str(params.get(kind) or "")
        if file not in self.files and not file.startswith(("https://", "http://")):
            raise BotApiError(400, "Bad Request: wrong file identifier/HTTP URL specified")
        chat_id = int(params["chat_id"])
        thread_id, reply_to = placement or self._placement(params)
        message = ChatMessage(
            chat_id,
            next(self._message_ids),
            str(params.get("caption") or ""),
            photo=file if kind == "photo" else "",
            keyboard=keyboard_of(params),
            file=file,
            file_kind=kind,
            album=album,
            thread_id=thread_id,
            reply_to=reply_to,
        )
        self.messages[(chat_id, message.message_id)] = message
        return self._as_telegram(message)

    def _existing(self, params: dict[str, Any]) -> ChatMessage:
        key = (int(params["chat_id"]), int(params["message_id"]))
        message = self.messages.get(key)
        if message is None or message.deleted:
            raise BotApiError(400, "Bad Request: message to edit not found")
        return message

    def _placement(self, params: dict[str, Any]) -> tuple[int | None, int | None]:
        """The topic a send goes to and the message it replies to, refused as Telegram
        refuses a topic that is not there or a reply to a message that is not."""
        chat_id = _chat_of(params)
        thread_id = thread_of(params)
        if thread_id is not None:
            group = self.groups.get(chat_id)
            if group is None or not group.forum or thread_id not in group.topics:
                raise BotApiError(400, THREAD_NOT_FOUND)
        reply_chat, reply_to, without_reply = replied_id(params)
        if reply_to is not None and not self._exists(reply_chat or chat_id, reply_to):
            if not without_reply:
                raise BotApiError(400, REPLIED_NOT_FOUND)
            reply_to = None
        if reply_chat not in (None, chat_id):
            reply_to = None  # a quote of another chat: not a reply within this one
        return thread_id, reply_to

    def _exists(self, chat_id: int, message_id: int) -> bool:
        """Whether a message of the bot (not deleted) or of a user is there in the chat."""
        bots = self.messages.get((chat_id, message_id))
        return (bots is not None and not bots.deleted) or (
            (chat_id, message_id) in self._user_messages
        )

    def chat_json(self, chat_id: int) -> dict[str, Any]:
        """The `chat` object of a message in this chat."""
        if chat_id in self.groups:
            return self.groups[chat_id].as_chat()
        user = self.users.get(chat_id, {})
        chat = {"id": chat_id, "type": "private"}
        return chat | {k: user[k] for k in ("first_name", "username") if k in user}

    def message_json(self, message: ChatMessage | UserMessage) -> dict[str, Any]:
        """Telegram's Message object for a message of the bot or of a user, without the
        message it replies to (as reply_to_message carries it)."""
        if isinstance(message, UserMessage):
            return dict(message.raw)
        return self._as_telegram(message, nested=True)

    def _as_telegram(self, message: ChatMessage, *, nested: bool = False) -> dict[str, Any]:
        result = bot_message_json(message, self.chat_json(message.chat_id))
        if not nested:
            replied = self._replied_json(message)
            if replied is not None:
                result["reply_to_message"] = replied
        return result

    def _replied_json(self, message: ChatMessage) -> dict[str, Any] | None:
        """What a sent message's reply_to_message is: the message it replies to, else (in a
        topic) the service message that opened the topic, as Telegram does."""
        key = (message.chat_id, message.reply_to or 0)
        if key in self.messages:
            return self._as_telegram(self.messages[key], nested=True)
        if key in self._user_messages:
            return dict(self._user_messages[key].raw)
        group = self.groups.get(message.chat_id)
        if message.thread_id is not None and group is not None:
            return topic_opening(group.as_chat(), group.topics[message.thread_id])
        return None


def bot_message_json(
    message: ChatMessage, chat: dict[str, Any], date: float | None = None
) -> dict[str, Any]:
    """Telegram's Message object for a message of the bot (without reply_to_message)."""
    result: dict[str, Any] = {
        "message_id": message.message_id,
        "date": int(time.time() if date is None else date),
        "chat": chat,
        "from": {"id": BOT_ID, "is_bot": True, "first_name": BOT_FIRST_NAME},
    }
    if message.thread_id is not None:
        result |= {"message_thread_id": message.thread_id, "is_topic_message": True}
    if message.file_kind == "photo":
        result["photo"] = [{"file_id": "p", "file_unique_id": "p", "width": 1, "height": 1}]
        result["caption"] = message.text
    elif message.file_kind:
        result[message.file_kind] = {"file_id": message.file, "file_unique_id": "u"}
        if message.file_kind == "video":
            result["video"] |= {"width": 1, "height": 1, "duration": 1}
        result["caption"] = message.text
    else:
        result["text"] = message.text
    if message.keyboard:
        result["reply_markup"] = {"inline_keyboard": message.keyboard}
    return result


def topic_opening(chat: dict[str, Any], topic: ForumTopic) -> dict[str, Any]:
    """The service message that opened a topic (what a topic message without a reply replies
    to, in Telegram's updates and answers)."""
    return {
        "message_id": topic.message_thread_id,
        "date": int(time.time()),
        "chat": chat,
        "from": {"id": BOT_ID, "is_bot": True, "first_name": BOT_FIRST_NAME},
        "message_thread_id": topic.message_thread_id,
        "forum_topic_created": {"name": topic.name, "icon_color": topic.icon_color},
    }


def _chat_of(params: dict[str, Any]) -> int:
    """A call's chat_id (0 when it names none: no chat has that id)."""
    value = params.get("chat_id")
    try:
        return int(value) if value is not None else 0
    except ValueError:
        return 0  # an @channel username: not a chat the loopback knows


def check_request(method: str, params: dict[str, Any]) -> None:
    """Refuses, as Telegram does, markup it cannot parse, over-long texts and button data."""
    html = params.get("parse_mode") == "HTML"
    if method in ("sendMessage", "editMessageText"):
        text = _visible(str(params.get("text") or ""), html)
        if not text.strip():
            raise BotApiError(400, "Bad Request: message text is empty")
        if utf16_length(text.strip()) > MESSAGE_LIMIT:
            raise BotApiError(400, "Bad Request: message is too long")
    if "caption" in params:
        caption = _visible(str(params.get("caption") or ""), html)
        if utf16_length(caption.strip()) > CAPTION_LIMIT:
            raise BotApiError(400, "Bad Request: message caption is too long")
    for row in keyboard_of(params):
        for button in row:
            data = button.get("callback_data")
            if data is not None and not 1 <= len(str(data).encode()) <= MAX_CALLBACK_DATA_BYTES:
                raise BotApiError(400, "Bad Request: BUTTON_DATA_INVALID")


def _visible(text: str, html: bool) -> str:
    if not html:
        return text
    try:
        return plain_text(text)
    except TelegramHtmlError as err:
        raise BotApiError(400, f"Bad Request: can't parse entities: {err}") from err


def keyboard_of(params: dict[str, Any]) -> list[list[dict[str, Any]]]:
    """The inline keyboard in a call's parameters."""
    markup = params.get("reply_markup")
    if isinstance(markup, dict):
        rows = markup.get("inline_keyboard", [])
        return list(rows) if isinstance(rows, list) else []
    return []


def reply_keyboard_of(params: dict[str, Any]) -> list[str]:
    """The labels of a keyboard under the message field (ReplyKeyboardMarkup) in a call."""
    markup = params.get("reply_markup")
    if isinstance(markup, dict) and isinstance(markup.get("keyboard"), list):
        return [
            str(button["text"] if isinstance(button, dict) else button)
            for row in markup["keyboard"]
            for button in row
        ]
    return []
