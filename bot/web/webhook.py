"""This module contains the webhook server: Telegram's updates by POST, /healthz, /metrics."""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from http import HTTPStatus
from urllib.parse import urlsplit

import tornado.web
from telegram import Update
from telegram.ext import ExtBot

from bot.app import BuiltBot
from bot.config import ConfigError, Settings
from bot.lifecycle import shut_down, start, stop_on_signals, until_telegram_answers
from bot.storage.erasures import Erasures
from bot.web.media import media_routes
from bot.web.metrics import METRICS_PATH, metrics_routes
from bot.web.server import HEALTH_PATH, AnyApplication, Route, WebServer

logger = logging.getLogger(__name__)

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"  # noqa: S105 - a header name


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


class _TelegramUpdates(tornado.web.RequestHandler):
    """POST on the webhook path: checks the secret, then queues the update for the application."""

    SUPPORTED_METHODS = ("POST",)

    def initialize(self, bot_app: AnyApplication, secret_token: bytes) -> None:
        """Tornado's per-request set-up, with the webhook server's shared objects."""
        self.bot_app = bot_app
        self.secret_token = secret_token

    async def post(self) -> None:
        """One update from Telegram; 403 without the right secret, 400 when it is not one."""
        given = self.request.headers.get(SECRET_HEADER, "").encode("utf-8", "replace")
        if not hmac.compare_digest(given, self.secret_token):
            logger.warning(
                "Webhook request from %s refused: %s secret token",
                self.request.remote_ip,
                "wrong" if given else "no",
            )
            self._answer(HTTPStatus.FORBIDDEN, "forbidden")
            return
        try:
            data = json.loads(self.request.body)
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
    /metrics."""
    secret = config.secret_token.encode()
    routes: list[Route] = [
        (
            _path_pattern(config.path),
            _TelegramUpdates,
            {"bot_app": built.application, "secret_token": secret},
        )
    ]
    services = built.services
    links = media_routes(
        built.application.bot,
        services.media_links,
        services.settings.media_cache_dir,
        Erasures(services.database),
    )
    return routes + links + metrics_routes(built.metrics)


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
    server = WebServer(application, config.listen, config.port, webhook_routes(built, config))
    try:
        port = await server.start()
        logger.info(
            "Webhook server listening on %s:%d (updates on %s, health on %s)",
            config.listen,
            port,
            config.path,
            HEALTH_PATH,
        )
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

        base_url = built.services.settings.telegram_api_base_url
        if not await until_telegram_answers("to register the webhook", register, stop, base_url):
            return
        logger.info("Webhook registered; serving until stopped")
        if on_ready is not None:
            on_ready(port)
        await stop.wait()
        logger.info("Stopping the webhook server")
    finally:
        await server.stop()
        await shut_down(built)


def run_webhook(built: BuiltBot, config: WebhookConfig) -> None:
    """Serves the bot in webhook mode until SIGINT or SIGTERM."""
    asyncio.run(serve(built, config))
