"""This module contains the webhook server: Telegram's updates by POST, /healthz, media links."""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
import re
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from http import HTTPStatus
from urllib.parse import urlsplit

import tornado.web
from telegram import Update
from telegram.ext import ExtBot
from tornado.http1connection import HTTP1Connection

from bot.app import BuiltBot
from bot.config import ConfigError, Settings
from bot.lifecycle import shut_down, start, stop_on_signals, until_telegram_answers
from bot.web.media import media_routes
from bot.web.metrics import METRICS_PATH, metrics_on_public_port, metrics_routes, metrics_server
from bot.web.server import HEALTH_PATH, AnyApplication, Route, WebLimits, WebServer

logger = logging.getLogger(__name__)

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"  # noqa: S105 - a header name
# Telegram's updates are a few kilobytes (a message is at most 4096 characters, a few
# entities and buttons): a body beyond this is not one, answered 413 before it is read.
MAX_UPDATE_BYTES = 1024 * 1024


@dataclass(frozen=True, slots=True)
class WebhookConfig:
    """Where to listen, the public URL Telegram posts to, and the secret it must send."""

    url: str
    secret_token: str
    listen: str = "0.0.0.0"  # noqa: S104 - Telegram must reach the server
    port: int = 8443
    allowed_updates: Sequence[str] | None = None

    @classmethod
    def from_settings(
        cls, settings: Settings, allowed_updates: Sequence[str] | None = None
    ) -> WebhookConfig:
        """WEBHOOK_URL, WEBHOOK_LISTEN, WEBHOOK_PORT and WEBHOOK_SECRET (validated by Settings)."""
        if settings.webhook_url is None:
            raise ConfigError("WEBHOOK_URL: is required when BOT_MODE=webhook")
        if settings.webhook_secret is None:
            raise ConfigError("WEBHOOK_SECRET: is required when BOT_MODE=webhook")
        config = cls(
            url=settings.webhook_url,
            secret_token=settings.webhook_secret.get_secret_value(),
            listen=settings.webhook_listen,
            port=settings.webhook_port,
            allowed_updates=allowed_updates,
        )
        if config.path in (HEALTH_PATH, METRICS_PATH):
            raise ConfigError(f"WEBHOOK_URL: its path must not be {config.path}")
        return config

    @property
    def path(self) -> str:
        """The path of WEBHOOK_URL, where Telegram's POSTs arrive ("/" when it has none)."""
        return urlsplit(self.url).path.rstrip("/") or "/"


@tornado.web.stream_request_body
class _TelegramUpdates(tornado.web.RequestHandler):
    """POST on the webhook path: checks the secret, then queues the update for the application.

    The secret and the announced size are checked as soon as the headers are in, before any
    of the body is read: a client without the secret is answered 403 and its connection closed
    at once, whatever it goes on sending, and only Telegram's updates are ever buffered (up to
    MAX_UPDATE_BYTES, within WEB_BODY_TIMEOUT_SECONDS)."""

    SUPPORTED_METHODS = ("POST",)

    def initialize(self, bot_app: AnyApplication, secret_token: bytes) -> None:
        """Tornado's per-request set-up, with the webhook server's shared objects."""
        self.bot_app = bot_app
        self.secret_token = secret_token
        self._chunks: list[bytes] = []

    def prepare(self) -> None:
        """403 without the right secret, 413 for a body larger than an update can be."""
        refusal = self._refusal()
        connection = self.request.connection
        if isinstance(connection, HTTP1Connection):
            # A refused request's connection is closed once it is answered, its body unread
            # (tornado is not to report that body as too long besides). An update may be
            # above the server's limit for the other routes; a chunked body beyond
            # MAX_UPDATE_BYTES is cut off by tornado (400, the connection closed).
            connection.set_max_body_size(sys.maxsize if refusal else MAX_UPDATE_BYTES)
        if refusal is not None:
            self._answer(*refusal)

    def _refusal(self) -> tuple[HTTPStatus, str] | None:
        given = self.request.headers.get(SECRET_HEADER, "").encode("utf-8", "replace")
        if not hmac.compare_digest(given, self.secret_token):
            logger.warning(
                "Webhook request from %s refused: %s secret token",
                self.request.remote_ip,
                "wrong" if given else "no",
            )
            return HTTPStatus.FORBIDDEN, "forbidden"
        announced = self.request.headers.get("Content-Length", "")
        if announced.isdigit() and int(announced) > MAX_UPDATE_BYTES:
            logger.warning("Webhook request refused: a body of %s bytes", announced)
            return HTTPStatus.REQUEST_ENTITY_TOO_LARGE, "too large"
        return None

    def data_received(self, chunk: bytes) -> None:
        """A piece of the update's body (the whole is at most MAX_UPDATE_BYTES)."""
        self._chunks.append(chunk)

    async def post(self) -> None:
        """One update from Telegram; 400 when it is not one."""
        try:
            data = json.loads(b"".join(self._chunks))
            update = Update.de_json(data, self.bot_app.bot)
        except Exception as err:  # a malformed body must not take the server down
            logger.warning("Webhook request was not a Telegram update (%s)", type(err).__name__)
            self._answer(HTTPStatus.BAD_REQUEST, "not an update")
            return
        logger.debug("Update %s received on the webhook", update.update_id)
        bot = self.bot_app.bot
        if isinstance(bot, ExtBot):
            bot.insert_callback_data(update)  # only does something with arbitrary callback data
        await self.bot_app.update_queue.put(update)
        self._answer(HTTPStatus.OK, "ok")

    def _answer(self, status: HTTPStatus, text: str) -> None:
        self.set_status(status)
        self.set_header("Content-Type", "text/plain; charset=utf-8")
        self.finish(text)


