"""An outage's log lines name the host that could not be reached: the backend's, Telegram's."""

from __future__ import annotations

import asyncio
import logging
import socket
from pathlib import Path

import httpx
import pytest
from telegram.error import NetworkError

from bot.backends.base import BackendUnavailable
from bot.backends.middleware import MiddlewareBackend
from bot.polling import Contention, PollingErrors
from tests.helpers.driver import make_settings


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])  # nothing listens there once closed


def _middleware(tmp_path: Path, base_url: str, client: httpx.AsyncClient) -> MiddlewareBackend:
    settings = make_settings(
        tmp_path / "bot.sqlite3",
        complaint_backend="middleware",
        middleware_base_url=base_url,
        middleware_token="tok-0123456789-secret",
    )
    return MiddlewareBackend.from_settings(settings, client)


async def test_a_backend_that_cannot_be_reached_is_named_by_host(tmp_path: Path) -> None:
    port = _closed_port()
    async with httpx.AsyncClient() as client:
        backend = _middleware(tmp_path, f"http://127.0.0.1:{port}", client)
        with pytest.raises(BackendUnavailable) as caught:
            await backend.probe()
    assert (
        caught.value.detail == f"middleware at 127.0.0.1:{port} could not be reached (ConnectError)"
    )


async def test_a_backend_answering_5xx_is_named_by_host(tmp_path: Path) -> None:
    async def unavailable(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\n\r\n")
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(unavailable, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        async with httpx.AsyncClient() as client:
            backend = _middleware(tmp_path, f"http://127.0.0.1:{port}", client)
            with pytest.raises(BackendUnavailable) as caught:
                await backend.probe()
    finally:
        server.close()
        await server.wait_closed()
    assert caught.value.detail == f"middleware at 127.0.0.1:{port} answered HTTP 503"


def test_a_failed_poll_names_telegrams_host(caplog: pytest.LogCaptureFixture) -> None:
    errors = PollingErrors(Contention(), "api.telegram.org")
    with caplog.at_level(logging.WARNING, logger="bot.polling"):
        errors(NetworkError("httpx.ConnectError: All connection attempts failed"))
    assert caplog.messages == [
        "Telegram (api.telegram.org) could not be reached (httpx.ConnectError: All connection "
        "attempts failed); trying again"
    ]
