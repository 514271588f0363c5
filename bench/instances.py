"""This module contains pg2: two webhook instances of the bot on one PostgreSQL database."""

from __future__ import annotations

import asyncio
import itertools
import secrets
import socket
from collections import Counter
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import httpx

from bench.process import BotProcess, BotProcessError
from bench.simulator import BenchTelegram
from bot.web.server import HEALTH_PATH
from bot.web.webhook import SECRET_HEADER

HOST = "127.0.0.1"
INSTANCES = 2
WEBHOOK_URL = "https://bench.example/hook"
WEBHOOK_PATH = "/hook"
# Generous: under a burst the harness may queue many POSTs (the bot answers each at once).
POST_TIMEOUT = httpx.Timeout(30.0, pool=None)
HEALTH_TIMEOUT_SECONDS = 1.0


def free_port() -> int:
    """A port of 127.0.0.1 nothing listens on now."""
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return int(probe.getsockname()[1])


def new_secret() -> str:
    """A WEBHOOK_SECRET: 43 characters of [A-Za-z0-9_-]."""
    return secrets.token_urlsafe(32)


class WebhookTelegram(BenchTelegram):
    """BenchTelegram that POSTs each update to the instances' webhooks in turn, as a load
    balancer in front of them would, instead of queueing it for getUpdates.

    The customers are not held up: each POST runs as a task of its own, over one shared
    httpx client. A POST that fails or is refused is recorded, and `check()` raises it.
    """

    def __init__(self, ports: Sequence[int], secret: str) -> None:
        super().__init__()
        self.urls = [f"http://{HOST}:{port}{WEBHOOK_PATH}" for port in ports]
        self.secret = secret
        self.posted: Counter[str] = Counter()  # updates posted, by instance URL
        self.errors: list[str] = []
        self._turns = itertools.cycle(self.urls)
        self._http = httpx.AsyncClient(timeout=POST_TIMEOUT)
        self._posts: set[asyncio.Task[None]] = set()

    def deliver(self, update: dict[str, Any]) -> dict[str, Any]:
        """Numbers the update and posts it to the next instance (in the background)."""
        update = {"update_id": next(self._update_ids), **update}
        self.pressed(update)  # a press Telegram saw: its answerCallbackQuery is accepted
        url = next(self._turns)
        task = asyncio.get_running_loop().create_task(self._post(url, update))
        self._posts.add(task)
        task.add_done_callback(self._posts.discard)
        return update

    async def _post(self, url: str, update: dict[str, Any]) -> None:
        try:
            response = await self._http.post(url, json=update, headers={SECRET_HEADER: self.secret})
        except httpx.HTTPError as err:
            self.errors.append(f"POST {url}: {type(err).__name__}: {err}")
            return
        if response.status_code != httpx.codes.OK:
            self.errors.append(f"POST {url}: {response.status_code} {response.text[:200]}")
            return
        self.posted[url] += 1

    def check(self) -> None:
        """Raises BotProcessError if a POST failed (Telegram would retry; the bench stops)."""
        if self.errors:
            raise BotProcessError(
                f"{len(self.errors)} webhook POSTs failed, the first: {self.errors[0]}"
            )

    async def healthy(self, port: int) -> bool:
        """Whether the instance on `port` answers GET /healthz with 200."""
        try:
            response = await self._http.get(
                f"http://{HOST}:{port}{HEALTH_PATH}", timeout=HEALTH_TIMEOUT_SECONDS
            )
        except httpx.HTTPError:
            return False
        return response.status_code == httpx.codes.OK

    async def aclose(self) -> None:
        """Cancels the POSTs still under way and closes the client."""
        for task in list(self._posts):
            task.cancel()
        await asyncio.gather(*self._posts, return_exceptions=True)
        await self._http.aclose()


class WebhookInstances:
    """`python -m bot` INSTANCES times in webhook mode on one database, measured together:
    CPU and memory are the sums over the processes."""

    bot = "pg2"

    def __init__(
        self,
        workdir: Path,
        telegram: WebhookTelegram,
        ports: Sequence[int],
        *,
        database_url: str,
        api_base_url: str,
        backend_url: str,
        extra_env: Mapping[str, str] | None = None,
    ) -> None:
        self.workdir = workdir
        self.log = workdir  # one log per instance in this folder
        self.telegram = telegram
        self.ports = list(ports)
        self.processes = [
            BotProcess(
                self.bot,
                workdir,
                api_base_url=api_base_url,
                backend_url=backend_url,
                extra_env={
                    **(extra_env or {}),
                    "DATABASE_URL": database_url,
                    "BOT_MODE": "webhook",
                    "WEBHOOK_URL": WEBHOOK_URL,
                    "WEBHOOK_LISTEN": HOST,
                    "WEBHOOK_PORT": str(port),
                    "WEBHOOK_SECRET": telegram.secret,
                },
                name=f"{self.bot}-{n}",
            )
            for n, port in enumerate(self.ports)
        ]

    async def start(self) -> None:
        """Spawns every instance at once, then waits until each one's /healthz answers 200."""
        try:
            for process in self.processes:
                await process.spawn()
            for process, port in zip(self.processes, self.ports, strict=True):

                async def ready(port: int = port) -> bool:
                    return await self.telegram.healthy(port)

                await process.wait_until(ready, f"answer {HEALTH_PATH} on port {port}")
        except BaseException:
            await self.stop()
            raise

    def check_alive(self) -> None:
        """Raises BotProcessError if an instance has exited."""
        for process in self.processes:
            process.check_alive()

    def cpu_seconds(self) -> float:
        """User plus system CPU time of all the instances together."""
        return sum(process.cpu_seconds() for process in self.processes)

    def rss_bytes(self) -> int:
        """Resident memory of all the instances together."""
        return sum(process.rss_bytes() for process in self.processes)

    async def stop(self) -> None:
        """Stops every instance (SIGTERM, then SIGKILL)."""
        await asyncio.gather(*(process.stop() for process in self.processes))


def instance_ports() -> list[int]:
    """One free port per instance."""
    ports: list[int] = []
    while len(ports) < INSTANCES:
        port = free_port()
        if port not in ports:
            ports.append(port)
    return ports
