"""This module contains FileCache: MEDIA_CACHE_DIR, customers' files kept by Telegram's id.

A file is written as it is sent and kept only once it was sent whole; an erasure (/forgetme,
retention) deletes the files of the complaints it erases.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import tempfile
from pathlib import Path
from typing import BinaryIO

logger = logging.getLogger(__name__)

# Telegram's file_unique_id: a file name that cannot leave the cache folder.
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
