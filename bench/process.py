"""This module contains BotProcess: a bot under test in its own process, its CPU and memory read."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections.abc import Awaitable, Callable, Mapping
from pathlib import Path
from typing import Protocol

from bot.loopback.telegram import LoopbackTelegram

ROOT = Path(__file__).resolve().parent.parent
# ours: `python -m bot` polling, on SQLite; pg2: two of it in webhook mode on one PostgreSQL
# database (bench/instances.py); baseline: bench/baseline.py. Also the table's column order.
BOTS = ("ours", "pg2", "baseline")
TOKEN = "123456:BENCH-token-for-the-loopback-only-a"  # noqa: S105 - loopback only
BACKEND_TOKEN = "bench-token"  # noqa: S105 - loopback only
START_SECONDS = 30.0
STOP_SECONDS = 5.0
POLL_SECONDS = 0.02
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


class BotProcessError(RuntimeError):
    """The bot under test did not start, or died."""


class BotUnderTest(Protocol):
    """What a phase measures: one process, or several taken together."""

    bot: str
    log: Path

    def check_alive(self) -> None: ...

    def cpu_seconds(self) -> float: ...

    def rss_bytes(self) -> int: ...

    async def stop(self) -> None: ...


def command(bot: str) -> list[str]:
    """The command line that runs `bot` ("ours" and "pg2" run the same program)."""
    if bot in ("ours", "pg2"):
        return [sys.executable, "-m", "bot"]
    if bot == "baseline":
        return [sys.executable, str(ROOT / "bench" / "baseline.py")]
    raise ValueError(f"unknown bot {bot!r}; choose one of {', '.join(BOTS)}")


def environment(
    bot: str, workdir: Path, api_base_url: str, backend_url: str, extra: Mapping[str, str]
) -> dict[str, str]:
    """The process's whole environment: nothing is inherited but PATH."""
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(workdir),
        "PYTHONPATH": str(ROOT),
        "TELEGRAM_BOT_TOKEN": TOKEN,
        "TELEGRAM_API_BASE_URL": api_base_url,
        "MIDDLEWARE_BASE_URL": backend_url,
        "MIDDLEWARE_TOKEN": BACKEND_TOKEN,
    }
    if bot in ("ours", "pg2"):
        env |= {
            "COMPLAINT_BACKEND": "middleware",
            # The benchmark measures the bot, not Telegram's flood limit.
            "TELEGRAM_RATE_LIMIT_PER_SECOND": "0",
            # The baseline's three questions: no photos or solution step, so both do one job.
            "COMPLAINT_RESOLUTIONS": "",
            "ASK_PHOTOS": "off",
        }
    if bot == "ours":
        env["DATABASE_PATH"] = str(workdir / "bot.sqlite3")
    return env | dict(extra)


class BotProcess:
    """`python -m bot` or `python bench/baseline.py`, polling a loopback Bot API (or, for
    pg2, serving a webhook: see bench/instances.py)."""

    def __init__(
        self,
        bot: str,
        workdir: Path,
        *,
        api_base_url: str,
        backend_url: str,
        extra_env: Mapping[str, str] | None = None,
        name: str | None = None,
    ) -> None:
        self.bot = bot
        self.workdir = workdir
        self.argv = command(bot)
        self.env = environment(bot, workdir, api_base_url, backend_url, extra_env or {})
        self.log = workdir / f"{name or bot}.log"
        self._process: asyncio.subprocess.Process | None = None

    @property
    def pid(self) -> int:
        """The process id (once started)."""
        if self._process is None:
            raise BotProcessError("not started")
        return self._process.pid

    async def start(self, telegram: LoopbackTelegram) -> None:
        """Spawns the process and waits until it long-polls `telegram`."""
        polls = telegram.polls

        async def polling() -> bool:
            return telegram.polls > polls

        await self.spawn()
        await self.wait_until(polling, "start polling")

    async def spawn(self) -> None:
        """Spawns the process (without waiting for anything)."""
        self.workdir.mkdir(parents=True, exist_ok=True)
        with self.log.open("ab") as log:
            self._process = await asyncio.create_subprocess_exec(
                *self.argv,
                env=self.env,
                cwd=self.workdir,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=log,
                stderr=log,
            )

    async def wait_until(self, ready: Callable[[], Awaitable[bool]], what: str) -> None:
        """Waits until `ready()` is true; stops the process if it is not within START_SECONDS."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + START_SECONDS
        while not await ready():
            self.check_alive()
            if loop.time() > deadline:
                await self.stop()
                raise BotProcessError(f"{self.bot} did not {what}; see {self.log}")
            await asyncio.sleep(POLL_SECONDS)

    def check_alive(self) -> None:
        """Raises BotProcessError (with the log's tail) if the process has exited."""
        if self._process is not None and self._process.returncode is not None:
            tail = self.log.read_text(errors="replace")[-2000:]
            raise BotProcessError(f"{self.bot} exited ({self._process.returncode}): {tail}")

    def cpu_seconds(self) -> float:
        """User plus system CPU time of the process so far (all its threads), from /proc."""
        stat = Path(f"/proc/{self.pid}/stat").read_text()
        # Fields after the parenthesised command name; utime and stime are fields 14 and 15.
        fields = stat[stat.rindex(")") + 2 :].split()
        return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS

    def rss_bytes(self) -> int:
        """Resident memory (VmRSS) of the process, from /proc."""
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
        raise BotProcessError("no VmRSS in /proc status")

    async def stop(self) -> None:
        """SIGTERM, then SIGKILL if it does not exit within STOP_SECONDS."""
        process = self._process
        if process is None or process.returncode is not None:
            return
        process.send_signal(signal.SIGTERM)
        try:
            async with asyncio.timeout(STOP_SECONDS):
                await process.wait()
        except TimeoutError:
            process.kill()
            await process.wait()
