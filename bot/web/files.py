"""This module contains how the media route reads a file from Telegram's file server: in
chunks, never held whole in memory (MEDIA_CACHE_DIR: bot/storage/media_cache.py)."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from urllib.parse import quote, urlsplit, urlunsplit

import httpx
from telegram import File

# What is read and sent at a time: a file costs this much memory while it is served.
CHUNK_BYTES = 64 * 1024
# Telegram's file server must connect, and send each chunk, within these.
CONNECT_SECONDS = 10.0
READ_SECONDS = 30.0


def file_url(file: File) -> str:
    """The URL getFile named, its path percent-encoded (as PTB's own download does)."""
    parts = urlsplit(str(file.file_path))
    return urlunsplit(parts._replace(path=quote(parts.path)))


@contextlib.asynccontextmanager
async def download(url: str) -> AsyncIterator[httpx.Response]:
    """Telegram's answer for a file URL, its body not yet read (read it in chunks).

    A client of its own each time: files are opened by people, a few at a time, and nothing
    is left open between them. Raises httpx.HTTPError; its text may hold the URL, and with it
    the bot token: log its type only."""
    timeout = httpx.Timeout(READ_SECONDS, connect=CONNECT_SECONDS)
    # The bytes as Telegram keeps them, so that their length is the Content-Length sent on.
    headers = {"Accept-Encoding": "identity"}
    async with (
        httpx.AsyncClient(timeout=timeout, headers=headers) as client,
        client.stream("GET", url) as response,
    ):
        yield response


def announced_length(response: httpx.Response) -> int | None:
    """The Content-Length Telegram announced, or None."""
    value = response.headers.get("Content-Length", "")
    return int(value) if value.isdigit() else None
