"""This module contains MeasuredRequest: PTB's Bot API transport, counted and timed by method."""

from __future__ import annotations

import re
import time
from typing import Any

from telegram.request import BaseRequest, RequestData

from bot.metrics import Metrics

# A Bot API method is the URL's last segment (`.../bot<token>/sendMessage`); anything else
# (a file download's path) is labelled `file`. Only this label leaves the URL: the rest of it
# holds the bot token.
_METHOD = re.compile(r"^[A-Za-z]{1,64}$")


def method_of(url: str) -> str:
    """The Bot API method a URL calls, or `file` for a download (never a part of the token)."""
    if "/file/bot" in url:
        return "file"
    last = url.rstrip("/").rsplit("/", 1)[-1]
    return last if _METHOD.match(last) else "file"


def result_of(code: int) -> str:
    """The `error` label of an answer: ok, 429, 5xx or 4xx."""
    if 200 <= code <= 299:
        return "ok"
    if code == 429:
        return "429"
    return "5xx" if code >= 500 else "4xx"


class WrappedRequest(BaseRequest):
    """A Bot API transport around another: opening, closing and the default read timeout are
    the wrapped one's; a subclass adds what it does around `do_request`."""

    def __init__(self, inner: BaseRequest) -> None:
        self.inner = inner

    @property
    def read_timeout(self) -> float | None:
        """The wrapped transport's default read timeout."""
        return self.inner.read_timeout

    async def initialize(self) -> None:
        """Opens the wrapped transport."""
        await self.inner.initialize()

    async def shutdown(self) -> None:
        """Closes the wrapped transport."""
        await self.inner.shutdown()


class MeasuredRequest(WrappedRequest):
    """Wraps the transport PTB would use: each call counted by method and result, and timed."""

    def __init__(self, inner: BaseRequest, metrics: Metrics) -> None:
        super().__init__(inner)
        self._metrics = metrics
        # prometheus_client's labels() looks a child up anew on every call: a few labels
        # serve every call, so they are kept at hand.
        self._calls: dict[tuple[str, str], Any] = {}
        self._seconds: dict[str, Any] = {}

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: Any = BaseRequest.DEFAULT_NONE,
        write_timeout: Any = BaseRequest.DEFAULT_NONE,
        connect_timeout: Any = BaseRequest.DEFAULT_NONE,
        pool_timeout: Any = BaseRequest.DEFAULT_NONE,
    ) -> tuple[int, bytes]:
        """The wrapped transport's answer; a transport error (timeout, connection) counts as
        `network`."""
        api_method = method_of(url)
        started = time.perf_counter()
        try:
            code, payload = await self.inner.do_request(
                url,
                method,
                request_data,
                read_timeout=read_timeout,
                write_timeout=write_timeout,
                connect_timeout=connect_timeout,
                pool_timeout=pool_timeout,
            )
        except Exception:
            self._count(api_method, "network", started)
            raise
        # A call cancelled on the way (a long poll at shutdown) has no result to count.
        self._count(api_method, result_of(code), started)
        return code, payload

    def _count(self, api_method: str, result: str, started: float) -> None:
        calls = self._calls.get((api_method, result))
        if calls is None:
            calls = self._calls[api_method, result] = self._metrics.bot_api_calls.labels(
                api_method, result
            )
        seconds = self._seconds.get(api_method)
        if seconds is None:
            seconds = self._seconds[api_method] = self._metrics.bot_api_seconds.labels(api_method)
        calls.inc()
        seconds.observe(time.perf_counter() - started)
