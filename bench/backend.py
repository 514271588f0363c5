"""This module contains LoopbackBackend: the seed-000 middleware on 127.0.0.1, slow on request."""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from typing import Any

import tornado.httpserver
import tornado.netutil
import tornado.web

HOST = "127.0.0.1"
RAISE_PATH = "/api/rest/v1/ecom/integrations/raiseComplaintsAgainstOrder"
TRACK_PATH = "/api/rest/v1/ecom/integrations/getComplaintsTrackingDetails"

# The "Example Response" of seed 000_60a294908b7cddcc.txt, word for word.
SEED_RESPONSE: dict[str, Any] = {
    "response": {
        "responseType": "container",
        "responseId": "be49e7a0-8638-486b-899b-be42e3760b46-e15c53b8",
        "responseMessages": [
            {
                "containerResponse": {
                    "responseText": (
                        "Your complaint is registered. Raised a complaint Number 12345 to track."
                    ),
                    "attributes": [
                        {"name": "orderId", "value": "748596"},
                        {"name": "complaintId", "value": "12345"},
                        {"name": "Category", "value": "products-related"},
                    ],
                }
            }
        ],
    }
}
SEED_BODY = json.dumps(SEED_RESPONSE).encode()


class _SeedHandler(tornado.web.RequestHandler):
    """POST of either middleware endpoint: waits the configured latency, answers the seed."""

    def initialize(self, backend: LoopbackBackend) -> None:
        self.backend = backend

    async def post(self) -> None:
        self.backend.requests += 1
        self.backend.keys[self.request.headers.get("Idempotency-Key", "")] += 1
        if self.backend.latency_seconds > 0:
            await asyncio.sleep(self.backend.latency_seconds)
        self.set_header("Content-Type", "application/json")
        self.finish(SEED_BODY)


class LoopbackBackend:
    """The complaints middleware as the bots see it: every call answered with the seed example."""

    def __init__(self, latency_seconds: float = 0.0) -> None:
        self.latency_seconds = latency_seconds
        self.requests = 0
        # Requests per Idempotency-Key: how often each complaint was filed.
        self.keys: Counter[str] = Counter()
        self.port = 0
        self._server: tornado.httpserver.HTTPServer | None = None

    @property
    def base_url(self) -> str:
        """The value for MIDDLEWARE_BASE_URL."""
        return f"http://{HOST}:{self.port}"

    @property
    def settings(self) -> dict[str, str]:
        """The bot's settings for this backend."""
        return {
            "complaint_backend": "middleware",
            "middleware_base_url": self.base_url,
            "middleware_token": "loopback-token",
        }

    async def start(self) -> None:
        """Binds a free port of 127.0.0.1 and serves on the running loop."""
        app = tornado.web.Application(
            [(path, _SeedHandler, {"backend": self}) for path in (RAISE_PATH, TRACK_PATH)]
        )
        sockets = tornado.netutil.bind_sockets(0, HOST)
        self.port = sockets[0].getsockname()[1]
        self._server = tornado.httpserver.HTTPServer(app)
        self._server.add_sockets(sockets)

    async def stop(self) -> None:
        """Stops serving and drops open connections."""
        if self._server is not None:
            self._server.stop()
            await self._server.close_all_connections()
            self._server = None
