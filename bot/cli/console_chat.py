"""This module contains ConsoleChat: what the bot shows, printed; what the person types, sent.

Everything a customer sees on Telegram is shown: messages, edits, toasts, every button (the
inline ones numbered, the keyboard under the message field lettered), and the files the bot
sends, saved in a folder and named on the screen.
"""

from __future__ import annotations

import asyncio
import re
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TextIO

from bot.cli.recording import Recorder, plain
from bot.loopback.customer import CustomerUpdates, make_user
from bot.loopback.telegram import ApiCall, LoopbackTelegram, StoredFile, reply_keyboard_of

CONSOLE_USER_ID = 424242
CONSOLE_USER = {"first_name": "Ada", "language_code": "en"}
QUIT_WORDS = {"/quit", "/exit", "quit", "exit"}
BOLD, ITALIC, RESET = "\033[1m", "\033[3m", "\033[0m"
# Up to this many digits, a number is taken as a button's number, not as text.
BUTTON_NUMBER_DIGITS = 2
# What the person types to press the first button of a keyboard under the message field; the
# others are k2, k3, ...
KEYBOARD_KEY = "k"
SHOWN = {"sendMessage": "bot", "editMessageText": "bot (updated)", "sendPhoto": "bot"}
SHOWN |= {"sendDocument": "bot", "sendVideo": "bot"}


def styled(text: str, colour: bool) -> str:
    """HTML as terminal text: bold and italics as ANSI styles when the terminal has them."""
    if colour:
        text = re.sub(r"<(b|strong)>", BOLD, text)
        text = re.sub(r"<(i|em)>", ITALIC, text)
        text = re.sub(r"</(b|strong|i|em)>", RESET, text)
    return plain(text)


def safe_file_name(name: str, fallback: str) -> str:
    """A file name that stays inside its folder (no path, no leading dot)."""
    cleaned = re.sub(r"[^\w.-]+", "_", Path(name).name).lstrip(".")
    return cleaned or fallback


class ConsoleChat:
    """Prints what the bot shows and turns typed lines into updates."""

    def __init__(
        self,
        telegram: LoopbackTelegram,
        out: TextIO,
        recorder: Recorder | None,
        files: Callable[[], Path],
    ) -> None:
        self.telegram = telegram
        self.out = out
        self.colour = out.isatty()
        self.recorder = recorder
        # The folder the bot's files are saved in (made when the first one comes).
        self._files = files
        self.saved: list[Path] = []
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
        if call.chat_id != self.customer.id or call.method not in SHOWN:
            return
        lines = styled(call.text, self.colour).splitlines() or [""]
        kind = call.method.removeprefix("send").lower()
        stored = self.telegram.files.get(str(call.params.get(kind)))
        if kind in {"photo", "document", "video"}:
            lines.insert(0, self._file_line(kind, call, stored))
        self._print(f"\n{SHOWN[call.method]} › " + "\n      ".join(lines))
        if call.buttons:
            numbered = "  ".join(f"[{n}] {text}" for n, text in enumerate(call.buttons, 1))
            self._print(f"      {numbered}")
        self._keep_keyboard(call.params)
        if self.recorder is not None:
            self.recorder.bot(call, stored.file_name if stored is not None else None)

    def _file_line(self, kind: str, call: ApiCall, stored: StoredFile | None) -> str:
        """`[document mydata-2026-05-01.json, saved in /tmp/…/mydata-2026-05-01.json]`, or the
        link of a file sent by URL."""
        if stored is None:
            return f"[{kind}: {call.params.get(kind)}]"
        name = safe_file_name(stored.file_name, f"{kind}-{len(self.saved) + 1}")
        folder = self._files()
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / name
        counter = 1
        while path in self.saved or path.exists():
            counter += 1
            path = folder / f"{Path(name).stem}-{counter}{Path(name).suffix}"
        path.write_bytes(stored.content)
        self.saved.append(path)
        return f"[{kind} {stored.file_name or name}, saved in {path}]"

    def _keep_keyboard(self, params: dict[str, Any]) -> None:
        """A keyboard under the message field (the contact step's [Share my phone number] and
        [Skip]) stays until the bot takes it away; shown with the keys that press it."""
        markup = params.get("reply_markup")
        if isinstance(markup, dict) and markup.get("remove_keyboard"):
            self.keyboard = []
        elif keyboard := reply_keyboard_of(params):
            self.keyboard = keyboard
            keys = "  ".join(f"[{self._key(n)}] {label}" for n, label in enumerate(keyboard))
            self._print(f"      keyboard: {keys}")

    @staticmethod
    def _key(index: int) -> str:
        return KEYBOARD_KEY if index == 0 else f"{KEYBOARD_KEY}{index + 1}"

    def _press_keyboard(self, index: int) -> None:
        """What Telegram sends for a keyboard button: the customer's own contact for the
        first (the share button), the label as a message for the others ([Skip])."""
        if index > 0:
            self._send_text(self.keyboard[index])
            return
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
        keys = [self._key(n) for n in range(len(self.keyboard))]
        if text.lower() in keys:
            self._press_keyboard(keys.index(text.lower()))
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
        self._send_text(text)
        return True

    def _send_text(self, text: str) -> None:
        if self.recorder is not None:
            self.recorder.user("user", text)
        self.telegram.deliver(self.customer.text(text))
