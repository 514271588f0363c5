"""`python -m bot` as an operator meets it: start, outages, stop, in one clear line each."""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import socket
import sqlite3
import time
from pathlib import Path

import pytest

from bot.loopback.customer import CustomerUpdates, make_user
from bot.loopback.server import LoopbackBotApiServer
from bot.loopback.telegram import LoopbackTelegram
from bot.telegram_html import plain_text
from tests.helpers.processes import BotProcess, until

# Root ignores file permissions; without these capabilities it has to respect them, as the
# unprivileged user of a real deployment does (who needs no wrapper).
AS_ROOT = os.geteuid() == 0
WITHOUT_ROOTS_PRIVILEGES = (
    ["setpriv", "--bounding-set=-dac_override,-dac_read_search,-fowner", "--"] if AS_ROOT else []
)
needs_setpriv = pytest.mark.skipif(
    AS_ROOT and shutil.which("setpriv") is None, reason="setpriv (util-linux) is not installed"
)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _read_only_database(folder: Path) -> Path:
    folder.mkdir()
    path = folder / "bot.sqlite3"
    sqlite3.connect(path).close()
    path.chmod(0o444)
    folder.chmod(0o555)
    return path


def _lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.strip()]


def _not_info(text: str) -> list[str]:
    """What an operator is told beyond the progress lines (INFO) of a start."""
    return [line for line in _lines(text) if " INFO " not in line]


@needs_setpriv
@pytest.mark.parametrize("command", [[], ["console"]], ids=["bot", "console"])
async def test_a_database_the_bot_cannot_write_stops_it_in_one_line(
    tmp_path: Path, command: list[str]
) -> None:
    database = _read_only_database(tmp_path / "ro")
    settings = {"database_path": database, "telegram_api_base_url": "http://127.0.0.1:9/bot"}
    if command:
        settings["telegram_bot_token"] = ""  # the console of a newcomer: no token yet
    bot = BotProcess(tmp_path, settings, wrapper=WITHOUT_ROOTS_PRIVILEGES)
    await bot.start(*command)
    assert await bot.exit_status(seconds=15) == 2
    assert _not_info(bot.output())[-1:] == [
        f"Configuration error: DATABASE_PATH: {database}: the bot cannot write it (check the "
        "owner and permissions of the file and folder)"
    ]
    assert "Traceback" not in bot.output()


@needs_setpriv
async def test_check_reports_a_database_the_bot_cannot_write_and_ends(tmp_path: Path) -> None:
    database = _read_only_database(tmp_path / "ro")
    bot = BotProcess(tmp_path, {"database_path": database}, wrapper=WITHOUT_ROOTS_PRIVILEGES)
    await bot.start("check")
    assert await bot.exit_status(seconds=15) == 1
    (line,) = [line for line in _lines(bot.output()) if line.startswith("FAIL database")]
    assert line.startswith(f"FAIL database: {database}: the bot cannot write it")


@needs_setpriv
async def test_a_database_folder_that_cannot_be_created_is_one_line(tmp_path: Path) -> None:
    (tmp_path / "ro").mkdir(mode=0o555)
    database = tmp_path / "ro" / "new" / "bot.sqlite3"
    bot = BotProcess(tmp_path, {"database_path": database}, wrapper=WITHOUT_ROOTS_PRIVILEGES)
    await bot.start()
    assert await bot.exit_status(seconds=15) == 2
    assert _not_info(bot.output()) == [
        f"Configuration error: DATABASE_PATH: {database}: cannot be created: Permission denied "
        f"({tmp_path / 'ro' / 'new'})"
    ]
    check = BotProcess(tmp_path, {"database_path": database}, "check")
    await check.start("check")  # as root: a check must not create it either
    await check.exit_status()
    assert f"ok   database: {database} does not exist yet" in check.output()
    assert not (tmp_path / "ro" / "new").exists()


