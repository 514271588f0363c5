"""This module contains the bot's web server: GET /healthz and the routes a mode adds to it."""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from http import HTTPStatus
from typing import Any

import tornado.web
from telegram.ext import Application
from tornado.httpserver import HTTPServer
from tornado.netutil import bind_sockets

from bot.config import ConfigError

logger = logging.getLogger(__name__)

HEALTH_PATH = "/healthz"
# Telegram's updates are a few kilobytes; anything far larger is not Telegram.
MAX_BODY_BYTES = 1024 * 1024
# Path segments that are credentials (signed media links): never written to the log.
_CREDENTIAL_SEGMENT = re.compile(r"(/media/)[^/]+")

AnyApplication = Application[Any, Any, Any, Any, Any, Any]
Route = tuple[str, type[tornado.web.RequestHandler], dict[str, Any]]


class _Health(tornado.web.RequestHandler):
    """GET /healthz: 200 `ok` while the application runs, 503 while it starts or stops."""

    SUPPORTED_METHODS = ("GET", "HEAD")

    def initialize(self, bot_app: AnyApplication) -> None:
        """Tornado's per-request set-up, with the application whose state is reported."""
        self.bot_app = bot_app

    def get(self) -> None:
        """The health answer."""
        running = self.bot_app.running
        self.set_status(HTTPStatus.OK if running else HTTPStatus.SERVICE_UNAVAILABLE)
        self.set_header("Content-Type", "text/plain; charset=utf-8")
        self.set_header("Cache-Control", "no-store")
        self.finish("ok" if running else "not running")

    def head(self) -> None:
        """The health answer without a body."""
        self.set_status(HTTPStatus.OK if self.bot_app.running else HTTPStatus.SERVICE_UNAVAILABLE)


def loggable_path(path: str) -> str:
    """A request's path as the log may show it: a signed link's token is cut out."""
    return _CREDENTIAL_SEGMENT.sub(r"\1…", path)


def _log_request(handler: tornado.web.RequestHandler) -> None:
    """Tornado's access log, quieter: DEBUG, or WARNING for a 5xx (refusals log themselves)."""
    status = handler.get_status()
    starting = handler.request.path == HEALTH_PATH  # 503 while starting or stopping: expected
    level = logging.DEBUG if status < 500 or starting else logging.WARNING
    request = handler.request
    logger.log(
        level,
        "%s %s %d (%s, %.1f ms)",
        request.method,
        loggable_path(request.path),
        status,
        request.remote_ip,
        1000 * request.request_time(),
    )


class WebServer:
    """A tornado HTTP server with the health endpoint and the routes it is given."""

    def __init__(
        self,
        application: AnyApplication,
        listen: str,
        port: int,
        routes: Sequence[Route],
        *,
        port_setting: str = "WEBHOOK_PORT",
    ) -> None:
        self.listen = listen
        # The setting a port that cannot be listened on is reported under.
        self.port_setting = port_setting
        self.requested_port = port
        app = tornado.web.Application(
            [(re.escape(HEALTH_PATH), _Health, {"bot_app": application}), *routes],
            log_function=_log_request,
        )
        self._server = HTTPServer(app, max_body_size=MAX_BODY_BYTES, xheaders=True)
        self.port: int | None = None

    async def start(self) -> int:
        """Binds and starts serving; returns the port (useful when the configured port is 0).

        A port that cannot be listened on is a ConfigError naming the port's setting
        (WEBHOOK_PORT, which both modes listen by, or METRICS_PORT)."""
        try:
            sockets = bind_sockets(self.requested_port, address=self.listen)
        except OSError as err:
            raise ConfigError(
                f"{self.port_setting}: {self.listen}:{self.requested_port} cannot be listened on "
                f"({err.strerror or err})"
            ) from None
        self._server.add_sockets(sockets)
        self.port = int(sockets[0].getsockname()[1])
        return self.port

    async def stop(self) -> None:
        """Stops accepting connections and closes the open ones."""
        self._server.stop()
        await self._server.close_all_connections()
