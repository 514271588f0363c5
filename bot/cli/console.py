"""This module contains the console: chat with the real bot in a terminal, no token needed.

The real application runs in this process and polls a loopback Bot API on 127.0.0.1, so the
bot behaves exactly as on Telegram. With `--record FILE.yaml` the session is written as a
transcript that replays in the test suite.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import signal
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, TextIO

from pydantic import SecretStr

from bot.app import BuiltBot, build_application
from bot.cli.console_input import StreamLines, TerminalLines
from bot.cli.recording import Recorder, conversation_settings, plain
from bot.config import Settings
from bot.lifecycle import shut_down, start
from bot.loopback.customer import CustomerUpdates, make_user
from bot.loopback.server import LoopbackBotApiServer
from bot.loopback.telegram import ApiCall, LoopbackTelegram, reply_keyboard_of

CONSOLE_TOKEN = "1:console-loopback-token"  # noqa: S105 - only the loopback API sees it
CONSOLE_USER_ID = 424242
CONSOLE_USER = {"first_name": "Ada", "language_code": "en"}
QUIT_WORDS = {"/quit", "/exit", "quit", "exit"}
BOLD, ITALIC, RESET = "\033[1m", "\033[3m", "\033[0m"
# Up to this many digits, a number is taken as a button's number, not as text.
BUTTON_NUMBER_DIGITS = 2
# What the person types to press the button of a keyboard under the message field.
KEYBOARD_KEY = "k"


def styled(text: str, colour: bool) -> str:
    """HTML as terminal text: bold and italics as ANSI styles when the terminal has them."""
    if colour:
        text = re.sub(r"<(b|strong)>", BOLD, text)
        text = re.sub(r"<(i|em)>", ITALIC, text)
        text = re.sub(r"</(b|strong|i|em)>", RESET, text)
    return plain(text)


class ConsoleChat:
    """Prints what the bot shows and turns typed lines into updates."""

    def __init__(self, telegram: LoopbackTelegram, out: TextIO, recorder: Recorder | None) -> None:
        self.telegram = telegram
        self.out = out
        self.colour = out.isatty()
        self.recorder = recorder
        self.customer = CustomerUpdates(make_user(CONSOLE_USER_ID, **CONSOLE_USER))
        # The keyboard under the message field, while the bot shows one.
        self.keyboard: list[str] = []
        telegram.listeners.append(self.show)

    def show(self, call: ApiCall) -> None:
        """Prints one thing the bot did in our chat."""
        if call.method == "answerCallbackQuery":
            if call.text:
                self._print(f"  ({call.text})")
                self._record(call)
            return
        if call.chat_id != self.customer.id or call.method not in {
            "sendMessage",
            "editMessageText",
            "sendPhoto",
        }:
            return
        label = {"sendMessage": "bot", "editMessageText": "bot (updated)", "sendPhoto": "bot"}
        lines = styled(call.text, self.colour).splitlines() or [""]
        if call.method == "sendPhoto":
            lines.insert(0, f"[picture: {call.params.get('photo')}]")
        self._print(f"\n{label[call.method]} › " + "\n      ".join(lines))
        if call.buttons:
            numbered = "  ".join(f"[{n}] {text}" for n, text in enumerate(call.buttons, 1))
            self._print(f"      {numbered}")
        self._keep_keyboard(call.params)
        self._record(call)

    def _keep_keyboard(self, params: dict[str, Any]) -> None:
        """A keyboard under the message field (the contact step's [Share my phone number])
        stays until the bot takes it away; shown with the letter that presses it."""
        markup = params.get("reply_markup")
        if isinstance(markup, dict) and markup.get("remove_keyboard"):
            self.keyboard = []
        elif keyboard := reply_keyboard_of(params):
            self.keyboard = keyboard
            self._print(f"      keyboard: [{KEYBOARD_KEY}] {keyboard[0]}")

    def _press_keyboard(self) -> None:
        """What Telegram sends for the keyboard's button: the customer's own contact."""
        if self.recorder is not None:
            self.recorder.user("send", {"kind": "contact", "own": True})
        self.telegram.deliver(self.customer.contact(own=True))

    def _record(self, call: ApiCall) -> None:
        if self.recorder is not None:
            self.recorder.bot(call)

    def _print(self, text: str) -> None:
        # sys.stdout when printing to the terminal: prompt_toolkit swaps it while the prompt is
        # shown, to print above it.
        out = sys.stdout if self.out is sys.__stdout__ else self.out
        print(text, file=out, flush=True)

    async def settle(self, quiet: float = 0.25, limit: float = 10.0) -> None:
        """Waits until the bot has fetched what was typed and has gone quiet."""
        loop = asyncio.get_running_loop()
        seen, since, deadline = len(self.telegram.calls), loop.time(), loop.time() + limit
        while loop.time() < deadline:
            await asyncio.sleep(0.02)
            if self.telegram.unconsumed or len(self.telegram.calls) != seen:
                seen, since = len(self.telegram.calls), loop.time()
            elif loop.time() - since >= quiet:
                if self.recorder is not None:
                    self.recorder.answered()
                return

    def handle(self, line: str) -> bool:
        """Sends what was typed; False when the person wants to leave."""
        text = line.strip()
        if text.lower() in QUIT_WORDS:
            return False
        if not text:
            return True
        if text.lower() == KEYBOARD_KEY and self.keyboard:
            self._press_keyboard()
            return True
        messages = [m for m in self.telegram.chat_messages(self.customer.id) if m.buttons]
        if text.isdigit() and len(text) <= BUTTON_NUMBER_DIGITS and messages:
            buttons = messages[-1].buttons
            if not 1 <= int(text) <= len(buttons):
                self._print(f"  (there is no button {text}: type 1 to {len(buttons)})")
                return True
            message = messages[-1]
            label = buttons[int(text) - 1]
            if self.recorder is not None:
                self.recorder.user("press", label)
            self.telegram.deliver(self.customer.press(message, message.callback_data(label)))
            return True
        if self.recorder is not None:
            self.recorder.user("user", text)
        self.telegram.deliver(self.customer.text(text))
        return True


async def run_console(
    settings: Settings,
    *,
    record: Path | None = None,
    stdin: TextIO = sys.stdin,
    out: TextIO = sys.stdout,
) -> int:
    """Runs the bot on a loopback Bot API and chats with it until /quit, end of input, Ctrl-C
    or SIGTERM (each of which writes the recording)."""
    with tempfile.TemporaryDirectory(prefix="complaints-console-") as scratch:
        database = console_database(settings, Path(scratch) if record else None)
        recorder = (
            Recorder(dict(CONSOLE_USER), time.monotonic, conversation_settings(settings))
            if record
            else None
        )
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
        built = build_application(console_settings)
        try:
            await _chat(built, ConsoleChat(telegram, out, recorder), stdin, console_settings)
        finally:
            await server.stop()
    if record is not None and recorder is not None:
        recorder.write(record)
        print(f"Recorded the session in {record}", file=out)
    return 0


async def _chat(built: BuiltBot, chat: ConsoleChat, stdin: TextIO, settings: Settings) -> None:
    """Starts the bot, then hands typed lines to it until the person leaves."""
    print(
        f"Chatting with the bot on a local stand-in for Telegram (backend: "
        f"{settings.complaint_backend}, database: {settings.database_path}).\n"
        "Type a message and press Enter; type a number to press a button; /quit to leave.",
        file=chat.out,
        flush=True,
    )
    # The conversation is the show: only problems are logged to the terminal.
    logging.getLogger().setLevel(max(logging.getLogger().level, logging.WARNING))
    logging.getLogger("tornado.access").setLevel(logging.WARNING)
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
