"""This module contains FileCache: MEDIA_CACHE_DIR, customers' files kept by Telegram's id."""

from __future__ import annotations

import contextlib
import logging
import os
import re
import tempfile
from pathlib import Path

logger = logging.getLogger(__name__)

# Telegram's file_unique_id: a file name that cannot leave the cache folder.
_UNIQUE_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


class FileCache:
    """MEDIA_CACHE_DIR: files kept by Telegram's file_unique_id, written whole or not at all."""

    def __init__(self, directory: Path) -> None:
        self._directory = directory

    def get(self, unique_id: str) -> bytes | None:
        """The cached bytes, or None."""
        if not _UNIQUE_ID.match(unique_id):
            return None
        with contextlib.suppress(OSError):
            return (self._directory / unique_id).read_bytes()
        return None

    def put(self, unique_id: str, content: bytes) -> None:
        """Keeps the bytes; a cache that cannot be written only costs the next fetch."""
        if not _UNIQUE_ID.match(unique_id):
            return
        try:
            self._directory.mkdir(parents=True, exist_ok=True)
            fd, temporary = tempfile.mkstemp(dir=self._directory, prefix=".partial-")
            with os.fdopen(fd, "wb") as file:
                file.write(content)
            os.replace(temporary, self._directory / unique_id)
        except OSError as err:
            logger.warning("MEDIA_CACHE_DIR: a file could not be cached (%s)", err.strerror)

    def discard(self, unique_ids: tuple[str, ...]) -> int:
        """Deletes the files (an erasure); returns how many were there."""
        deleted = 0
        for unique_id in unique_ids:
            if not _UNIQUE_ID.match(unique_id):
                continue
            try:
                (self._directory / unique_id).unlink()
            except FileNotFoundError:
                continue
            except OSError as err:
                logger.warning("MEDIA_CACHE_DIR: an erased file could not be deleted (%s)", err)
                continue
            deleted += 1
        return deleted
