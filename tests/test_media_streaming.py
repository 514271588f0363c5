"""The media route sends a file as it comes, a chunk at a time: HEAD downloads nothing, a large
file costs a chunk of memory, a client that stops reading is let go, the cache keeps whole files."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import hashlib
import os
import socket
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx

from bot.complaint import Attachment
from bot.loopback.server import LoopbackBotApiServer
from bot.loopback.telegram import LoopbackTelegram, StoredFile
from bot.media_links import MediaLinks
from bot.web.media import media_routes
from bot.web.server import WebServer
from tests.helpers.driver import BotHarness, FakeClock, make_settings
from tests.helpers.processes import BotProcess, until

SECRET = "media-links-secret-0123456789"
BASE = "https://bot.example.com"
LARGE = 19 * 1024 * 1024  # within getFile's 20 MB


def _path(links: MediaLinks, stored: StoredFile, mime: str = "application/pdf") -> str:
    attachment = Attachment(
        kind="document", fileId=stored.file_id, fileUniqueId=stored.file_unique_id, mimeType=mime
    )
    return urlsplit(links.url_for(attachment)).path


@dataclasses.dataclass
class Served:
    """The media route of an in-process bot on 127.0.0.1; Telegram's files served over HTTP."""

    telegram: LoopbackTelegram
    links: MediaLinks
    port: int
    http: httpx.AsyncClient

    def getfiles(self) -> int:
        return sum(call.method == "getFile" for call in self.telegram.calls)


@contextlib.asynccontextmanager
async def _served(tmp_path: Path, **settings: Any) -> AsyncIterator[Served]:
    clock = FakeClock()
    telegram = LoopbackTelegram(clock=clock)
    files = LoopbackBotApiServer(telegram)
    await files.start()
    bot = BotHarness(
        make_settings(
            tmp_path / "bot.sqlite3",
            **{
                "media_base_url": BASE,
                "media_link_secret": SECRET,
                "telegram_api_base_url": files.base_url,
                **settings,
            },
        ),
        clock=clock,
        telegram=telegram,
    )
    await bot.start()
    server = WebServer(bot.built.application, "127.0.0.1", 0, media_routes(bot.built))
    port = await server.start()
    links = bot.built.services.media_links
    assert links is not None
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=10) as http:
            yield Served(telegram, links, port, http)
    finally:
        await server.stop()
        await bot.stop()
        await files.stop()


async def test_head_asks_getfile_and_downloads_nothing(tmp_path: Path) -> None:
    async with _served(tmp_path) as served:
        stored = served.telegram.add_file(b"%PDF-1.7 " * 5000, kind="document")
        path = _path(served.links, stored)
        head = await served.http.head(path)
        assert head.status_code == 200 and head.content == b""
        assert int(head.headers["Content-Length"]) == len(stored.content)  # getFile's file_size
        assert head.headers["Content-Type"] == "application/pdf"
        assert (served.getfiles(), served.telegram.downloads) == (1, 0)
        got = await served.http.get(path)
        assert got.content == stored.content and "ETag" not in got.headers
        assert (served.getfiles(), served.telegram.downloads) == (2, 1)


async def test_a_client_that_stops_reading_is_let_go_within_the_body_timeout(
    tmp_path: Path,
) -> None:
    async with _served(tmp_path, web_body_timeout_seconds=1) as served:
        stored = served.telegram.add_file(os.urandom(LARGE), kind="document")
        with socket.socket() as client:
            client.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 64 * 1024)
            client.setblocking(False)
            loop = asyncio.get_running_loop()
            await loop.sock_connect(client, ("127.0.0.1", served.port))
            request = f"GET {_path(served.links, stored)} HTTP/1.1\r\nHost: x\r\n\r\n"
            await loop.sock_sendall(client, request.encode())
            await asyncio.sleep(3)  # reading nothing: the server gives up on us
            received = 0
            with contextlib.suppress(ConnectionError):
                async with asyncio.timeout(5):
                    while chunk := await loop.sock_recv(client, 1024 * 1024):
                        received += len(chunk)
        # What the kernel's buffers held when the server stopped sending, not the file.
        assert received < LARGE / 2


