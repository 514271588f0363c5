"""This module contains the console: chat with the real bot in a terminal, no token needed.

The real application runs in this process and polls a loopback Bot API on 127.0.0.1, so the
bot behaves exactly as on Telegram. With `--record FILE.yaml` the session is written as a
transcript that replays in the test suite.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TextIO

from pydantic import SecretStr

from bot.app import BuiltBot, build_application
from bot.cli.console_chat import CONSOLE_USER, ConsoleChat
from bot.cli.console_input import StreamLines, TerminalLines
from bot.cli.recording import Recorder, conversation_settings, record_path_problem
from bot.config import Settings
from bot.lifecycle import shut_down, start
from bot.logging_setup import RedactingFormatter, Redactor
from bot.loopback.server import LoopbackBotApiServer
from bot.loopback.telegram import LoopbackTelegram

# The shape of a real token (digits, a colon, 35 characters), though only the loopback sees it.
CONSOLE_TOKEN = "1:console-loopback-token-not-for-tg-00"  # noqa: S105
# A path --record cannot write to: the session is not started.
EXIT_USAGE = 2
LOG_SUFFIX = ".log"
FILES_SUFFIX = ".files"


class _CurrentStderr:
    """Standard error as it is when written to: prompt_toolkit's patch_stdout swaps it for a
    stream that prints above the prompt (a handler keeps the stream it was made with)."""

    def write(self, text: str) -> int:
        return sys.stderr.write(text)

    def flush(self) -> None:
        sys.stderr.flush()


@contextlib.contextmanager
def console_logging(log: Path | None) -> Iterator[None]:
    """While the chat runs no log line lands in the prompt: they go to `log` at LOG_LEVEL, or
    without one (problems only) above the prompt."""
    root = logging.getLogger()
    level = root.level
    on_stderr = [
        handler
        for handler in root.handlers
        if type(handler) is logging.StreamHandler and handler.stream in (sys.stderr, sys.__stderr__)
    ]
    access = logging.getLogger("tornado.access")
    access_level = access.level
    access.setLevel(logging.WARNING)
    file_handler: logging.Handler | None = None
    streams: list[tuple[logging.StreamHandler[Any], Any]] = []
    if log is not None:
        file_handler = logging.FileHandler(log, mode="w", encoding="utf-8")
        formatter = on_stderr[0].formatter if on_stderr else None
        file_handler.setFormatter(formatter or RedactingFormatter(Redactor()))
        for handler in on_stderr:
            root.removeHandler(handler)
        root.addHandler(file_handler)
    else:
        # The conversation is the show: only problems are logged to the terminal.
        root.setLevel(max(level, logging.WARNING))
        streams = [(handler, handler.setStream(_CurrentStderr())) for handler in on_stderr]
    try:
        yield
    finally:
        root.setLevel(level)
        access.setLevel(access_level)
        for handler, stream in streams:
            if stream is not None:
                handler.setStream(stream)
        if file_handler is not None:
            root.removeHandler(file_handler)
            file_handler.close()
            for handler in on_stderr:
                root.addHandler(handler)


async def run_console(
    settings: Settings,
    *,
    record: Path | None = None,
    force: bool = False,
    stdin: TextIO = sys.stdin,
    out: TextIO = sys.stdout,
    err: TextIO = sys.stderr,
) -> int:
    """Runs the bot on a loopback Bot API and chats with it until /quit, end of input (Ctrl-D),
    Ctrl-C or SIGTERM. The recording is written whichever way the session ends, an error
    included; a path it could not be written to is refused before the session starts."""
    if record is not None and (problem := record_path_problem(record, force=force)):
        print(f"--record: {problem}", file=err)
        return EXIT_USAGE
    recorder = (
        Recorder(dict(CONSOLE_USER), time.monotonic, conversation_settings(settings))
        if record
        else None
    )
    try:
        with tempfile.TemporaryDirectory(prefix="complaints-console-") as scratch:
            await _session(settings, record, recorder, Path(scratch), stdin, out)
    finally:
        if record is not None and recorder is not None:
            try:
                recorder.write(record)
            except OSError as error:
                print(f"--record: {record}: could not be written ({error.strerror})", file=err)
                return 1
            print(f"Recorded the session in {record}", file=out)
    return 0


async def _session(
    settings: Settings,
    record: Path | None,
    recorder: Recorder | None,
    scratch: Path,
    stdin: TextIO,
    out: TextIO,
) -> None:
    """The bot on its loopback Bot API, and the chat with it."""
    database = console_database(settings, scratch if record else None)
    telegram = LoopbackTelegram()
    server = LoopbackBotApiServer(telegram)
    await server.start()
    console_settings = settings.model_copy(
        update={
            "telegram_bot_token": SecretStr(CONSOLE_TOKEN),
            "telegram_api_base_url": server.base_url,
            "telegram_rate_limit_per_second": 0,
            "database_path": database,
            # A recording must replay without the shop's real backend.
            "complaint_backend": "local" if record else settings.complaint_backend,
        }
    )
    files = _files_folder(record)
    try:
        built = build_application(console_settings)
        chat = ConsoleChat(telegram, out, recorder, files)
        log = record.with_suffix(LOG_SUFFIX) if record is not None else None
        with console_logging(log):
            await _chat(built, chat, stdin, console_settings, log)
    finally:
        await server.stop()


def _files_folder(record: Path | None) -> Callable[[], Path]:
    """Where the files the bot sends are saved: beside the recording (session.files/), else
    in a folder of their own under the system's temporary folder, made when the first comes."""
    if record is not None:
        return lambda: record.with_suffix(FILES_SUFFIX)
    made: list[Path] = []

    def scratch() -> Path:
        if not made:
            made.append(Path(tempfile.mkdtemp(prefix="complaints-console-files-")))
        return made[0]

    return scratch


