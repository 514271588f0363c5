"""The web server's limits, on `python -m bot` in webhook mode: slow and idle clients, large
bodies and too many connections cannot hold it down, and /metrics stays off the public port."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import socket
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any, Literal

import httpx

from bot.loopback.customer import CustomerUpdates, make_user
from bot.loopback.server import LoopbackBotApiServer
from bot.loopback.telegram import LoopbackTelegram
from bot.telegram_html import plain_text
from bot.web.webhook import SECRET_HEADER
from tests.helpers.processes import BotProcess, until

SECRET = "s" * 40
HOOK = "/hook"
IDLE_SECONDS = 3.0  # WEB_IDLE_TIMEOUT_SECONDS in these tests (60 by default)
BODY_SECONDS = 2.0  # WEB_BODY_TIMEOUT_SECONDS (10 by default)
MIB = 1024 * 1024


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclasses.dataclass
class Webhook:
    """A bot process serving a webhook on 127.0.0.1, with its Telegram and its ports."""

    bot: BotProcess
    telegram: LoopbackTelegram
    port: int
    metrics_port: int
    ada: CustomerUpdates = dataclasses.field(
        default_factory=lambda: CustomerUpdates(make_user(4242, "Ada"))
    )
    next_update: int = 1000

    def update(self, text: str) -> dict[str, Any]:
        self.next_update += 1
        return {"update_id": self.next_update, **self.ada.text(text)}

    def answers(self) -> int:
        return len(self.telegram.chat_messages(self.ada.id))

    def memory_kib(self, field: Literal["VmRSS", "VmHWM"]) -> int:
        """The process's resident memory now, or its peak since reset_peak()."""
        assert self.bot.process is not None
        status = Path(f"/proc/{self.bot.process.pid}/status").read_text()
        line = next(line for line in status.splitlines() if line.startswith(field))
        return int(line.split()[1])

    def reset_peak(self) -> None:
        assert self.bot.process is not None
        Path(f"/proc/{self.bot.process.pid}/clear_refs").write_text("5")


@contextlib.asynccontextmanager
async def _webhook(tmp_path: Path, **settings: Any) -> AsyncIterator[Webhook]:
    telegram = LoopbackTelegram()
    api = LoopbackBotApiServer(telegram)
    await api.start()
    port, metrics_port = _free_port(), _free_port()
    bot = BotProcess(
        tmp_path,
        {
            "telegram_api_base_url": api.base_url,
            "bot_mode": "webhook",
            "webhook_url": f"https://bot.example.com{HOOK}",
            "webhook_listen": "127.0.0.1",
            "webhook_port": port,
            "webhook_secret": SECRET,
            "metrics_port": metrics_port,
            "web_idle_timeout_seconds": IDLE_SECONDS,
            "web_body_timeout_seconds": BODY_SECONDS,
            **settings,
        },
    )
    try:
        await bot.start()
        await until(
            lambda: any(c.method == "setWebhook" for c in telegram.calls), "the webhook registered"
        )
        yield Webhook(bot, telegram, port, metrics_port)
    finally:
        await bot.stop()
        await api.stop()


async def _post_update(webhook: Webhook, text: str) -> float:
    """Posts an update as Telegram does; the seconds until it was answered 200."""
    started = time.monotonic()
    async with httpx.AsyncClient(timeout=10) as http:
        response = await http.post(
            f"http://127.0.0.1:{webhook.port}{HOOK}",
            json=webhook.update(text),
            headers={SECRET_HEADER: SECRET},
        )
    assert response.status_code == 200
    return time.monotonic() - started


@dataclasses.dataclass
class SlowClient:
    """A connection that sends its request a little at a time, until the server closes it."""

    kind: Literal["headers", "body without the secret", "body with the secret"]
    closed_after: float | None = None
    answer: bytes = b""

    def request_head(self, port: int) -> bytes:
        lines = [f"POST {HOOK} HTTP/1.1", f"Host: 127.0.0.1:{port}"]
        if self.kind == "headers":
            return ("\r\n".join(lines) + "\r\n").encode()  # the headers never end
        lines += ["Content-Type: application/json", f"Content-Length: {MIB}"]
        if self.kind == "body with the secret":
            lines.append(f"{SECRET_HEADER}: {SECRET}")
        return ("\r\n".join(lines) + "\r\n\r\n").encode()

    async def run(self, port: int) -> None:
        started = time.monotonic()
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        reading = asyncio.ensure_future(self._read_until_closed(reader))
        try:
            writer.write(self.request_head(port))
            sent = 0
            while not reading.done() and sent < MIB:
                await asyncio.wait({reading}, timeout=0.1)  # ~40 KB/s: 1 MiB in 25 s
                piece = b"X-Padding: x\r\n" if self.kind == "headers" else b" " * 4096
                with contextlib.suppress(ConnectionError):
                    writer.write(piece)
                    await writer.drain()
                sent += len(piece)
            await reading
            self.closed_after = time.monotonic() - started
        finally:
            reading.cancel()
            writer.close()

    async def _read_until_closed(self, reader: asyncio.StreamReader) -> None:
        """Keeps what the server answers, until it closes (a reset after its answer, too)."""
        with contextlib.suppress(ConnectionError):
            while chunk := await reader.read(65536):
                self.answer += chunk


