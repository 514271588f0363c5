"""What `python -m bot` refuses at start, and what it keeps trying: a malformed token offline,
a server that answers but is no Bot API in `check`'s words, and only outages retried."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest

from tests.helpers.processes import BotProcess, until

TOKEN_LINE = (
    "Configuration error: TELEGRAM_BOT_TOKEN: is not a bot token: @BotFather gives one of the "
    "form <digits>:<35 characters> (letters, digits, _ and -), e.g. 123456789:AAE… (copy it "
    "whole)"
)


class _Server:
    """A real HTTP server on 127.0.0.1 that answers every request the same way."""

    def __init__(self, status: int, body: bytes, content_type: str) -> None:
        self.status, self.body, self.content_type = status, body, content_type
        self.requests = 0
        self.connections = 0
        self.port = 0

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            head = await reader.readuntil(b"\r\n\r\n")
            length = next(
                (
                    int(line.split(b":", 1)[1])
                    for line in head.split(b"\r\n")
                    if line.lower().startswith(b"content-length:")
                ),
                0,
            )
            await reader.readexactly(length)
            self.requests += 1
            writer.write(
                b"HTTP/1.1 %d Whatever\r\nContent-Type: %s\r\nContent-Length: %d\r\n"
                b"Connection: close\r\n\r\n%s"
                % (self.status, self.content_type.encode(), len(self.body), self.body)
            )
            await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/bot"


@asynccontextmanager
async def _serving(
    status: int, body: bytes, content_type: str = "text/html"
) -> AsyncIterator[_Server]:
    server = _Server(status, body, content_type)
    listening = await asyncio.start_server(server._serve, "127.0.0.1", 0)
    server.port = listening.sockets[0].getsockname()[1]
    try:
        yield server
    finally:
        listening.close()
        await listening.wait_closed()


def _lines(bot: BotProcess) -> list[str]:
    return [line for line in bot.output().splitlines() if line.strip()]


@pytest.mark.parametrize("token", ["abc", "123456:short", "123456789:" + "A" * 34 + " "])
async def test_a_malformed_token_is_refused_in_one_line_without_the_network(
    tmp_path: Path, token: str
) -> None:
    async with _serving(200, b"{}", "application/json") as telegram:
        settings = {"telegram_bot_token": token, "telegram_api_base_url": telegram.base_url}
        bot = BotProcess(tmp_path, settings)
        await bot.start()
        assert await bot.exit_status() == 2
        assert _lines(bot) == [TOKEN_LINE]
        check = BotProcess(tmp_path, settings, "check")
        await check.start("check")
        assert await check.exit_status() == 1
        assert _lines(check) == [
            "FAIL settings: " + TOKEN_LINE.removeprefix("Configuration error: ")
        ]
        assert telegram.connections == 0  # not one call
    assert token.strip() not in bot.output().replace("TELEGRAM_BOT_TOKEN", "")


@pytest.mark.parametrize(
    ("status", "body", "content_type", "reason"),
    [
        (200, b"<html>the shop's web site</html>", "text/html", "not JSON"),
        (404, b"", "text/plain", "HTTP 404"),
        (403, b"<html>Forbidden</html>", "text/html", "HTTP 403"),
        (405, b"<html>Method Not Allowed</html>", "text/html", "HTTP 405"),
        (200, json.dumps({"hello": "world"}).encode(), "application/json", "JSON without a result"),
    ],
    ids=["web-page", "empty-404", "403-page", "405-page", "other-json"],
)
async def test_run_stops_with_checks_line_when_the_server_is_no_bot_api(
    tmp_path: Path, status: int, body: bytes, content_type: str, reason: str
) -> None:
    async with _serving(status, body, content_type) as other:
        settings = {"telegram_api_base_url": other.base_url}
        check = BotProcess(tmp_path, settings, "check")
        await check.start("check")
        assert await check.exit_status() == 1
        (said,) = [line for line in _lines(check) if line.startswith("FAIL telegram")]
        host = f"127.0.0.1:{other.port}"
        assert said == (
            f"FAIL telegram: {host} did not answer as a Telegram Bot API server: check "
            f"TELEGRAM_API_BASE_URL ({reason})"
        )
        bot = BotProcess(tmp_path, settings)
        await bot.start()
        assert await bot.exit_status(seconds=15) == 2
        assert _lines(bot)[-1] == "Configuration error: " + said.removeprefix("FAIL telegram: ")
        assert "Traceback" not in bot.output() and "trying again" not in bot.output()


@pytest.mark.parametrize("status", [500, 502, 503])
async def test_a_server_error_is_retried_and_names_the_host(tmp_path: Path, status: int) -> None:
    async with _serving(status, b"<html>Bad Gateway</html>") as proxy:
        bot = BotProcess(tmp_path, {"telegram_api_base_url": proxy.base_url})
        await bot.start()
        try:
            await until(lambda: proxy.requests >= 2, "a second try", seconds=15)
            assert bot.running
            retries = [line for line in _lines(bot) if "trying again" in line]
            assert retries and all(f"127.0.0.1:{proxy.port}" in line for line in retries)
            assert "Traceback" not in bot.output()
        finally:
            assert await bot.stop() == 0


@pytest.mark.parametrize(
    ("settings", "named"),
    [
        ({"database_url": "sqlite:///{path}"}, "DATABASE_URL"),
        ({"database_path": "{path}"}, "DATABASE_PATH"),
    ],
    ids=["database-url", "database-path"],
)
async def test_a_bad_sqlite_file_names_the_setting_that_named_it(
    tmp_path: Path, settings: dict[str, str], named: str
) -> None:
    garbage = tmp_path / "shop.sqlite3"
    garbage.write_text("not a database " * 100)
    given = {name: value.format(path=garbage) for name, value in settings.items()}
    bot = BotProcess(tmp_path, given)
    await bot.start()
    assert await bot.exit_status(seconds=15) == 2
    assert _lines(bot)[-1] == (
        f"Configuration error: {named}: {garbage}: cannot be used: file is not a database"
    )
