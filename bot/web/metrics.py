"""This module contains GET /metrics: Prometheus' text exposition of the bot's metrics."""

from __future__ import annotations

import re

import tornado.web
from prometheus_client.exposition import CONTENT_TYPE_LATEST

from bot.metrics import Metrics
from bot.web.server import Route

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