async def _chat(
    built: BuiltBot, chat: ConsoleChat, stdin: TextIO, settings: Settings, log: Path | None
) -> None:
    """Starts the bot, then hands typed lines to it until the person leaves."""
    logs = f"the log goes to {log}" if log is not None else "problems are logged above the prompt"
    print(
        f"Chatting with the bot on a local stand-in for Telegram (backend: "
        f"{settings.complaint_backend}, database: {settings.database_path}; {logs}).\n"
        "Type a message and press Enter; type a number to press a button; /quit to leave.",
        file=chat.out,
        flush=True,
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)
    app = built.application
    lines = TerminalLines() if stdin.isatty() and stdin is sys.stdin else StreamLines(stdin)
    try:
        if not await start(built, stop):
            return
        if app.post_init is not None:
            await app.post_init(app)
        assert app.updater is not None
        await app.updater.start_polling(poll_interval=0, timeout=1)
        await app.start()
        with lines.printing():
            chat.handle("/start")
            await chat.settle()
            while not stop.is_set():
                line = await _first(lines.read(), stop)
                if line is None or not chat.handle(line):
                    break
                await chat.settle()  # the answer is printed before the next line is read
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.remove_signal_handler(sig)
        await shut_down(built)


async def _first(read: Any, stop: asyncio.Event) -> str | None:
    """The line `read` gives, or None when `stop` is set first."""
    reading = asyncio.ensure_future(read)
    stopping = asyncio.ensure_future(stop.wait())
    done, _ = await asyncio.wait({reading, stopping}, return_when=asyncio.FIRST_COMPLETED)
    stopping.cancel()
    if reading in done:
        return reading.result()  # type: ignore[no-any-return]
    reading.cancel()
    return None


def console_database(settings: Settings, scratch: Path | None = None) -> Path:
    """The database the console works on: an empty one in `scratch` for a recording (it must
    replay from nothing); DATABASE_PATH while no bot token is configured (no live bot can be
    using it); else a file of its own beside it, so that the console never takes over the
    messages and submissions of the live bot's customers."""
    if scratch is not None:
        return scratch / "console.sqlite3"
    path = settings.database_path
    if settings.telegram_bot_token is None:
        return path
    return path.with_name(f"{path.stem}.console{path.suffix}")
