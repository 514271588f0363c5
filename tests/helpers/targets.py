"""Where transcripts run: in-process through BotHarness, or `python -m bot` over loopback HTTP."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path
from typing import Any

from bot.cli.desk import set_status
from bot.loopback.server import LoopbackBotApiServer
from bot.loopback.telegram import ApiCall, LoopbackTelegram
from tests.helpers.driver import OLD_FLOW, BotHarness, FakeClock
from tests.helpers.transcript import (
    CUSTOMER_ID,
    Outputs,
    ScriptedHttp,
    Transcript,
    TranscriptFailure,
    prepare_telegram,
    replay,
    transcript_settings,
)

# How long the process may take to answer, and how long "nothing more" must last.
ANSWER_SECONDS = 10.0
QUIET_SECONDS = 0.4
POLL_SECONDS = 0.02


class InProcessTarget:
    """The real Application in this process; every action is settled before the next step."""

    def __init__(self, harness: BotHarness, http: ScriptedHttp | None) -> None:
        self.harness = harness
        self.telegram = harness.api.telegram
        self.http = http

    async def act(self, update: dict[str, Any]) -> None:
        await self.harness.feed(update, CUSTOMER_ID)
        await self.harness.settle()

    async def restart(self) -> None:
        await self.harness.restart()

    async def wait(self, seconds: float) -> None:
        await self.harness.advance(seconds)

    async def desk(self, number: str, status: str, note: str | None) -> None:
        if await set_status(self.harness.settings, number, status, note) != 0:
            raise TranscriptFailure(f"there is no desk complaint {number}")
        await self.harness.settle()  # the running bot sends what the desk CLI owes

    async def next_output(self, outputs: Outputs) -> ApiCall | None:
        return outputs.take()

    async def quiet(self) -> None:
        return None

    async def until(self, condition: Any) -> None:
        """In-process everything has settled after each step: one look is enough."""
        await self.harness.settle()


async def replay_in_process(transcript: Transcript, workdir: Path) -> None:
    """Replays a transcript through the real Application in this process, as `make transcript`
    does: its settings over the tests' defaults (a recording's: over the shipped ones), a
    scripted HTTP backend when it names one, time that moves only at `wait` steps."""
    uses_http = transcript.settings.get("complaint_backend", "local") != "local"
    http = ScriptedHttp() if uses_http else None
    settings = transcript_settings(transcript, workdir / "bot.sqlite3")
    clock = FakeClock()
    telegram = LoopbackTelegram(clock=clock)
    prepare_telegram(transcript, telegram)
    harness = BotHarness(
        settings, http_client=http.client() if http else None, clock=clock, telegram=telegram
    )
    await harness.start()
    try:
        await replay(transcript, InProcessTarget(harness, http))
    finally:
        await harness.stop()


class ProcessTarget:
    """`python -m bot` as a separate process, polling a loopback Bot API on 127.0.0.1."""

    http: ScriptedHttp | None = None

    def __init__(
        self, workdir: Path, settings: dict[str, Any], *, shipped_defaults: bool = False
    ) -> None:
        self.shipped_defaults = shipped_defaults  # a recording: no OLD_FLOW beneath its settings
        self.telegram = LoopbackTelegram()
        self.server = LoopbackBotApiServer(self.telegram)
        self.workdir = workdir
        self.settings = settings
        self.process: asyncio.subprocess.Process | None = None
        self.log = workdir / "bot.log"

    async def start(self) -> None:
        await self.server.start()
        await self._spawn()

    def _env(self) -> dict[str, str]:
        return {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": str(self.workdir),
            "TELEGRAM_BOT_TOKEN": "123456:LOOPBACK-token-for-tests-only-abcde",
            "TELEGRAM_API_BASE_URL": self.server.base_url,
            "DATABASE_PATH": str(self.workdir / "bot.sqlite3"),
            "TELEGRAM_RATE_LIMIT_PER_SECOND": "0",
            **({} if self.shipped_defaults else OLD_FLOW),
            **{name.upper(): str(value) for name, value in self.settings.items()},
        }

    async def _spawn(self) -> None:
        env = self._env()
        polls = self.telegram.polls
        with self.log.open("ab") as log:
            self.process = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "bot",
                env=env,
                cwd=self.workdir,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=log,
                stderr=log,
            )
        await self._until(lambda: self.telegram.polls > polls, "start polling")

    async def stop(self) -> None:
        if self.process is not None and self.process.returncode is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                async with asyncio.timeout(ANSWER_SECONDS):
                    await self.process.wait()
            except TimeoutError:
                self.process.kill()
                await self.process.wait()
        await self.server.stop()

    async def act(self, update: dict[str, Any]) -> None:
        self.telegram.deliver(update)
        await self._until(lambda: self.telegram.unconsumed == 0, "fetch the update")
        await self.quiet()

    async def restart(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGTERM)
        async with asyncio.timeout(ANSWER_SECONDS):
            code = await self.process.wait()
        if code != 0:
            raise TranscriptFailure(f"python -m bot exited with {code} on SIGTERM; see {self.log}")
        await self._spawn()

    async def wait(self, seconds: float) -> None:
        raise TranscriptFailure("'wait' steps only run in-process (time cannot move for a process)")

    async def desk(self, number: str, status: str, note: str | None) -> None:
        """`python -m bot desk set-status` beside the running bot, on its database."""
        note_args = ["--note", note] if note is not None else []
        with self.log.open("ab") as log:
            cli = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "bot",
                "desk",
                "set-status",
                number,
                status,
                *note_args,
                env=self._env(),
                cwd=self.workdir,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=log,
                stderr=log,
            )
            async with asyncio.timeout(ANSWER_SECONDS * 3):
                code = await cli.wait()
        if code != 0:
            raise TranscriptFailure(f"python -m bot desk set-status exited with {code}")

    async def next_output(self, outputs: Outputs) -> ApiCall | None:
        deadline = asyncio.get_running_loop().time() + ANSWER_SECONDS
        while asyncio.get_running_loop().time() < deadline:
            call = outputs.take()
            if call is not None:
                return call
            await asyncio.sleep(POLL_SECONDS)
        return None

    async def quiet(self) -> None:
        """Waits until the bot has made no Bot API call for QUIET_SECONDS."""
        loop = asyncio.get_running_loop()
        seen, since = len(self.telegram.calls), loop.time()
        deadline = since + ANSWER_SECONDS
        while loop.time() < deadline:
            await asyncio.sleep(POLL_SECONDS)
            if len(self.telegram.calls) != seen:
                seen, since = len(self.telegram.calls), loop.time()
            elif loop.time() - since >= QUIET_SECONDS:
                return

    async def until(self, condition: Any) -> None:
        """Waits (up to ANSWER_SECONDS) for the process to make `condition` true."""
        deadline = asyncio.get_running_loop().time() + ANSWER_SECONDS
        while not condition():
            if asyncio.get_running_loop().time() > deadline:
                return  # the step itself says what is missing
            await asyncio.sleep(POLL_SECONDS)

    async def _until(self, condition: Any, what: str) -> None:
        deadline = asyncio.get_running_loop().time() + ANSWER_SECONDS * 3
        while not condition():
            if self.process is not None and self.process.returncode is not None:
                raise TranscriptFailure(
                    f"python -m bot exited ({self.process.returncode}): "
                    f"{self.log.read_text()[-2000:]}"
                )
            if asyncio.get_running_loop().time() > deadline:
                raise TranscriptFailure(f"python -m bot did not {what} in time")
            await asyncio.sleep(POLL_SECONDS)
