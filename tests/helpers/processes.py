"""`python -m bot` as real processes, and a middleware backend on 127.0.0.1 for them to call."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import tornado.httpserver
import tornado.netutil
import tornado.web

TEST_TOKEN = "123456:LOOPBACK-token-for-tests-only-abcdefghij"
WAIT_SECONDS = 30.0


class BotProcess:
    """One `python -m bot` with the given settings, its output in `log`."""

    def __init__(self, workdir: Path, settings: dict[str, Any], name: str = "bot") -> None:
        self.workdir = workdir
        self.settings = settings
        self.log = workdir / f"{name}.log"
        self.process: asyncio.subprocess.Process | None = None

    def environment(self) -> dict[str, str]:
        """The process's whole environment: PATH, a home, and the settings (nothing else)."""
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": str(self.workdir),
            "TELEGRAM_BOT_TOKEN": TEST_TOKEN,
            "DATABASE_PATH": str(self.workdir / "bot.sqlite3"),
            "TELEGRAM_RATE_LIMIT_PER_SECOND": "0",
        }
        env.update({name.upper(): str(value) for name, value in self.settings.items()})
        return env

    async def start(self, *args: str) -> None:
        """Starts `python -m bot [args]`."""
        with self.log.open("ab") as log:
            self.process = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "bot",
                *args,
                env=self.environment(),
                cwd=self.workdir,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=log,
                stderr=log,
            )

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.returncode is None

    async def stop(self, sig: int = signal.SIGTERM) -> int:
        """Sends `sig` (SIGKILL: no goodbye) and waits for the exit status."""
        assert self.process is not None
        if self.process.returncode is None:
            self.process.send_signal(sig)
            try:
                async with asyncio.timeout(WAIT_SECONDS):
                    await self.process.wait()
            except TimeoutError:
                self.process.kill()
                await self.process.wait()
        assert self.process.returncode is not None
        return self.process.returncode

    def output(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")


async def until(condition: Callable[[], bool], what: str, seconds: float = WAIT_SECONDS) -> None:
    """Waits for `condition`, failing the test with `what` after `seconds`."""
    deadline = asyncio.get_running_loop().time() + seconds
    while not condition():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"timed out waiting: {what}")
        await asyncio.sleep(0.05)


class _RaiseComplaint(tornado.web.RequestHandler):
    def initialize(self, server: MiddlewareServer) -> None:
        self.server = server

    async def post(self) -> None:
        key = self.request.headers.get("Idempotency-Key", "")
        self.server.requests[key] += 1
        number = self.server.numbers.setdefault(key, str(12344 + len(self.server.numbers) + 1))
        await asyncio.sleep(self.server.delay)
        self.set_header("Content-Type", "application/json")
        self.finish(
            json.dumps(
                {
                    "response": {
                        "responseType": "container",
                        "responseMessages": [
                            {
                                "containerResponse": {
                                    "responseText": f"Registered complaint Number {number}.",
                                    "attributes": [{"name": "complaintId", "value": number}],
                                }
                            }
                        ],
                    }
                }
            )
        )


class MiddlewareServer:
    """The middleware's raiseComplaintsAgainstOrder on 127.0.0.1: it counts requests by
    Idempotency-Key, numbers complaints from 12345, and answers after `delay` seconds."""

    PATH = "/api/rest/v1/ecom/integrations/raiseComplaintsAgainstOrder"

    def __init__(self, delay: float = 0.0) -> None:
        self.delay = delay
        self.requests: Counter[str] = Counter()
        self.numbers: dict[str, str] = {}
        self._server: tornado.httpserver.HTTPServer | None = None
        self.port = 0

    @property
    def settings(self) -> dict[str, str]:
        """The bot's settings for this backend."""
        return {
            "complaint_backend": "middleware",
            "middleware_base_url": f"http://127.0.0.1:{self.port}",
            "middleware_token": "mw-token-1234",
        }

    async def start(self) -> None:
        app = tornado.web.Application([(self.PATH, _RaiseComplaint, {"server": self})])
        sockets = tornado.netutil.bind_sockets(0, "127.0.0.1")
        self.port = sockets[0].getsockname()[1]
        self._server = tornado.httpserver.HTTPServer(app)
        self._server.add_sockets(sockets)

    async def stop(self) -> None:
        if self._server is not None:
            self._server.stop()
            await self._server.close_all_connections()
