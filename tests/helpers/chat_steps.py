"""Transcript steps about the operator chat, replies, reactions and Telegram refusing calls.

Everything here is Telegram-level: it makes updates and reads the Bot API calls the bot made;
it knows nothing of the bot's internals.
"""

from __future__ import annotations

import html
import re
from typing import Any

from bot.loopback.chats import GroupChat, UserMessage, replied_id, thread_of
from bot.loopback.customer import OperatorUpdates, Replied, make_user
from bot.loopback.telegram import ApiCall, ChatMessage, LoopbackTelegram

OPERATOR_ID = 900001
# The fields each new step may have; anything else is a typo the loader names.
STEP_FIELDS: dict[str, set[str]] = {
    "operator": {"text", "command", "send", "caption", "reply_to", "topic", "name", "mime"},
    "operator_sees": {
        "text_contains",
        "text_not_contains",
        "reply_to",
        "in_topic_of",
        "topic",
        "no_topic",
        "photo",
        "kind",
        "buttons",
    },
    "operator_reaction": {"on", "emoji"},
    "telegram_down": {"methods", "code", "times", "description", "retry_after"},
    "wait": {"for", "every"},
    "user": {"text", "reply_to"},
    "send": {"kind", "reply_to", "caption", "name", "mime", "size", "own"},
}
OPERATOR_CHAT_FIELDS = {"forum", "title", "operator"}
# What the operator chat is shown: posts, files and albums, and edits of posts.
OPERATOR_SHOWN = {
    "sendMessage",
    "editMessageText",
    "sendPhoto",
    "sendVideo",
    "sendDocument",
    "sendMediaGroup",
}
# Telegram's words for the codes a telegram_down step may ask for.
DOWN_DESCRIPTIONS = {
    400: "Bad Request: message is not modified",
    403: "Forbidden: bot was blocked by the user",
    429: "Too Many Requests: retry after {retry_after}",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
}


class StepError(AssertionError):
    """A step did not hold, or names something that is not there (the caller adds where)."""


def normalise(value: object) -> object:
    """YAML 1.1 reads the key `on` as true: `{on: last}` means the field `on`."""
    if isinstance(value, dict) and True in value:
        return {("on" if key is True else key): item for key, item in value.items()}
    return value


def check_fields(kind: str, value: object) -> None:
    """Refuses unknown fields of a step (a misspelt field would otherwise be ignored)."""
    allowed = STEP_FIELDS.get(kind)
    if allowed is None or not isinstance(value, dict):
        return
    if kind == "user" and "text" not in value:
        raise StepError("a user step written as a mapping needs text")
    unknown = sorted(set(value) - allowed)
    if unknown:
        raise StepError(f"unknown field(s) {unknown}; {kind} takes {sorted(allowed)}")


def plain(text: str) -> str:
    """What a reader sees: HTML tags removed, entities decoded."""
    return html.unescape(re.sub(r"<[^>]+>", "", text))


def find_message(
    telegram: LoopbackTelegram,
    chat_id: int,
    fragment: str,
    *,
    before: ApiCall | None = None,
    users_first: bool = False,
) -> ChatMessage | UserMessage:
    """The latest message in the chat whose text contains `fragment`: the bot's (else a
    user's, or the other way round with `users_first`); `before` leaves out what came after
    that call of the bot's: its own later messages, and users' messages it had not seen yet
    (users' message ids come from another counter than the bot's, so ids cannot tell)."""
    bots: list[ChatMessage | UserMessage] = list(telegram.chat_messages(chat_id))
    users: list[ChatMessage | UserMessage] = list(telegram.user_messages(chat_id))
    for group in (users, bots) if users_first else (bots, users):
        for message in reversed(group):
            if before is not None and not _came_before(telegram, message, before):
                continue
            if fragment in plain(message.text):
                return message
    shown = [plain(m.text)[:50] for m in [*bots, *users][-5:]]
    raise StepError(f"no message containing {fragment!r} in chat {chat_id}; the last were {shown}")


def _came_before(
    telegram: LoopbackTelegram, message: ChatMessage | UserMessage, call: ApiCall
) -> bool:
    """Whether the message was in the chat before the bot made `call`."""
    if isinstance(message, UserMessage):
        index = next(i for i, made in enumerate(telegram.calls) if made is call)
        return message.after_calls <= index
    return not call.message_ids or message.message_id < min(call.message_ids)