async def test_150_slow_clients_do_not_hold_the_webhook_server(tmp_path: Path) -> None:
    async with _webhook(tmp_path) as webhook:
        await _post_update(webhook, "/start")  # warmed up: the first answer's imports are done
        await until(lambda: webhook.answers() == 1, "the first answer")
        webhook.reset_peak()
        before = webhook.memory_kib("VmRSS")

        kinds = ("headers", "body without the secret", "body with the secret")
        clients = [SlowClient(kinds[n % 3]) for n in range(150)]
        started = time.monotonic()
        tasks = [asyncio.create_task(client.run(webhook.port)) for client in clients]
        try:
            await asyncio.sleep(1.0)  # all of them connected and sending
            # Telegram's update gets through meanwhile, and is answered.
            assert await _post_update(webhook, "/help") < 2.0
            await until(lambda: webhook.answers() == 2, "the answer to /help", seconds=5)
            done, _ = await asyncio.wait(tasks, timeout=IDLE_SECONDS + BODY_SECONDS + 5)
            assert len(done) == len(tasks), "slow clients still held by the server"
            for task in done:
                task.result()
        finally:
            for task in tasks:
                task.cancel()
        peak = webhook.memory_kib("VmHWM")

    everything = time.monotonic() - started
    by_kind = {kind: [c for c in clients if c.kind == kind] for kind in kinds}
    # Without the secret: 403 as soon as the headers are in, none of the body read.
    for client in by_kind["body without the secret"]:
        assert client.answer.startswith(b"HTTP/1.1 403"), client.answer[:40]
        assert client.closed_after is not None and client.closed_after < 1.5
    # Headers that never end: closed after WEB_IDLE_TIMEOUT_SECONDS, unanswered.
    for client in by_kind["headers"]:
        assert client.answer == b""
        assert client.closed_after is not None
        assert IDLE_SECONDS - 0.5 < client.closed_after < IDLE_SECONDS + 2.5
    # With the secret but a body that takes too long: closed after WEB_BODY_TIMEOUT_SECONDS.
    for client in by_kind["body with the secret"]:
        assert client.answer == b""
        assert client.closed_after is not None
        assert BODY_SECONDS - 0.5 < client.closed_after < BODY_SECONDS + 2.5
    assert everything < IDLE_SECONDS + 5
    assert (peak - before) / 1024 < 40, f"resident memory grew by {(peak - before) / 1024:.0f} MB"


async def _answer_to_headers(port: int, request_line: str, length: int) -> bytes:
    """The server's answer to a request's headers announcing a body of `length`, sent as curl
    sends a large body: the headers, then the body only once the server says go on."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    head = (
        f"{request_line} HTTP/1.1\r\nHost: x\r\n{SECRET_HEADER}: {SECRET}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {length}\r\n"
        "Expect: 100-continue\r\n\r\n"
    )
    writer.write(head.encode())
    try:
        async with asyncio.timeout(2):
            return await reader.read()  # the answer, then the server closes
    finally:
        writer.close()


async def test_an_update_body_over_1_mib_is_answered_413_before_it_is_read(
    tmp_path: Path,
) -> None:
    async with _webhook(tmp_path) as webhook:
        answer = await _answer_to_headers(webhook.port, f"POST {HOOK}", 2 * MIB)
        assert answer.startswith(b"HTTP/1.1 413"), answer[:40]  # no "100 Continue"
        assert "a body of 2097152 bytes" in webhook.bot.output()

        # An update just under 1 MiB (padded) is still one.
        padded = json.dumps(webhook.update("/start")) + " " * (MIB - 4096)
        async with httpx.AsyncClient(timeout=5) as http:
            response = await http.post(
                f"http://127.0.0.1:{webhook.port}{HOOK}",
                content=padded.encode(),
                headers={SECRET_HEADER: SECRET, "Content-Type": "application/json"},
            )
            assert response.status_code == 200
            await until(lambda: webhook.answers() == 1, "the answer to the padded update")
        # No other route takes a body: one of 100 KB is refused, not buffered.
        assert b"HTTP/1.1 400" in await _answer_to_headers(webhook.port, "GET /healthz", 100_000)


async def test_connections_beyond_web_max_connections_are_closed_at_once(
    tmp_path: Path,
) -> None:
    async with _webhook(tmp_path, web_max_connections=5, web_idle_timeout_seconds=30) as webhook:
        held = [await asyncio.open_connection("127.0.0.1", webhook.port) for _ in range(5)]
        await asyncio.sleep(0.2)  # accepted
        reader, writer = await asyncio.open_connection("127.0.0.1", webhook.port)
        started = time.monotonic()
        async with asyncio.timeout(2):
            assert await reader.read() == b""  # closed without a word
        assert time.monotonic() - started < 1.0
        writer.close()
        for _, held_writer in held:
            held_writer.close()
        await asyncio.sleep(0.2)  # their closing seen by the server
        assert await _post_update(webhook, "/start") < 2.0  # room again
        assert "connection(s) closed at once, WEB_MAX_CONNECTIONS (5)" in webhook.bot.output()


async def test_metrics_are_served_on_metrics_listen_not_on_the_webhook_port(
    tmp_path: Path,
) -> None:
    async with _webhook(tmp_path) as webhook, httpx.AsyncClient(timeout=5) as http:
        await _post_update(webhook, "/start")
        await until(lambda: webhook.answers() == 1, "the greeting")
        public = await http.get(f"http://127.0.0.1:{webhook.port}/metrics")
        assert public.status_code == 404
        private = await http.get(f"http://127.0.0.1:{webhook.metrics_port}/metrics")
        assert private.status_code == 200
        assert "complaint_bot_updates_total" in private.text
        assert f"Serving /metrics on 127.0.0.1:{webhook.metrics_port}" in webhook.bot.output()
    assert any("Hello Ada" in plain_text(m.text) for m in webhook.telegram.chat_messages(4242))
