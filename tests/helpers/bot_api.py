"""FakeBotApi: PTB's request layer answered in memory by LoopbackTelegram; no network at all."""

from __future__ import annotations

import json
from typing import Any

from telegram.error import NetworkError
from telegram.request import BaseRequest, RequestData

from bot.loopback.telegram import (
    BOT_ID,
    BOT_USERNAME,
    ApiCall,
    BotApiError,
    ChatMessage,
    ConnectionDropped,
    LoopbackTelegram,
)

BotMessage = ChatMessage
FILE_URL_MARK = "/file/bot"
__all__ = ["BOT_ID", "BOT_USERNAME", "ApiCall", "BotMessage", "FakeBotApi"]


class FakeBotApi(BaseRequest):
    """Hands every Bot API call to a LoopbackTelegram; unknown methods fail the test."""

    def __init__(self, telegram: LoopbackTelegram | None = None) -> None:
        self.telegram = telegram or LoopbackTelegram()

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
        if FILE_URL_MARK in url:  # a download of a file getFile named
            content = self.telegram.file_content(url.split(FILE_URL_MARK, 1)[1].split("/", 1)[1])
            return (200, content) if content is not None else (404, b"Not Found")
        api_method = url.rsplit("/", 1)[-1]
        params = json.loads(json.dumps(request_data.parameters)) if request_data else {}
        uploads = {}
        # (Some tests hand in a stand-in for RequestData that carries no files.)
        if request_data is not None and getattr(request_data, "contains_files", False):
            for name, part in request_data.multipart_data.items():
                file_name, content = str(part[0]), part[1]
                uploads[name] = (file_name, content if isinstance(content, bytes) else b"")
        try:
            result = (
                self.telegram.call(api_method, params, uploads)
                if uploads
                else self.telegram.call(api_method, params)
            )
        except BotApiError as err:
            if err.code == 404:
                raise AssertionError(f"the bot called {api_method}, unknown to the fake") from err
            return err.code, json.dumps(err.body()).encode()
        except ConnectionDropped as err:
            # What PTB's HTTPXRequest raises for httpx's RemoteProtocolError.
            raise NetworkError(
                "httpx.RemoteProtocolError: Server disconnected without sending a response."
            ) from err
        return 200, json.dumps({"ok": True, "result": result}).encode()

    # The test-facing view of Telegram's side.

    @property
    def calls(self) -> list[ApiCall]:
        return self.telegram.calls

    @property
    def messages(self) -> dict[tuple[int, int], ChatMessage]:
        return self.telegram.messages

    def fail_next(
        self, method: str, description: str, code: int = 400, retry_after: int | None = None
    ) -> None:
        self.telegram.fail_next(method, description, code, retry_after)

    def calls_to(self, *methods: str) -> list[ApiCall]:
        return [call for call in self.calls if call.method in methods]

    def chat_messages(self, chat_id: int) -> list[ChatMessage]:
        return self.telegram.chat_messages(chat_id)
