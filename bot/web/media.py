"""This module contains the media route: a customer's file, opened from a signed link.

Backend staff open a link of bot/web/links.py from the backend's own screen; the bot fetches
the file from Telegram (getFile) at that moment and keeps no copy unless MEDIA_CACHE_DIR is
set. A changed or expired link is answered 403, the link of a file erased (/forgetme,
retention) 410.
"""

from __future__ import annotations

import logging
import re
from http import HTTPStatus
from pathlib import Path
from typing import Any
from urllib.parse import quote

import tornado.web
from telegram import Bot
from telegram.error import TelegramError

from bot.storage.erasures import Erasures
from bot.storage.media_cache import FileCache
from bot.web.links import LinkedFile, MediaLinks
from bot.web.server import Route

logger = logging.getLogger(__name__)

# Without a MIME type from the customer's app, the file is offered for download, not shown.
FALLBACK_MIME = "application/octet-stream"
# Types a browser may show inline; anything else is a download (no HTML, no SVG: a file a
# customer sent must never run as a page of our domain).
_INLINE_TYPES = re.compile(
    r"^(image/(jpeg|png|gif|webp)|video/(mp4|quicktime|webm)|application/pdf)$"
)


class _MediaFile(tornado.web.RequestHandler):
    """GET/HEAD <path>/media/<token>: the file's bytes, or 403 for a link we did not sign."""

    SUPPORTED_METHODS = ("GET", "HEAD")

    def initialize(
        self, bot: Bot, links: MediaLinks, cache: FileCache | None, erasures: Erasures
    ) -> None:
        """Tornado's per-request set-up, with the media route's shared objects."""
        self.bot = bot
        self.links = links
        self.cache = cache
        self.erasures = erasures

    async def get(self, token: str) -> None:
        """The file."""
        await self._serve(token, with_body=True)

    async def head(self, token: str) -> None:
        """The file's headers."""
        await self._serve(token, with_body=False)

    async def _serve(self, token: str, *, with_body: bool) -> None:
        linked = self.links.read(token)
        if linked is None:
            logger.info("A media link was refused: not ours, changed or expired")
            self._plain(HTTPStatus.FORBIDDEN, "This link is not valid or has expired.")
            return
        if await self.erasures.file_erased(linked.unique_id):
            logger.info("A media link to an erased file was refused")
            self._plain(HTTPStatus.GONE, "This file was erased.")
            return
        content = await self._content(linked)
        if content is None:
            self._plain(HTTPStatus.BAD_GATEWAY, "Telegram could not give the file; try again.")
            return
        self._file_headers(linked, len(content))
        self.finish(bytes(content) if with_body else None)

    async def _content(self, linked: LinkedFile) -> bytes | None:
        cached = self.cache.get(linked.unique_id) if self.cache is not None else None
        if cached is not None:
            return cached
        try:
            file = await self.bot.get_file(linked.file_id)
            content = bytes(await file.download_as_bytearray())
        except TelegramError as err:
            # The error's text may hold the file URL, and with it the bot token: never logged.
            logger.warning(
                "A linked file could not be fetched from Telegram (%s)", type(err).__name__
            )
            return None
        if self.cache is not None:
            self.cache.put(linked.unique_id, content)
        return content

    def _file_headers(self, linked: LinkedFile, size: int) -> None:
        mime = linked.mime_type if linked.mime_type else FALLBACK_MIME
        inline = bool(_INLINE_TYPES.match(mime))
        name = linked.file_name or f"{linked.unique_id}{_extension(mime)}"
        self.set_header("Content-Type", mime if inline else FALLBACK_MIME)
        self.set_header("Content-Length", str(size))
        self.set_header(
            "Content-Disposition",
            f"{'inline' if inline else 'attachment'}; filename*=UTF-8''{quote(name, safe='')}",
        )
        self.set_header("Cache-Control", "private, max-age=3600")
        self.set_header("X-Content-Type-Options", "nosniff")
        self.set_header("Content-Security-Policy", "default-src 'none'; sandbox")
        self.set_header("Referrer-Policy", "no-referrer")

    def _plain(self, status: HTTPStatus, text: str) -> None:
        self.set_status(status)
        self.set_header("Content-Type", "text/plain; charset=utf-8")
        self.set_header("Cache-Control", "no-store")
        self.finish(text)


def _extension(mime: str) -> str:
    return {"image/jpeg": ".jpg", "image/png": ".png", "video/mp4": ".mp4"}.get(mime, "")


def media_routes(
    bot: Bot, links: MediaLinks | None, cache_dir: Path | None, erasures: Erasures
) -> list[Route]:
    """The server route of the media links (none when MEDIA_BASE_URL is not set)."""
    if links is None:
        return []
    cache = FileCache(cache_dir) if cache_dir is not None else None
    arguments: dict[str, Any] = {
        "bot": bot,
        "links": links,
        "cache": cache,
        "erasures": erasures,
    }
    return [(re.escape(links.route_path) + r"([^/]+)", _MediaFile, arguments)]
