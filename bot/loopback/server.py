"""This module contains LoopbackBotApiServer: LoopbackTelegram served over HTTP on 127.0.0.1.

`python -m bot` pointed at it (TELEGRAM_API_BASE_URL) runs its real networking path, polling
included, with no Telegram anywhere: the console and the end-to-end tests use it.
"""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

import tornado.httpserver
import tornado.netutil
import tornado.web

from bot.loopback.telegram import BotApiError, ConnectionDropped, LoopbackTelegram

logger = logging.getLogger(__name__)

LOOPBACK_HOST = "127.0.0.1"


class _MethodHandler(tornado.web.RequestHandler):
    """POST/GET /bot<token>/<method>, answered as Telegram answers."""

    def initialize(self, telegram: LoopbackTelegram, latency_seconds: float = 0.0) -> None:
        self.telegram = telegram
        self.latency_seconds = latency_seconds
        self.poll: asyncio.Task[Any] | None = None

    def on_connection_close(self) -> None:
        """The client gave up on its long poll (it stopped): the poll ends with it, as nobody
        would read its answer."""
        if self.poll is not None:
            self.poll.cancel()

    async def post(self, token: str, method: str) -> None:
        params = self._params()
        if self.latency_seconds > 0 and method != "getUpdates":
            await asyncio.sleep(self.latency_seconds)  # a slow Telegram (benchmarks)
        try:
            if method == "getUpdates":
                offset = int(params.get("offset") or 0)
                wait = float(params.get("timeout") or 0)
                self.poll = asyncio.ensure_future(self.telegram.get_updates(offset, wait))
                try:
                    result: Any = await self.poll
                except asyncio.CancelledError:
                    return
            else:
                uploads = {
                    name: (files[0].filename, files[0].body)
                    for name, files in self.request.files.items()
                    if files
                }
                # (Only with files: subclasses that answer plain calls need not know of them.)
                result = (
                    self.telegram.call(method, params, uploads)
                    if uploads
                    else self.telegram.call(method, params)
                )
        except BotApiError as err:
            self.set_status(err.code)
            self._reply(err.body())
            return
        except ConnectionDropped:
            # Closed without a word, as a broken proxy or network would.
            stream = getattr(self.request.connection, "stream", None)
            if stream is not None:
                stream.close()
            return
        self._reply({"ok": True, "result": result})

    get = post

    def _params(self) -> dict[str, Any]:
        content_type = self.request.headers.get("Content-Type", "")
        if content_type.startswith("application/json") and self.request.body:
            loaded = json.loads(self.request.body)
            return loaded if isinstance(loaded, dict) else {}
        params: dict[str, Any] = {}
        for name in self.request.arguments:
            value = self.get_argument(name)
            # PTB sends nested values (keyboards, lists) JSON-encoded and plain values as text.
            params[name] = json.loads(value) if value[:1] in "{[" else value
        return params

    def _reply(self, payload: dict[str, Any]) -> None:
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps(payload))

    def log_exception(self, *args: Any) -> None:
        logger.exception("The loopback Bot API failed")


class _FileHandler(tornado.web.RequestHandler):
    """GET /file/bot<token>/<path>: a file's bytes, as Telegram serves what getFile named."""

    def initialize(self, telegram: LoopbackTelegram) -> None:
        self.telegram = telegram

    def get(self, token: str, path: str) -> None:
        content = self.telegram.file_content(path)
        if content is None:
            self.set_status(404)
            self.finish("Not Found")
            return
        self.set_header("Content-Type", "application/octet-stream")
        self.finish(content)


class LoopbackBotApiServer:
    """Serves a LoopbackTelegram on a free port of 127.0.0.1.

    `latency_seconds` delays the answer to every method but getUpdates, as a distant Telegram
    would (the benchmark's slow-network phase).
    """

    def __init__(
        self, telegram: LoopbackTelegram, port: int = 0, latency_seconds: float = 0.0
    ) -> None:
        self.telegram = telegram
        self.latency_seconds = latency_seconds
        self._requested_port = port
        self._server: tornado.httpserver.HTTPServer | None = None
        self.port = 0

    @property
    def base_url(self) -> str:
        """The value for TELEGRAM_API_BASE_URL."""
        return f"http://{LOOPBACK_HOST}:{self.port}/bot"

    async def start(self) -> None:
        """Binds and starts serving (on the running event loop)."""
        app = tornado.web.Application(
            [
                (
                    r"/bot(?P<token>[^/]+)/(?P<method>\w+)",
                    _MethodHandler,
                    {"telegram": self.telegram, "latency_seconds": self.latency_seconds},
                ),
                (
                    r"/file/bot(?P<token>[^/]+)/(?P<path>.+)",
                    _FileHandler,
                    {"telegram": self.telegram},
                ),
            ]
        )
        sockets = tornado.netutil.bind_sockets(self._requested_port, LOOPBACK_HOST)
        self.port = sockets[0].getsockname()[1]
        self._server = tornado.httpserver.HTTPServer(app)
        self._server.add_sockets(sockets)

    async def stop(self) -> None:
        """Stops serving."""
        if self._server is not None:
            self.telegram.end_polls()
            await asyncio.sleep(0.05)  # let the answered poll be written out
            self._server.stop()
            await self._server.close_all_connections()
            self._server = None