async def test_the_cache_keeps_a_file_only_once_it_was_sent_whole(tmp_path: Path) -> None:
    cache = tmp_path / "media-cache"
    async with _served(tmp_path, media_cache_dir=cache) as served:
        stored = served.telegram.add_file(os.urandom(4 * 1024 * 1024), kind="document")
        path = _path(served.links, stored)
        async with served.http.stream("GET", path) as response:
            async for _ in response.aiter_bytes(65536):
                break  # the client leaves after the first chunk
        await asyncio.sleep(0.3)
        assert not cache.exists() or list(cache.iterdir()) == []  # no part of it kept
        whole = await served.http.get(path)
        assert whole.content == stored.content
        assert [p.name for p in cache.iterdir()] == [stored.file_unique_id]
        assert (cache / stored.file_unique_id).read_bytes() == stored.content
        served.telegram.fail_next("getFile", "Internal Server Error", 500)
        again = await served.http.get(path)  # from the cache, in chunks too
        assert again.status_code == 200 and again.content == stored.content
        head = await served.http.head(path)
        assert int(head.headers["Content-Length"]) == len(stored.content)
        assert served.telegram.downloads == 2


async def test_a_download_cut_short_by_telegram_is_cut_short_for_the_client(
    tmp_path: Path,
) -> None:
    """Telegram's file server drops the connection halfway: the client must not take the
    half for the file (the connection is closed short of Content-Length)."""

    async def half_a_file(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 1000000\r\n\r\n" + b"x" * 300_000)
        await writer.drain()
        writer.close()

    broken = await asyncio.start_server(half_a_file, "127.0.0.1", 0)
    broken_port = broken.sockets[0].getsockname()[1]
    try:
        # Bot API calls are answered in memory; only the file URL goes to the broken server.
        async with _served(
            tmp_path, telegram_api_base_url=f"http://127.0.0.1:{broken_port}/bot"
        ) as served:
            stored = served.telegram.add_file(b"x" * 1_000_000, kind="document")
            path = _path(served.links, stored)
            try:
                cut = await served.http.get(path)
            except httpx.RemoteProtocolError:
                pass  # closed short of the announced length
            else:
                raise AssertionError(f"a whole answer of {len(cut.content)} bytes")
            assert (await served.http.head(path)).status_code == 200  # the server goes on
    finally:
        broken.close()
        await broken.wait_closed()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _reset_peak(pid: int) -> None:
    """VmHWM counts from now on."""
    Path(f"/proc/{pid}/clear_refs").write_text("5")


def _memory_kib(pid: int, field: str) -> int:
    status = Path(f"/proc/{pid}/status").read_text()
    return int(next(line for line in status.splitlines() if line.startswith(field)).split()[1])


async def test_python_m_bot_sends_a_19_mb_file_with_a_few_mb_of_memory(tmp_path: Path) -> None:
    telegram = LoopbackTelegram()
    api = LoopbackBotApiServer(telegram)
    await api.start()
    port = _free_port()
    media = {
        "media_base_url": BASE,
        "media_link_secret": SECRET,
        "webhook_listen": "127.0.0.1",
        "webhook_port": port,
    }
    bot = BotProcess(tmp_path, {"telegram_api_base_url": api.base_url, **media})
    links = MediaLinks(BASE, SECRET, 86400, time.time)
    small = telegram.add_file(os.urandom(100_000), kind="document")
    large = telegram.add_file(os.urandom(LARGE), kind="document")
    try:
        await bot.start()
        await until(lambda: telegram.polls > 0, "polling")
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=10) as http:
            await until(lambda: bot.output().count("Serving media links") == 1, "the server")
            warm = await http.get(_path(links, small))  # the first download's imports done
            assert warm.content == small.content
            assert bot.process is not None
            pid = bot.process.pid
            _reset_peak(pid)
            before = _memory_kib(pid, "VmRSS")
            digest = hashlib.sha256()
            async with http.stream("GET", _path(links, large)) as response:
                assert response.headers["Content-Length"] == str(LARGE)
                async for chunk in response.aiter_bytes(256 * 1024):
                    digest.update(chunk)
                    await asyncio.sleep(0.005)  # a reader slower than Telegram
            grew_mb = (_memory_kib(pid, "VmHWM") - before) / 1024
        assert digest.hexdigest() == hashlib.sha256(large.content).hexdigest()
        assert grew_mb < 8, f"resident memory grew by {grew_mb:.1f} MB for a 19 MB file"
        assert telegram.downloads == 2
    finally:
        await bot.stop()
        await api.stop()