async def test_telegram_unreachable_at_start_is_retried_one_line_at_a_time(
    tmp_path: Path,
) -> None:
    port = _free_port()
    telegram = LoopbackTelegram()
    server = LoopbackBotApiServer(telegram, port=port)
    bot = BotProcess(tmp_path, {"telegram_api_base_url": f"http://127.0.0.1:{port}/bot"})
    try:
        await bot.start()
        await until(lambda: bot.output().count("could not be reached at start") >= 2, "retries")
        assert "Traceback" not in bot.output()
        await server.start()  # Telegram is back
        await until(lambda: telegram.polls > 0, "polling once Telegram answers", seconds=20)
        warnings = [line for line in _lines(bot.output()) if " WARNING " in line]
        assert warnings and all("could not be reached at start" in line for line in warnings)
        assert all(
            line.count(" WARNING ") + line.count(" INFO ") == 1 for line in _lines(bot.output())
        )
    finally:
        await bot.stop()
        await server.stop()


async def test_an_outage_is_one_line_per_retry_and_sigterm_is_prompt(tmp_path: Path) -> None:
    port = _free_port()
    telegram = LoopbackTelegram()
    server = LoopbackBotApiServer(telegram, port=port)
    await server.start()
    bot = BotProcess(tmp_path, {"telegram_api_base_url": f"http://127.0.0.1:{port}/bot"})
    try:
        await bot.start()
        await until(lambda: telegram.polls > 0, "polling")
        before = len(_lines(bot.output()))
        await server.stop()  # Telegram goes away
        await asyncio.sleep(8)
        during = _lines(bot.output())[before:]
        assert "Traceback" not in "\n".join(during)
        assert 1 <= len(during) <= 8  # one line at most per retry, fewer once it repeats
        started = time.monotonic()
        assert await bot.stop(signal.SIGTERM) == 0
        assert time.monotonic() - started < 3.0
    finally:
        await bot.stop()
        await server.stop()


async def test_a_busy_webhook_port_is_one_line(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        bot = BotProcess(
            tmp_path,
            {
                "bot_mode": "webhook",
                "webhook_url": "https://bot.example.com/hook",
                "webhook_secret": "s" * 40,
                "webhook_listen": "127.0.0.1",
                "webhook_port": port,
                "telegram_api_base_url": "http://127.0.0.1:9/bot",
            },
        )
        await bot.start()
        assert await bot.exit_status() == 2
    (line,) = [line for line in _lines(bot.output()) if "Configuration error" in line]
    assert line.startswith(f"Configuration error: WEBHOOK_PORT: 127.0.0.1:{port} cannot be")
    assert "Traceback" not in bot.output()


async def test_a_desk_change_from_the_cli_reaches_the_customer_within_seconds(
    tmp_path: Path,
) -> None:
    telegram = LoopbackTelegram()
    server = LoopbackBotApiServer(telegram)
    await server.start()
    bot = BotProcess(tmp_path, {"telegram_api_base_url": server.base_url})
    ada = CustomerUpdates(make_user(4242, "Ada"))

    def said(words: str) -> bool:
        return any(words in plain_text(m.text) for m in telegram.chat_messages(ada.id))

    try:
        await bot.start()
        await until(lambda: telegram.polls > 0, "polling")
        for text in ("/complaint", "748596", "The kettle leaks."):
            telegram.deliver(ada.text(text))
            await asyncio.sleep(0.3)
        await until(lambda: said("category"), "the category question")
        summary = [m for m in telegram.chat_messages(ada.id) if m.buttons][-1]
        telegram.deliver(ada.press(summary, summary.callback_data("Delivery")))
        await until(lambda: said("Please check"), "the summary")
        summary = [m for m in telegram.chat_messages(ada.id) if m.buttons][-1]
        telegram.deliver(ada.press(summary, summary.callback_data("Submit")))
        await until(lambda: said("Complaint number: 100001"), "the card")

        desk = BotProcess(tmp_path, {}, "desk")
        await desk.start("desk", "set-status", "100001", "in_progress", "--note", "On it.")
        assert await desk.exit_status() == 0
        started = time.monotonic()
        await until(lambda: said("now being handled"), "the customer told", seconds=10)
        assert time.monotonic() - started < 7
    finally:
        await bot.stop()
        await server.stop()
