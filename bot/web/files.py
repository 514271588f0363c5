"""This module contains where the media route reads a file: MEDIA_CACHE_DIR, or Telegram's
file server read in chunks; neither is ever held whole in memory."""

from __future__ import annotations

import contextlib
import logging
import os
import re
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path
from typing import BinaryIO
from urllib.parse import quote, urlsplit, urlunsplit

import httpx
from telegram import File

logger = logging.getLogger(__name__)

# What is read and sent at a time: a file costs this much memory while it is served.
CHUNK_BYTES = 64 * 1024
# Telegram's file server must connect, and send each chunk, within these.
CONNECT_SECONDS = 10.0
READ_SECONDS = 30.0
_UNIQUE_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


class CachedCopy:
    """A file being written into the cache as it is sent: kept whole by close(keep=True),
    removed otherwise; a cache that cannot be written only costs the next fetch."""

    def __init__(self, file: BinaryIO, temporary: Path, target: Path) -> None:
        self._file = file
        self._temporary = temporary
        self._target = target
        self._failed = False

    def write(self, chunk: bytes) -> None:
        """Appends a chunk (nothing more once a write failed)."""
        if self._failed:
            return
        try:
            self._file.write(chunk)
        except OSError as err:
            self._failed = True
            logger.warning("MEDIA_CACHE_DIR: a file could not be cached (%s)", err.strerror)

    def close(self, *, keep: bool) -> None:
        """Keeps the file under its unique id when it is whole (`keep`), or removes it."""
        try:
            self._file.close()
            if keep and not self._failed:
                os.replace(self._temporary, self._target)
                return
        except OSError as err:
            logger.warning("MEDIA_CACHE_DIR: a file could not be cached (%s)", err.strerror)
        with contextlib.suppress(OSError):
            self._temporary.unlink()


class FileCache:
    """MEDIA_CACHE_DIR: files kept by Telegram's file_unique_id, written whole or not at all."""

    def __init__(self, directory: Path) -> None:
        self._directory = directory

    def open(self, unique_id: str) -> BinaryIO | None:
        """The cached file, open for reading, or None."""
        if not _UNIQUE_ID.match(unique_id):
            return None
        with contextlib.suppress(OSError):
            return (self._directory / unique_id).open("rb")
        return None

    def copy(self, unique_id: str) -> CachedCopy | None:
        """A new copy to write the file into, or None when it cannot be kept."""
        if not _UNIQUE_ID.match(unique_id):
            return None
        try:
            self._directory.mkdir(parents=True, exist_ok=True)
            fd, temporary = tempfile.mkstemp(dir=self._directory, prefix=".partial-")
        except OSError as err:
            logger.warning("MEDIA_CACHE_DIR: a file could not be cached (%s)", err.strerror)
            return None
        return CachedCopy(os.fdopen(fd, "wb"), Path(temporary), self._directory / unique_id)


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
