"""This module contains the media route: a customer's file, opened from a signed link.

Backend staff open a link of bot/media_links.py from the backend's own screen; the bot fetches
the file from Telegram (getFile) at that moment and keeps no copy unless MEDIA_CACHE_DIR is
set. A changed or expired link is answered 403, the link of a file erased (/forgetme,
retention) 410.
"""

from __future__ import annotations

import asyncio
import logging
import os
import re
import time
from http import HTTPStatus
from typing import Any, BinaryIO
from urllib.parse import quote

import httpx
import tornado.web
from telegram import Bot, File
from telegram.error import TelegramError
from tornado.http1connection import HTTP1Connection
from tornado.iostream import StreamClosedError

from bot.app import BuiltBot
from bot.measured_request import result_of
from bot.media_links import LinkedFile, MediaLinks
from bot.metrics import Metrics
from bot.storage.erasures import Erasures
from bot.storage.media_cache import CachedCopy, FileCache
from bot.web.files import CHUNK_BYTES, announced_length, download, file_url
from bot.web.server import Route, WebLimits

logger = logging.getLogger(__name__)

# Without a MIME type from the customer's app, the file is offered for download, not shown.
FALLBACK_MIME = "application/octet-stream"
# Types a browser may show inline; anything else is a download (no HTML, no SVG: a file a
# customer sent must never run as a page of our domain).
_INLINE_TYPES = re.compile(
    r"^(image/(jpeg|png|gif|webp)|video/(mp4|quicktime|webm)|application/pdf)$"
)


class _ClientGone(Exception):
    """The client closed the connection, or stopped reading, while its file was sent."""


class _MediaFile(tornado.web.RequestHandler):
    """GET/HEAD <path>/media/<token>: the file's bytes, or 403 for a link we did not sign.

    GET sends the file chunk by chunk as Telegram (or the cache) gives it, each written out to
    the client before the next is read: a file costs a chunk of memory however large it is
    and however slowly it is read. HEAD asks getFile only, never downloading the file."""

    SUPPORTED_METHODS = ("GET", "HEAD")

    def initialize(
        self,
        bot: Bot,
        links: MediaLinks,
        cache: FileCache | None,
        stall_seconds: float,
        metrics: Metrics | None,
        erasures: Erasures,
    ) -> None:
        """Tornado's per-request set-up, with the media route's shared objects."""
        self.bot = bot
        self.links = links
        self.cache = cache
        self.erasures = erasures
        self.stall_seconds = stall_seconds
        self.metrics = metrics
        self._sending = False

    def compute_etag(self) -> None:
        """No ETag: the bytes are never all in hand to hash (the link names one file anyway)."""
        return None

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
        cached = self.cache.open(linked.unique_id) if self.cache is not None else None
        try:
            if cached is not None:
                await self._send_cached(linked, cached, with_body=with_body)
                return
            file = await self._file_of(linked)
            if file is None:
                self._plain(HTTPStatus.BAD_GATEWAY, "Telegram could not give the file; try again.")
            elif not with_body:
                await self._headers_only(linked, file.file_size)
            else:
                await self._send_from_telegram(linked, file)
        except _ClientGone:
            logger.debug("A media link's client left before its file was sent")
        finally:
            if cached is not None:
                cached.close()

    async def _file_of(self, linked: LinkedFile) -> File | None:
        try:
            return await self.bot.get_file(linked.file_id)
        except TelegramError as err:
            # The error's text may hold the file URL, and with it the bot token: never logged.
            logger.warning(
                "A linked file could not be fetched from Telegram (%s)", type(err).__name__
            )
            return None

    async def _send_cached(self, linked: LinkedFile, cached: BinaryIO, *, with_body: bool) -> None:
        size = os.fstat(cached.fileno()).st_size
        if not with_body:
            await self._headers_only(linked, size)
            return
        self._file_headers(linked, size)
        while chunk := cached.read(CHUNK_BYTES):
            await self._send(chunk)
        self.finish()

    async def _headers_only(self, linked: LinkedFile, size: int | None) -> None:
        self._file_headers(linked, size)
        if size is None:
            await self.flush()  # the headers as they are (tornado would add a length of 0)
        self.finish()

    async def _send_from_telegram(self, linked: LinkedFile, file: File) -> None:
        started = time.perf_counter()
        try:
            async with download(file_url(file)) as response:
                self._count(result_of(response.status_code), started)
                if response.status_code != HTTPStatus.OK:
                    logger.warning(
                        "A linked file could not be fetched from Telegram (HTTP %d)",
                        response.status_code,
                    )
                    self._plain(
                        HTTPStatus.BAD_GATEWAY, "Telegram could not give the file; try again."
                    )
                    return
                self._file_headers(linked, announced_length(response) or file.file_size)
                copy = self.cache.copy(linked.unique_id) if self.cache is not None else None
                await self._relay(response, copy)
        except httpx.HTTPError as err:
            self._count("network", started)
            logger.warning(
                "A linked file could not be fetched from Telegram (%s)", type(err).__name__
            )
            if not self._sending:
                self._plain(HTTPStatus.BAD_GATEWAY, "Telegram could not give the file; try again.")
                return
            self._close_connection()  # cut short: the client must not take it for the file
            return
        self.finish()

    async def _relay(self, response: httpx.Response, copy: CachedCopy | None) -> None:
        whole = False
        try:
            async for chunk in response.aiter_raw(CHUNK_BYTES):
                await self._send(chunk)
                if copy is not None:
                    copy.write(chunk)
            whole = True
        finally:
            if copy is not None:
                copy.close(keep=whole)

    async def _send(self, chunk: bytes) -> None:
        """Writes a chunk out to the client before the next is read (WEB_BODY_TIMEOUT_SECONDS
        for each: a client that stops reading is let go, not buffered for)."""
        self._sending = True
        self.write(chunk)
        try:
            async with asyncio.timeout(self.stall_seconds):
                await self.flush()
        except StreamClosedError:
            raise _ClientGone from None
        except TimeoutError:
            self._close_connection()
            raise _ClientGone from None

    def _close_connection(self) -> None:
        connection = self.request.connection
        if isinstance(connection, HTTP1Connection):
            connection.close()

    def _count(self, result: str, started: float) -> None:
        if self.metrics is not None:
            self.metrics.bot_api_calls.labels("file", result).inc()
            self.metrics.bot_api_seconds.labels("file").observe(time.perf_counter() - started)

    def _file_headers(self, linked: LinkedFile, size: int | None) -> None:
        mime = linked.mime_type if linked.mime_type else FALLBACK_MIME
        inline = bool(_INLINE_TYPES.match(mime))
        name = linked.file_name or f"{linked.unique_id}{_extension(mime)}"
        self.set_header("Content-Type", mime if inline else FALLBACK_MIME)
        if size is not None:
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


def media_routes(built: BuiltBot) -> list[Route]:
    """The server route of the media links (none when MEDIA_BASE_URL is not set)."""
    services = built.services
    links = services.media_links
    if links is None:
        return []
    settings = services.settings
    cache_dir = settings.media_cache_dir
    arguments: dict[str, Any] = {
        "bot": built.application.bot,
        "links": links,
        "cache": FileCache(cache_dir) if cache_dir is not None else None,
        "stall_seconds": WebLimits.from_settings(settings).body_timeout_seconds,
        "metrics": built.metrics,
        "erasures": Erasures(services.database),
    }
    return [(re.escape(links.route_path) + r"([^/]+)", _MediaFile, arguments)]
