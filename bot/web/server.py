"""This module contains the bot's web server: GET /healthz and the routes a mode adds to it."""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Sequence
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any

import tornado.web
from telegram.ext import Application
from tornado.httpserver import HTTPServer
from tornado.iostream import IOStream
from tornado.netutil import bind_sockets

from bot.config import ConfigError, Settings

logger = logging.getLogger(__name__)

HEALTH_PATH = "/healthz"
# No route reads a request body but the webhook's, which raises the limit for itself
# (bot/web/webhook.py): a body sent to any other route is refused before it is buffered.
MAX_BODY_BYTES = 16 * 1024
# A connection's read buffer: headers (tornado's 64 KiB limit) and one chunk of a body being
# streamed; nothing a client sends is ever held whole beyond that but the webhook's update.
MAX_BUFFER_BYTES = 256 * 1024
# Refused connections are logged at most this often (a flood would otherwise flood the log).
REFUSED_LOG_SECONDS = 60.0
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


@dataclass(frozen=True, slots=True)
class WebLimits:
    """What one client may hold of the server: WEB_MAX_CONNECTIONS, WEB_IDLE_TIMEOUT_SECONDS,
    WEB_BODY_TIMEOUT_SECONDS."""

    max_connections: int = 200
    # A connection's request headers must arrive within this, and an idle keep-alive
    # connection is closed after it.
    idle_timeout_seconds: float = 60.0
    # A request's body must arrive within this (and each chunk of a file sent, see media.py).
    body_timeout_seconds: float = 10.0

    @classmethod
    def from_settings(cls, settings: Settings) -> WebLimits:
        """The limits the settings give."""
        return cls(
            max_connections=settings.web_max_connections,
            idle_timeout_seconds=settings.web_idle_timeout_seconds,
            body_timeout_seconds=settings.web_body_timeout_seconds,
        )


class _CappedHTTPServer(HTTPServer):
    """Tornado's HTTP server, closing at once each connection beyond `max_connections`: a
    flood of clients costs a file descriptor each for an instant, never a buffer or a task."""

    max_connections = 200  # set from WebLimits
    _refused = 0
    _refused_logged_at = 0.0

    def handle_stream(self, stream: IOStream, address: tuple[Any, ...]) -> None:
        """Serves the connection, or closes it when the server has its fill of them."""
        if len(self._connections) >= self.max_connections:
            stream.close()
            self._refused += 1
            now = time.monotonic()
            if now - self._refused_logged_at >= REFUSED_LOG_SECONDS:
                logger.warning(
                    "Web server: %d connection(s) closed at once, WEB_MAX_CONNECTIONS (%d) "
                    "being open",
                    self._refused,
                    self.max_connections,
                )
                self._refused, self._refused_logged_at = 0, now
            return
        super().handle_stream(stream, address)


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
        limits: WebLimits | None = None,
    ) -> None:
        self.listen = listen
        # The setting a port that cannot be listened on is reported under.
        self.port_setting = port_setting
        self.requested_port = port
        self.limits = limits or WebLimits()
        app = tornado.web.Application(
            [(re.escape(HEALTH_PATH), _Health, {"bot_app": application}), *routes],
            log_function=_log_request,
        )
        self._server = _CappedHTTPServer(
            app,
            xheaders=True,
            max_body_size=MAX_BODY_BYTES,
            max_buffer_size=MAX_BUFFER_BYTES,
            idle_connection_timeout=self.limits.idle_timeout_seconds,
            body_timeout=self.limits.body_timeout_seconds,
        )
        self._server.max_connections = self.limits.max_connections
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
