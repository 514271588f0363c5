"""`python -m bot` as real processes, started and stopped as an operator would."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from tests.helpers.driver import OLD_FLOW

TEST_TOKEN = "123456:LOOPBACK-token-for-tests-only-abcde"
WAIT_SECONDS = 30.0


class BotProcess:
    """One `python -m bot` with the given settings, its output in `log`."""

    def __init__(
        self,
        workdir: Path,
        settings: dict[str, Any],
        name: str = "bot",
        *,
        wrapper: Sequence[str] = (),
    ) -> None:
        self.workdir = workdir
        self.settings = settings
        self.wrapper = list(wrapper)  # e.g. setpriv, to run without root's privileges
        self.log = workdir / f"{name}.log"
        self.process: asyncio.subprocess.Process | None = None

    def environment(self) -> dict[str, str]:
        """The process's whole environment: PATH, a home, and the settings (nothing else)."""
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": str(self.workdir),
            "TELEGRAM_BOT_TOKEN": TEST_TOKEN,
            # Never the internet: a port nothing listens on, unless a test gives its own.
            "TELEGRAM_API_BASE_URL": "http://127.0.0.1:9/bot",
            "DATABASE_PATH": str(self.workdir / "bot.sqlite3"),
            "TELEGRAM_RATE_LIMIT_PER_SECOND": "0",
            **OLD_FLOW,
        }
        env.update({name.upper(): str(value) for name, value in self.settings.items()})
        return env

    async def start(self, *args: str, stdin: bool = False) -> None:
        """Starts `python -m bot [args]` (with a pipe to type into, when `stdin`)."""
        with self.log.open("ab") as log:
            self.process = await asyncio.create_subprocess_exec(
                *self.wrapper,
                sys.executable,
                "-m",
                "bot",
                *args,
                env=self.environment(),
                cwd=self.workdir,
                stdin=asyncio.subprocess.PIPE if stdin else asyncio.subprocess.DEVNULL,
                stdout=log,
                stderr=log,
            )

    async def type(self, line: str) -> None:
        """Types a line into the process's standard input."""
        assert self.process is not None and self.process.stdin is not None
        self.process.stdin.write(f"{line}\n".encode())
        await self.process.stdin.drain()

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

    async def exit_status(self, seconds: float = WAIT_SECONDS) -> int:
        """Waits for the process to end by itself (failing the test if it does not)."""
        assert self.process is not None
        async with asyncio.timeout(seconds):
            return await self.process.wait()


async def until(condition: Callable[[], bool], what: str, seconds: float = WAIT_SECONDS) -> None:
    """Waits for `condition`, failing the test with `what` after `seconds`."""
    deadline = asyncio.get_running_loop().time() + seconds
    while not condition():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"timed out waiting: {what}")
        await asyncio.sleep(0.05)
