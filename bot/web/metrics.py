"""This module contains GET /metrics: Prometheus' text exposition of the bot's metrics."""

from __future__ import annotations

import re

import tornado.web
from prometheus_client.exposition import CONTENT_TYPE_LATEST

from bot.app import BuiltBot
from bot.config import Settings
from bot.metrics import Metrics
from bot.web.server import Route, WebLimits, WebServer

METRICS_PATH = "/metrics"


class _Metrics(tornado.web.RequestHandler):
    """GET /metrics: every metric, the database gauges read afresh (at most every few s)."""

    SUPPORTED_METHODS = ("GET",)

    def initialize(self, metrics: Metrics) -> None:
        """Tornado's per-request set-up, with the application's metrics."""
        self.metrics = metrics

    async def get(self) -> None:
        """The exposition."""
        body = await self.metrics.exposition()
        self.set_header("Content-Type", CONTENT_TYPE_LATEST)
        self.set_header("Cache-Control", "no-store")
        self.finish(body)


def metrics_routes(metrics: Metrics) -> list[Route]:
    """The /metrics route."""
    return [(re.escape(METRICS_PATH), _Metrics, {"metrics": metrics})]


def metrics_on_public_port(settings: Settings) -> bool:
    """METRICS_PORT set to WEBHOOK_PORT: webhook mode serves /metrics on the webhook server
    itself, for a deployment whose proxy keeps the path private (otherwise it is never there)."""
    return settings.bot_mode == "webhook" and settings.metrics_port == settings.webhook_port


def metrics_server(built: BuiltBot) -> WebServer | None:
    """/metrics (and /healthz) on METRICS_LISTEN:METRICS_PORT, apart from the public port of
    the webhook and the media links: metrics are for Prometheus only. None when METRICS_PORT
    is not set (or is the webhook's own port, see metrics_on_public_port)."""
    settings = built.services.settings
    if settings.metrics_port is None or metrics_on_public_port(settings):
        return None
    return WebServer(
        built.application,
        settings.metrics_listen,
        settings.metrics_port,
        metrics_routes(built.metrics),
        port_setting="METRICS_PORT",
        limits=WebLimits.from_settings(settings),
    )