def webhook_routes(built: BuiltBot, config: WebhookConfig) -> list[Route]:
    """Telegram's updates on the webhook path, the media links when they are served, and
    /metrics only when METRICS_PORT says so (metrics_on_public_port)."""
    secret = config.secret_token.encode()
    routes: list[Route] = [
        (
            _path_pattern(config.path),
            _TelegramUpdates,
            {"bot_app": built.application, "secret_token": secret},
        )
    ]
    services = built.services
    settings = services.settings
    links = media_routes(built)
    metrics = metrics_routes(built.metrics) if metrics_on_public_port(settings) else []
    return routes + links + metrics


def _path_pattern(path: str) -> str:
    """The route of the webhook path, with or without a trailing slash."""
    return re.escape(path.rstrip("/")) + "/?" if path != "/" else "/"


async def serve(
    built: BuiltBot,
    config: WebhookConfig,
    *,
    stop: asyncio.Event | None = None,
    on_ready: Callable[[int], object] | None = None,
) -> None:
    """Runs the bot behind the webhook server until `stop` is set (or SIGINT/SIGTERM).

    The port is bound first (a busy one is one line, exit 2); then the lifecycle is PTB's own:
    initialize, post_init, start, the webhook registered with the secret token (both retried
    while Telegram cannot be reached); at the end stop, post_stop, shutdown, post_shutdown.
    """
    stop = stop if stop is not None else stop_on_signals()
    application = built.application
    settings = built.services.settings
    server = WebServer(
        application,
        config.listen,
        config.port,
        webhook_routes(built, config),
        limits=WebLimits.from_settings(settings),
    )
    private = metrics_server(built)
    try:
        port = await server.start()
        logger.info(
            "Webhook server listening on %s:%d (updates on %s, health on %s%s)",
            config.listen,
            port,
            config.path,
            HEALTH_PATH,
            f", {METRICS_PATH}" if metrics_on_public_port(settings) else "",
        )
        if private is not None:
            metrics_port = await private.start()
            logger.info("Serving %s on %s:%d", METRICS_PATH, private.listen, metrics_port)
        if not await start(built, stop):
            return
        if application.post_init is not None:
            await application.post_init(application)
        await application.start()

        async def register() -> None:
            await application.bot.set_webhook(
                url=config.url,
                secret_token=config.secret_token,
                allowed_updates=config.allowed_updates,
            )

        base_url = settings.telegram_api_base_url
        if not await until_telegram_answers("to register the webhook", register, stop, base_url):
            return
        logger.info("Webhook registered; serving until stopped")
        if on_ready is not None:
            on_ready(port)
        await stop.wait()
        logger.info("Stopping the webhook server")
    finally:
        await server.stop()
        if private is not None:
            await private.stop()
        await shut_down(built)


def run_webhook(built: BuiltBot, config: WebhookConfig) -> None:
    """Serves the bot in webhook mode until SIGINT or SIGTERM."""
    asyncio.run(serve(built, config))
