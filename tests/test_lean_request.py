"""LeanRequest speaks HTTP/1.1 as Telegram and proxies answer, and fails as PTB's transport does."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

import pytest
from telegram import InputFile
from telegram.error import NetworkError, TimedOut
from telegram.request import BaseRequest, RequestData
from telegram.request._requestparameter import RequestParameter

from bot.lean_request import LeanRequest, proxy_configured

Answer = Callable[[bytes], Awaitable[bytes | None]]


@asynccontextmanager
async def _server(answer: Answer) -> AsyncIterator[tuple[str, list[bytes], list[int]]]:
    """An HTTP server on 127.0.0.1 answering each request with `answer(request)` (None: close
    without a word); yields its base URL, the requests seen and the connections opened."""
    seen: list[bytes] = []
    connections: list[int] = []

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        connections.append(1)
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = int(head.lower().split(b"content-length:")[1].split(b"\r\n")[0])
                request = head + await reader.readexactly(length)
                seen.append(request)
                reply = await answer(request)
                if reply is None:
                    break
                writer.write(reply)
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}/bot123:abc", seen, connections
    finally:
        server.close()


def _data(**values: Any) -> RequestData:
    return RequestData([RequestParameter.from_input(name, value) for name, value in values.items()])


def _fixed(reply: bytes) -> Answer:
    async def answer(request: bytes) -> bytes:
        return reply

    return answer


async def test_a_call_is_form_encoded_and_its_connection_kept_for_the_next() -> None:
    body = b'{"ok":true,"result":{"message_id":5}}'
    reply = b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body)
    async with _server(_fixed(reply)) as (url, seen, connections):
        request = LeanRequest(4)
        await request.initialize()
        for _ in range(3):
            code, payload = await request.do_request(
                f"{url}/sendMessage", "POST", _data(chat_id=7, text="Hi & bye")
            )
            assert (code, payload) == (200, body)
        await request.shutdown()
    assert seen[0].startswith(b"POST /bot123:abc/sendMessage HTTP/1.1\r\n")
    port = url.split(":")[2].split("/")[0]  # not http's own 80: the Host header names it
    assert f"\r\nHost: 127.0.0.1:{port}\r\n".encode() in seen[0]
    assert seen[0].endswith(b"\r\n\r\nchat_id=7&text=Hi+%26+bye")
    assert len(connections) == 1


async def test_chunked_answers_and_connection_close_are_understood() -> None:
    chunked = (
        b"HTTP/1.1 400 Bad Request\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
        b'5\r\n{"ok"\r\nc;x=1\r\n:false,"a":1\r\n1\r\n}\r\n0\r\n\r\n'
    )
    async with _server(_fixed(chunked)) as (url, _seen, connections):
        request = LeanRequest(4)
        for _ in range(2):
            code, payload = await request.do_request(f"{url}/getMe", "POST")
            assert (code, payload) == (400, b'{"ok":false,"a":1}')
        await request.shutdown()
    assert len(connections) == 2


async def test_a_silent_server_times_out_and_a_dropped_connection_is_a_network_error() -> None:
    async def slow(request: bytes) -> bytes:
        await asyncio.sleep(1)
        return b""

    async with _server(slow) as (url, _seen, _connections):
        request = LeanRequest(1)
        with pytest.raises(TimedOut):
            await request.do_request(f"{url}/getMe", "POST", read_timeout=0.05)
        # The slot came back: the next call is not refused for a full pool.
        with pytest.raises(TimedOut):
            await request.do_request(f"{url}/getMe", "POST", read_timeout=0.05)
        await request.shutdown()

    async def drop(request: bytes) -> None:
        return None

    async with _server(drop) as (url, _seen, _connections):
        request = LeanRequest(1)
        with pytest.raises(NetworkError):
            await request.do_request(f"{url}/getMe", "POST")
        await request.shutdown()


async def test_calls_with_files_go_to_the_uploads_transport() -> None:
    class Uploads(BaseRequest):
        def __init__(self) -> None:
            self.calls: list[str] = []

        @property
        def read_timeout(self) -> float | None:
            return None

        async def initialize(self) -> None:
            """Nothing to open."""

        async def shutdown(self) -> None:
            """Nothing to close."""

        async def do_request(
            self, url: str, method: str, *args: Any, **kw: Any
        ) -> tuple[int, bytes]:
            self.calls.append(url)
            return 200, b"{}"

    uploads = Uploads()
    request = LeanRequest(1, uploads=uploads)
    document = InputFile(b"%PDF-1.7", filename="a.pdf", attach=True)
    data = RequestData([RequestParameter.from_input("document", document)])
    assert await request.do_request("http://127.0.0.1:9/bot1:x/sendDocument", "POST", data) == (
        200,
        b"{}",
    )
    assert uploads.calls == ["http://127.0.0.1:9/bot1:x/sendDocument"]


def test_a_proxy_in_the_environment_is_noticed() -> None:
    assert proxy_configured({"HTTPS_PROXY": "http://proxy:3128"})
    assert proxy_configured({"all_proxy": "socks5://proxy"})
    assert not proxy_configured({"PATH": "/usr/bin"})
