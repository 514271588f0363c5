"""This module contains the console: chat with the real bot in a terminal, no token needed.

The real application runs in this process and polls a loopback Bot API on 127.0.0.1, so the
bot behaves exactly as on Telegram. With `--record FILE.yaml` the session is written as a
transcript that replays in the test suite.
"""

from __future__ import annotations

import asyncio
import html
import logging
import re
import sys
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO

import yaml
from pydantic import SecretStr

from bot.app import build_application
from bot.config import Settings
from bot.loopback.customer import CustomerUpdates, make_user
from bot.loopback.server import LoopbackBotApiServer
from bot.loopback.telegram import ApiCall, LoopbackTelegram

CONSOLE_TOKEN = "1:console-loopback-token"  # noqa: S105 - only the loopback API sees it
CONSOLE_USER_ID = 424242
QUIT_WORDS = {"/quit", "/exit", "quit", "exit"}
BOLD, ITALIC, RESET = "\033[1m", "\033[3m", "\033[0m"


@dataclass
class Recorder:
    """Collects the session as transcript steps."""

    customer: dict[str, Any]
    steps: list[dict[str, Any]] = field(default_factory=list)

    def user(self, kind: str, value: str) -> None:
        self.steps.append({kind: value})

    def bot(self, call: ApiCall) -> None:
        if call.method == "answerCallbackQuery":
            self.steps.append({"bot": {"toast": call.text}})
            return
        first_line = plain(call.text).strip().splitlines()[0] if call.text.strip() else ""
        expected: dict[str, Any] = {"text_contains": first_line, "buttons": call.buttons}
        if call.method == "sendPhoto":
            expected["photo"] = True
        self.steps.append({"bot": expected})

    def write(self, path: Path) -> None:
        when = datetime.now(tz=UTC).strftime("%Y-%m-%d %H:%M UTC")
        document = {
            "title": f"Recorded in the console on {when}",
            "customer": self.customer,
            "steps": self.steps,
        }
        path.write_text(yaml.safe_dump(document, allow_unicode=True, sort_keys=False), "utf-8")


def plain(text: str) -> str:
    """HTML as plain text."""
    return html.unescape(re.sub(r"<[^>]+>", "", text))


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
        self.customer = CustomerUpdates(make_user(CONSOLE_USER_ID, "Ada"))
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
        self._record(call)

    def _record(self, call: ApiCall) -> None:
        if self.recorder is not None:
            self.recorder.bot(call)

    def _print(self, text: str) -> None:
        print(text, file=self.out, flush=True)

    async def settle(self, quiet: float = 0.25, limit: float = 10.0) -> None:
        """Waits until the bot has fetched what was typed and has gone quiet."""
        loop = asyncio.get_running_loop()
        seen, since, deadline = len(self.telegram.calls), loop.time(), loop.time() + limit
        while loop.time() < deadline:
            await asyncio.sleep(0.02)
            if self.telegram.unconsumed or len(self.telegram.calls) != seen:
                seen, since = len(self.telegram.calls), loop.time()
            elif loop.time() - since >= quiet:
                return

    def handle(self, line: str) -> bool:
        """Sends what was typed; False when the person wants to leave."""
        text = line.strip()
        if text.lower() in QUIT_WORDS:
            return False
        if not text:
            return True
        messages = [m for m in self.telegram.chat_messages(self.customer.id) if m.buttons]
        if text.isdigit() and messages and 1 <= int(text) <= len(messages[-1].buttons):
            message = messages[-1]
            label = message.buttons[int(text) - 1]
            if self.recorder is not None:
                self.recorder.user("press", label)
            self.telegram.deliver(self.customer.press(message, message.callback_data(label)))
            return True
        if self.recorder is not None:
            self.recorder.user("user", text)
        self.telegram.deliver(self.customer.text(text))
        return True


def console_database(settings: Settings) -> Path:
    """The database the console works on: DATABASE_PATH while no bot token is configured (no
    live bot can be using it), else a file of its own beside it, so that the console never
    takes over the messages and submissions of the live bot's customers."""
    path = settings.database_path
    if settings.telegram_bot_token is None:
        return path
    return path.with_name(f"{path.stem}.console{path.suffix}")


async def run_console(
    settings: Settings,
    *,
    record: Path | None = None,
    stdin: TextIO = sys.stdin,
    out: TextIO = sys.stdout,
) -> int:
    """Runs the bot on a loopback Bot API and chats with it until /quit or end of input."""
    telegram = LoopbackTelegram()
    server = LoopbackBotApiServer(telegram)
    await server.start()
    database = console_database(settings)
    console_settings = settings.model_copy(
        update={
            "telegram_bot_token": SecretStr(CONSOLE_TOKEN),
            "telegram_api_base_url": server.base_url,
            "telegram_rate_limit_per_second": 0,
            "database_path": database,
        }
    )
    recorder = Recorder({"first_name": "Ada"}) if record else None
    chat = ConsoleChat(telegram, out, recorder)
    application = build_application(console_settings).application
    print(
        f"Chatting with the bot on a local stand-in for Telegram (backend: "
        f"{settings.complaint_backend}, database: {database}).\n"
        "Type a message and press Enter; type a number to press a button; /quit to leave.",
        file=out,
        flush=True,
    )
    # The conversation is the show: only problems are logged to the terminal.
    logging.getLogger().setLevel(max(logging.getLogger().level, logging.WARNING))
    logging.getLogger("tornado.access").setLevel(logging.WARNING)
    await application.initialize()
    if application.post_init is not None:
        await application.post_init(application)
    assert application.updater is not None
    await application.updater.start_polling(poll_interval=0, timeout=1)
    await application.start()
    try:
        chat.handle("/start")
        await chat.settle()
        while True:
            if stdin.isatty():
                print("you › ", end="", file=out, flush=True)
            line = await asyncio.to_thread(stdin.readline)
            if not line or not chat.handle(line):
                break
            await chat.settle()  # the answer is printed before the next line is read
    finally:
        await application.updater.stop()
        await application.stop()
        if application.post_stop is not None:
            await application.post_stop(application)
        await application.shutdown()
        if application.post_shutdown is not None:
            await application.post_shutdown(application)
        await server.stop()
    if record is not None and recorder is not None:
        recorder.write(record)
        print(f"Recorded the session in {record}", file=out)
    return 0
