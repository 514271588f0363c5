"""Several instances on one PostgreSQL database, as real processes: webhook and polling."""

from __future__ import annotations

import asyncio
import signal
import socket
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from bench.backend import LoopbackBackend
from bench.postgres import PostgresServer
from bot.loopback.customer import CustomerUpdates, make_user
from bot.loopback.server import LoopbackBotApiServer
from bot.loopback.telegram import LoopbackTelegram
from bot.telegram_html import plain_text
from bot.web.webhook import SECRET_HEADER
from tests.helpers.processes import BotProcess, until

SECRET = "s" * 40
CLAIM_SECONDS = 5  # a killed instance's work is taken over this soon


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Chat:
    """One customer's chat as Telegram shows it, and what they send to which instance."""

    def __init__(self, telegram: LoopbackTelegram, user_id: int) -> None:
        self.telegram = telegram
        self.updates = CustomerUpdates(make_user(user_id, "Ada"))
        self.next_id = 5_000

    def texts(self) -> list[str]:
        return [plain_text(m.text) for m in self.telegram.chat_messages(self.updates.id)]

    def said(self, words: str) -> int:
        return sum(words in text for text in self.texts())

    def update(self, payload: dict[str, Any]) -> dict[str, Any]:
        self.next_id += 1
        update = {"update_id": self.next_id, **payload}
        self.telegram.pressed(update)  # a press Telegram would let us answer
        return update

    def press(self, label: str) -> dict[str, Any]:
        message = [m for m in self.telegram.chat_messages(self.updates.id) if m.buttons][-1]
        return self.update(self.updates.press(message, message.callback_data(label)))


async def _post(http: httpx.AsyncClient, port: int, update: dict[str, Any]) -> None:
    response = await http.post(
        f"http://127.0.0.1:{port}/hook", json=update, headers={SECRET_HEADER: SECRET}
    )
    assert response.status_code == 200


async def test_two_webhook_instances_answer_each_step_once_and_finish_a_killed_ones_work(
    tmp_path: Path, postgres_server: PostgresServer
) -> None:
    url = postgres_server.new_database()
    telegram = LoopbackTelegram()
    api = LoopbackBotApiServer(telegram)
    await api.start()
    backend = LoopbackBackend(latency_seconds=3.0)  # Submit is under way long enough to kill
    await backend.start()
    ports = [_free_port(), _free_port()]
    instances = [
        BotProcess(
            tmp_path,
            {
                **backend.settings,
                "database_url": url,
                "telegram_api_base_url": api.base_url,
                "bot_mode": "webhook",
                "webhook_url": "https://bot.example.com/hook",
                "webhook_listen": "127.0.0.1",
                "webhook_port": port,
                "webhook_secret": SECRET,
                "claim_seconds": CLAIM_SECONDS,
                # The loopback middleware files one complaint per key: a retry is safe.
                "middleware_honours_idempotency_key": "true",
            },
            f"instance-{n}",
        )
        for n, port in enumerate(ports)
    ]
    chat = Chat(telegram, 4242)
    try:
        for instance in instances:
            await instance.start()
        async with httpx.AsyncClient(timeout=5) as http:
            for port in ports:
                await until(lambda p=port: _healthy(p), f"instance on {port} up", seconds=30)
            a, b = ports
            await _post(http, a, chat.update(chat.updates.text("/complaint")))
            await until(lambda: chat.said("order ID") == 1, "the first question")
            await _post(http, b, chat.update(chat.updates.text("748596")))
            await until(lambda: chat.said("describe the problem") == 1, "the second question")
            twice = chat.update(chat.updates.text("The kettle leaks from the bottom."))
            await asyncio.gather(_post(http, a, twice), _post(http, b, twice))  # redelivered
            await until(lambda: chat.said("category") >= 1, "the third question")
            await asyncio.sleep(1)
            assert chat.said("category") == 1  # the redelivered problem was answered once
            await _post(http, b, chat.press("Delivery"))
            await until(lambda: chat.said("Please check your complaint") == 1, "the summary")

            await _post(http, a, chat.press("Submit"))
            await until(lambda: backend.requests >= 1, "the submission under way")
            await instances[0].stop(signal.SIGKILL)  # the instance that took Submit dies
            started = time.monotonic()
            await until(
                lambda: chat.said("Complaint number: 12345") == 1,
                "the other instance finishing the submission",
                seconds=CLAIM_SECONDS * 4,
            )
            assert time.monotonic() - started < CLAIM_SECONDS * 3
        await asyncio.sleep(1)
        assert chat.said("Complaint number: 12345") == 1
        assert len(backend.keys) == 1  # one complaint: its retry carried the same key
        texts = chat.texts()  # each step answered once, in order (the last one edited twice)
        assert [t.split("\n")[0][:30] for t in texts] == [
            "Which order is it about? Pleas",
            "Thank you. Now please describe",
            "✅ Your complaint is registered",
        ]
    finally:
        for instance in instances:
            if instance.running:
                await instance.stop()
        await api.stop()
        await backend.stop()


def _healthy(port: int) -> bool:
    try:
        return httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


async def test_a_killed_poller_is_replaced_within_seconds(
    tmp_path: Path, postgres_server: PostgresServer
) -> None:
    url = postgres_server.new_database()
    telegram = LoopbackTelegram()
    api = LoopbackBotApiServer(telegram)
    await api.start()
    settings = {
        "database_url": url,
        "telegram_api_base_url": api.base_url,
        "claim_seconds": CLAIM_SECONDS,
    }
    first, second = (BotProcess(tmp_path, settings, name) for name in ("first", "second"))
    chat = Chat(telegram, 4343)
    try:
        await first.start()
        await until(lambda: "Polling Telegram for updates" in first.output(), "the first polling")
        await second.start()
        await until(lambda: "Another instance polls" in second.output(), "the second waiting")
        await first.stop(signal.SIGKILL)
        started = time.monotonic()
        await until(
            lambda: "Polling Telegram for updates" in second.output(),
            "the second taking over",
            seconds=CLAIM_SECONDS * 4,
        )
        assert time.monotonic() - started < CLAIM_SECONDS * 3
        telegram.deliver(chat.updates.text("/start"))
        await until(lambda: chat.said("Hello Ada") == 1, "an answer")
        assert telegram.conflicts == 0 or "Traceback" not in second.output()
    finally:
        for process in (first, second):
            if process.running:
                await process.stop()
        await api.stop()


pytestmark = pytest.mark.filterwarnings("ignore::ResourceWarning")
