"""This module contains the console's input: typed lines, read without blocking the bot.

In a terminal, prompt_toolkit reads the line: editing, history, Ctrl-L, and the bot's messages
printed above the prompt, which is drawn again. Ctrl-C and Ctrl-D leave as /quit does. Without
a terminal (a pipe, the tests) lines are read in a daemon thread, so a read that never ends
never holds up the exit.
"""

from __future__ import annotations

import asyncio
import threading
from contextlib import AbstractContextManager, nullcontext
from typing import TextIO

from prompt_toolkit import PromptSession
from prompt_toolkit.patch_stdout import patch_stdout

PROMPT = "you › "


class TerminalLines:
    """Lines typed at a prompt in a terminal."""

    def __init__(self) -> None:
        self._session: PromptSession[str] = PromptSession()

    def printing(self) -> AbstractContextManager[object]:
        """While open, what is printed appears above the prompt (which is drawn again)."""
        return patch_stdout(raw=True)

    async def read(self) -> str | None:
        """The next line; None when the person leaves (Ctrl-C, Ctrl-D)."""
        try:
            return await self._session.prompt_async(PROMPT)
        except (EOFError, KeyboardInterrupt):
            return None


class StreamLines:
    """Lines read from a stream that is no terminal, in a daemon thread."""

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream
        self._lines: asyncio.Queue[str | BaseException | None] = asyncio.Queue()
        self._wanted = threading.Event()
        self._loop = asyncio.get_running_loop()
        thread = threading.Thread(target=self._read_all, name="console-input", daemon=True)
        thread.start()

    def printing(self) -> AbstractContextManager[object]:
        """Printing needs no care without a prompt."""
        return nullcontext()

    async def read(self) -> str | None:
        """The next line; None at the end of the input. A failed read (the terminal gone) is
        raised here, in the session, which then ends and keeps its recording."""
        self._wanted.set()
        line = await self._lines.get()
        if isinstance(line, BaseException):
            raise line
        return line

    def _read_all(self) -> None:
        while True:
            self._wanted.wait()
            self._wanted.clear()
            try:
                line: str | BaseException | None = self._stream.readline() or None
            except (OSError, ValueError) as err:
                line = err
            self._loop.call_soon_threadsafe(self._lines.put_nowait, line)
            if not isinstance(line, str):
                return