def prepare_group(telegram: LoopbackTelegram, chat_id: int, options: dict[str, Any]) -> GroupChat:
    """Makes the operator chat a supergroup (a forum with `forum: true`), before the bot starts:
    a bot may ask getChat about it at start."""
    forum = bool(options.get("forum", False))
    return telegram.add_group(chat_id, str(options.get("title", "Complaint desk")), forum=forum)


def thread_of_message(message: ChatMessage | UserMessage) -> int | None:
    """The forum topic a message is in."""
    return message.thread_id


class CallCursor:
    """A cursor over the Bot API calls the bot made that a chat's people saw."""

    telegram: LoopbackTelegram
    cursor: int

    def _shown(self, call: ApiCall) -> bool:
        raise NotImplementedError

    def take(self) -> ApiCall | None:
        """The next call that was shown, if any."""
        while self.cursor < len(self.telegram.calls):
            call = self.telegram.calls[self.cursor]
            self.cursor += 1
            if self._shown(call):
                return call
        return None


class OperatorChat(CallCursor):
    """The operator chat of a transcript: a supergroup (a forum if asked), one operator in it,
    and a cursor over what the bot posted there."""

    def __init__(self, telegram: LoopbackTelegram, chat_id: int, options: dict[str, Any]) -> None:
        self.telegram = telegram
        self.chat_id = chat_id
        group = telegram.groups.get(chat_id) or prepare_group(telegram, chat_id, options)
        forum, title = group.forum, group.title
        person = dict(options.get("operator") or {})
        user = make_user(int(person.pop("id", OPERATOR_ID)), **({"first_name": "Olga"} | person))
        self.updates = OperatorUpdates(chat_id, user, title=title, forum=forum)
        # From the bot's start: what it posts there while starting counts too.
        self.cursor = 0

    # -- the operator acts ---------------------------------------------------------------

    def action(self, value: object) -> dict[str, Any]:
        """The update of an `operator:` step."""
        options = dict(value) if isinstance(value, dict) else {"text": str(value)}
        reply_to: Replied | None = None
        thread: int | None = None
        if options.get("reply_to") is not None:
            replied = find_message(self.telegram, self.chat_id, str(options["reply_to"]))
            reply_to = replied
            thread = thread_of_message(replied)  # a reply in a topic stays in that topic
        if options.get("topic") is not None:
            thread = self.topic_id(str(options["topic"]))
        if "send" in options:
            kind = str(options["send"])
            stored = self.telegram.add_file(f"{kind} an operator sent".encode(), kind)
            return self.updates.file(
                stored,
                kind,
                caption=options.get("caption"),
                name=options.get("name"),
                mime=options.get("mime"),
                reply_to=reply_to,
                thread_id=self._topic(thread),
            )
        text = options.get("command", options.get("text"))
        if text is None:
            raise StepError("an operator step needs text, command or send")
        if "command" in options and not str(text).startswith("/"):
            raise StepError(f"a command starts with '/': {text!r}")
        return self.updates.text(str(text), reply_to=reply_to, thread_id=self._topic(thread))

    def _topic(self, thread: int | None) -> Any:
        if thread is None:
            return None
        group = self.telegram.groups[self.chat_id]
        return group.topics.get(thread, thread)

    def topic_id(self, fragment: str) -> int:
        """The thread id of the newest topic whose name contains `fragment`."""
        for topic in reversed(self.telegram.topics(self.chat_id)):
            if fragment in topic.name:
                return topic.message_thread_id
        names = [t.name for t in self.telegram.topics(self.chat_id)]
        raise StepError(f"no topic named like {fragment!r}; the topics are {names}")

    # -- what the bot posted -------------------------------------------------------------

    def pending(self) -> bool:
        return any(self._shown(c) for c in self.telegram.calls[self.cursor :])

    def _shown(self, call: ApiCall) -> bool:
        """A post in the operator chat that Telegram accepted (one it refused was never seen)."""
        return call.method in OPERATOR_SHOWN and call.chat_id == self.chat_id and not call.refused

    def skip_all(self) -> None:
        self.cursor = len(self.telegram.calls)

    def check(self, expected: dict[str, Any], call: ApiCall | None) -> None:
        """Raises StepError unless the post fits the `operator_sees:` step."""
        if call is None:
            raise StepError("the bot posted nothing (more) in the operator chat")
        said = describe_post(call)
        text = plain(post_text(call))
        for fragment in _listed(expected.get("text_contains")):
            if fragment not in text:
                raise StepError(f"expected a post containing {fragment!r}; the bot posted {said}")
        for fragment in _listed(expected.get("text_not_contains")):
            if fragment in text:
                raise StepError(f"{fragment!r} should not be there; the bot posted {said}")
        before = call
        thread = thread_of(call.params)
        if "reply_to" in expected:
            wanted = find_message(
                self.telegram, self.chat_id, str(expected["reply_to"]), before=before
            )
            if replied_id(call.params)[1] != wanted.message_id:
                raise StepError(
                    f"expected a reply to {plain(wanted.text)[:60]!r}; the bot posted {said}"
                )
        if "in_topic_of" in expected:
            wanted = find_message(
                self.telegram, self.chat_id, str(expected["in_topic_of"]), before=before
            )
            if wanted.thread_id is None or thread != wanted.thread_id:
                raise StepError(
                    f"expected it in the topic of {plain(wanted.text)[:60]!r} "
                    f"(thread {wanted.thread_id}); the bot posted {said}"
                )
        if "topic" in expected and thread != self.topic_id(str(expected["topic"])):
            raise StepError(f"expected it in the topic {expected['topic']!r}; got {said}")
        if expected.get("no_topic") and thread is not None:
            raise StepError(f"expected it outside any topic; got {said}")
        kind = expected.get("kind", "photo" if expected.get("photo") else None)
        if kind is not None and call.method != _SEND_KINDS.get(str(kind), str(kind)):
            raise StepError(f"expected a {kind}; the bot posted {said}")
        if "buttons" in expected and call.buttons != list(expected["buttons"]):
            raise StepError(f"expected buttons {expected['buttons']}; the bot posted {said}")

    def reaction(self, expected: dict[str, Any]) -> str | None:
        """None when the reactions of the named message are as expected, else what is wrong."""
        on = expected.get("on", "last")
        if on == "last":
            if not self.updates.sent:
                raise StepError("the operator has sent nothing to react to")
            message_id = self.updates.sent[-1]
        else:
            message_id = find_message(
                self.telegram, self.chat_id, str(on), users_first=True
            ).message_id
        emoji = expected.get("emoji")
        wanted = [] if emoji in (None, "none", []) else _listed(emoji)
        actual = self.telegram.reactions_of(self.chat_id, message_id)
        if actual != wanted:
            return (
                f"expected the reaction {wanted or 'none'} on message {message_id}; "
                f"it has {actual or 'none'}"
            )
        return None


