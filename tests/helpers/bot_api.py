"""A recording stand-in for the Telegram Bot API: answers like Telegram, never touches a network."""

from __future__ import annotations

import itertools
import json
import time
from dataclasses import dataclass, field
from typing import Any

from telegram.request import BaseRequest, RequestData

BOT_ID = 7000001
BOT_USERNAME = "order_complaints_test_bot"


@dataclass
class BotMessage:
    """A message as the bot left it (after any edits)."""

    chat_id: int
    message_id: int
    text: str = ""
    photo: str = ""
    keyboard: list[list[dict[str, Any]]] = field(default_factory=list)
    deleted: bool = False

    @property
    def buttons(self) -> list[str]:
        """The labels of its inline buttons, row by row."""
        return [button["text"] for row in self.keyboard for button in row]

    def callback_data(self, label: str) -> str:
        """The callback data behind the button with this label."""
        for row in self.keyboard:
            for button in row:
                if button["text"] == label:
                    return str(button["callback_data"])
        raise AssertionError(f"no button {label!r} in {self.buttons}; text: {self.text!r}")


@dataclass
class ApiCall:
    """One Bot API request the bot made."""

    method: str
    params: dict[str, Any]

    @property
    def chat_id(self) -> int | None:
        value = self.params.get("chat_id")
        return int(value) if value is not None else None

    @property
    def text(self) -> str:
        """The text or caption sent (for answerCallbackQuery, the toast)."""
        return str(self.params.get("text") or self.params.get("caption") or "")


class FakeBotApi(BaseRequest):
    """Answers the Bot API methods the bot uses, and records every call.

    Unknown methods fail the test: they would have reached Telegram.
    """

    def __init__(self) -> None:
        self.calls: list[ApiCall] = []
        self.messages: dict[tuple[int, int], BotMessage] = {}
        self._message_ids = itertools.count(1000)
        self._failures: dict[str, list[tuple[int, str]]] = {}

    # -- BaseRequest -----------------------------------------------------------------------

    @property
    def read_timeout(self) -> float | None:
        return 1.0

    async def initialize(self) -> None:
        return None

    async def shutdown(self) -> None:
        return None

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: Any = None,
        write_timeout: Any = None,
        connect_timeout: Any = None,
        pool_timeout: Any = None,
    ) -> tuple[int, bytes]:
        api_method = url.rsplit("/", 1)[-1]
        params = json.loads(json.dumps(request_data.parameters)) if request_data else {}
        self.calls.append(ApiCall(api_method, params))
        failures = self._failures.get(api_method)
        if failures:
            code, description = failures.pop(0)
            return code, _encode({"ok": False, "error_code": code, "description": description})
        handler = getattr(self, f"_api_{api_method}", None)
        if handler is None:
            raise AssertionError(f"the bot called {api_method}, which the fake Bot API lacks")
        return 200, _encode({"ok": True, "result": handler(params)})

    # -- test controls ---------------------------------------------------------------------

    def fail_next(self, method: str, description: str, code: int = 400) -> None:
        """The next call of `method` answers with a Telegram error."""
        self._failures.setdefault(method, []).append((code, description))

    def calls_to(self, *methods: str) -> list[ApiCall]:
        """The calls of these methods, in order."""
        return [call for call in self.calls if call.method in methods]

    def chat_messages(self, chat_id: int) -> list[BotMessage]:
        """Every message the bot has in a chat, oldest first (deleted ones left out)."""
        return [
            m for (chat, _), m in sorted(self.messages.items()) if chat == chat_id and not m.deleted
        ]

    # -- the methods -----------------------------------------------------------------------

    def _api_getMe(self, params: dict[str, Any]) -> dict[str, Any]:
        return {
            "id": BOT_ID,
            "is_bot": True,
            "first_name": "Order complaints",
            "username": BOT_USERNAME,
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
        }

    def _api_sendMessage(self, params: dict[str, Any]) -> dict[str, Any]:
        return self._store(params, text=params["text"])

    def _api_sendPhoto(self, params: dict[str, Any]) -> dict[str, Any]:
        return self._store(params, text=params.get("caption", ""), photo=str(params["photo"]))

    def _api_editMessageText(self, params: dict[str, Any]) -> dict[str, Any]:
        message = self._existing(params)
        message.text = params["text"]
        message.keyboard = _keyboard(params)
        return self._as_telegram(message)

    def _api_editMessageReplyMarkup(self, params: dict[str, Any]) -> dict[str, Any]:
        message = self._existing(params)
        message.keyboard = _keyboard(params)
        return self._as_telegram(message)

    def _api_deleteMessage(self, params: dict[str, Any]) -> bool:
        self._existing(params).deleted = True
        return True

    def _api_answerCallbackQuery(self, params: dict[str, Any]) -> bool:
        return True

    def _api_setMyCommands(self, params: dict[str, Any]) -> bool:
        return True

    def _api_deleteWebhook(self, params: dict[str, Any]) -> bool:
        return True

    def _api_getUpdates(self, params: dict[str, Any]) -> list[Any]:
        return []

    # -- helpers ---------------------------------------------------------------------------

    def _store(self, params: dict[str, Any], *, text: str, photo: str = "") -> dict[str, Any]:
        chat_id = int(params["chat_id"])
        message = BotMessage(chat_id, next(self._message_ids), text, photo, _keyboard(params))
        self.messages[(chat_id, message.message_id)] = message
        return self._as_telegram(message)

    def _existing(self, params: dict[str, Any]) -> BotMessage:
        key = (int(params["chat_id"]), int(params["message_id"]))
        if key not in self.messages or self.messages[key].deleted:
            raise AssertionError(f"the bot edited message {key}, which it never sent")
        return self.messages[key]

    @staticmethod
    def _as_telegram(message: BotMessage) -> dict[str, Any]:
        result: dict[str, Any] = {
            "message_id": message.message_id,
            "date": int(time.time()),
            "chat": {"id": message.chat_id, "type": "private"},
            "from": {"id": BOT_ID, "is_bot": True, "first_name": "Order complaints"},
        }
        if message.photo:
            result["photo"] = [{"file_id": "p", "file_unique_id": "p", "width": 1, "height": 1}]
            result["caption"] = message.text
        else:
            result["text"] = message.text
        if message.keyboard:
            result["reply_markup"] = {"inline_keyboard": message.keyboard}
        return result


def _keyboard(params: dict[str, Any]) -> list[list[dict[str, Any]]]:
    markup = params.get("reply_markup")
    if isinstance(markup, str):
        markup = json.loads(markup)
    return list(markup.get("inline_keyboard", [])) if isinstance(markup, dict) else []


def _encode(payload: dict[str, Any]) -> bytes:
    return json.dumps(payload).encode()
