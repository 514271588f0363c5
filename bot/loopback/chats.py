"""This module contains the loopback's group chats, forum topics, users' messages and reactions."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from telegram.constants import ReactionEmoji

from bot.loopback.errors import BotApiError

# Telegram's answers, word for word.
NOT_A_FORUM = "Bad Request: the chat is not a forum"
TOPIC_NAME_INVALID = "Bad Request: TOPIC_NAME_INVALID"
THREAD_NOT_FOUND = "Bad Request: message thread not found"
REPLIED_NOT_FOUND = "Bad Request: message to be replied not found"
REACTION_INVALID = "Bad Request: REACTION_INVALID"
REACTIONS_TOO_MANY = "Bad Request: REACTIONS_TOO_MANY"
REACT_NOT_FOUND = "Bad Request: message to react not found"
CHAT_NOT_FOUND = "Bad Request: chat not found"
BLOCKED = "Forbidden: bot was blocked by the user"
KICKED = "Forbidden: bot was kicked from the supergroup chat"
NO_RIGHTS = "Bad Request: not enough rights to send text messages to the chat"
TOPIC_NAME_LIMIT = 128
# The colour Telegram gives a topic created without one (the first of its six).
DEFAULT_ICON_COLOR = 7322096
# Only emoji of this fixed list are reactions (✅ and ✔ are not among them).
ALLOWED_REACTIONS = frozenset(emoji.value for emoji in ReactionEmoji)


@dataclass(frozen=True)
class ForumTopic:
    """A topic of a forum supergroup; its thread id is the id of the message that opened it."""

    chat_id: int
    message_thread_id: int
    name: str
    icon_color: int = DEFAULT_ICON_COLOR

    def as_telegram(self) -> dict[str, Any]:
        """Telegram's ForumTopic object."""
        return {
            "message_thread_id": self.message_thread_id,
            "name": self.name,
            "icon_color": self.icon_color,
        }


@dataclass
class GroupChat:
    """A supergroup the bot is a member of (a forum when `forum`), with its topics."""

    chat_id: int
    title: str
    forum: bool = False
    topics: dict[int, ForumTopic] = field(default_factory=dict)
    # An admin removed the bot (every call answers 403) or took its right to post (400).
    member: bool = True
    may_post: bool = True

    def refusal(self, sending: bool) -> BotApiError | None:
        """How Telegram refuses a call about this chat, as the bot stands in it (None: it
        does not)."""
        if not self.member:
            return BotApiError(403, KICKED)
        if sending and not self.may_post:
            return BotApiError(400, NO_RIGHTS)
        return None

    def as_chat(self) -> dict[str, Any]:
        """The `chat` object of its messages (and getChat's answer)."""
        return {
            "id": self.chat_id,
            "type": "supergroup",
            "title": self.title,
            "is_forum": self.forum,
        }


@dataclass
class UserMessage:
    """A message a user sent in an update, remembered so that replies and reactions can name
    it; `raw` is the message object as the update carried it."""

    chat_id: int
    message_id: int
    text: str
    sender: dict[str, Any]
    thread_id: int | None = None
    reply_to: int | None = None
    raw: dict[str, Any] = field(default_factory=dict)
    # How many Bot API calls had been made when it arrived: where it stands among the bot's
    # messages (its id comes from the test's counter, not from the chat's own sequence).
    after_calls: int = 0


def check_topic_name(name: object) -> str:
    """A topic's name: 1-128 characters."""
    text = str(name or "")
    if not 1 <= len(text) <= TOPIC_NAME_LIMIT:
        raise BotApiError(400, TOPIC_NAME_INVALID)
    return text


def check_reactions(reaction: object) -> list[str]:
    """The emoji of setMessageReaction's `reaction` list (empty: take the reactions away)."""
    if reaction is None:
        return []
    if not isinstance(reaction, list):
        raise BotApiError(400, REACTION_INVALID)
    emoji = []
    for item in reaction:
        if not isinstance(item, dict) or item.get("type") != "emoji":
            # Bots cannot use paid reactions, and custom emoji only where the chat allows them.
            raise BotApiError(400, REACTION_INVALID)
        if str(item.get("emoji")) not in ALLOWED_REACTIONS:
            raise BotApiError(400, REACTION_INVALID)
        emoji.append(str(item["emoji"]))
    if len(emoji) > 1:
        # A bot, like a user without Premium, sets one reaction per message.
        raise BotApiError(400, REACTIONS_TOO_MANY)
    return emoji


def replied_id(params: dict[str, Any]) -> tuple[int | None, int | None, bool]:
    """What a send call replies to: (chat id or None for its own chat, message id or None,
    allow_sending_without_reply); PTB 22 sends `reply_parameters`, the raw API also takes the
    older `reply_to_message_id`."""
    reply = params.get("reply_parameters")
    if isinstance(reply, dict) and reply.get("message_id") is not None:
        chat = reply.get("chat_id")
        return (
            int(chat) if chat is not None else None,
            int(reply["message_id"]),
            truthy(reply.get("allow_sending_without_reply")),
        )
    if params.get("reply_to_message_id") is not None:
        return (
            None,
            int(params["reply_to_message_id"]),
            truthy(params.get("allow_sending_without_reply")),
        )
    return None, None, False


def thread_of(params: dict[str, Any]) -> int | None:
    """The `message_thread_id` of a call, if any (a form post carries it as text)."""
    value = params.get("message_thread_id")
    return int(value) if value not in (None, "") else None


def truthy(value: object) -> bool:
    """A boolean as JSON or a form post carries it."""
    if isinstance(value, str):
        return value.strip().lower() in ("true", "1")
    return bool(value)