_SEND_KINDS = {
    "photo": "sendPhoto",
    "video": "sendVideo",
    "document": "sendDocument",
    "album": "sendMediaGroup",
    "text": "sendMessage",
}


def post_text(call: ApiCall) -> str:
    """A post's text or caption (an album's first caption)."""
    media = call.params.get("media")
    if call.method == "sendMediaGroup" and isinstance(media, list) and media:
        return str(media[0].get("caption") or "")
    return call.text


def describe_post(call: ApiCall | None) -> str:
    """A post as a failing step names it."""
    if call is None:
        return "nothing"
    thread = thread_of(call.params)
    where = f" in topic {thread}" if thread is not None else ""
    reply = replied_id(call.params)[1]
    replying = f" replying to {reply}" if reply is not None else ""
    return f"{call.method} {plain(post_text(call))[:120]!r}{where}{replying}"


def telegram_down(telegram: LoopbackTelegram, value: dict[str, Any]) -> None:
    """A `telegram_down:` step: the next `times` calls of each method fail with `code`."""
    methods = value.get("methods")
    if not isinstance(methods, list) or not methods:
        raise StepError("telegram_down needs methods: [sendMessage, ...]")
    code = int(value.get("code", 502))
    retry_after = int(value.get("retry_after", 5)) if code == 429 else None
    template = str(value.get("description", DOWN_DESCRIPTIONS.get(code, "Bad Gateway")))
    description = template.format(retry_after=retry_after)
    for method in methods:
        for _ in range(int(value.get("times", 1))):
            telegram.fail_next(str(method), description, code, retry_after)


def _listed(value: object) -> list[str]:
    if value is None:
        return []
    return [str(v) for v in value] if isinstance(value, list) else [str(value)]
