"""This module contains signed media links: what a link names, signed and read back.

A complaint's files stay at Telegram, named by their file_id, which only our bot can fetch.
With MEDIA_BASE_URL set, each file gets a link `<MEDIA_BASE_URL>/media/<token>` that the
backend's own screen shows: the token carries the file, how to present it and until when the
link is good, signed with HMAC-SHA256 (bot/web/media.py serves it).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

from bot.complaint import Attachment
from bot.config import Settings

MEDIA_SEGMENT = "media"


@dataclass(frozen=True, slots=True)
class LinkedFile:
    """What a valid token says: the file, how to present it, and until when."""

    file_id: str
    unique_id: str
    mime_type: str | None
    file_name: str | None
    expires: int


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class MediaLinks:
    """Signs links to a complaint's files and reads them back."""

    def __init__(
        self,
        base_url: str,
        secret: str,
        lifetime_seconds: float,
        clock: Callable[[], float],
    ) -> None:
        self._base = base_url.rstrip("/")
        # A key of its own, derived, so a media token can never pass as a deep-link signature.
        self._key = hmac.new(secret.encode(), b"complaint-bot media links", hashlib.sha256).digest()
        self._lifetime = lifetime_seconds
        self._clock = clock

    @classmethod
    def from_settings(cls, settings: Settings, clock: Callable[[], float]) -> MediaLinks | None:
        """The links of MEDIA_BASE_URL, or None when it is not set."""
        secret = settings.media_secret
        if settings.media_base_url is None or secret is None:
            return None
        return cls(settings.media_base_url, secret, settings.media_link_days * 86400, clock)

    @property
    def route_path(self) -> str:
        """The server path the links point at (MEDIA_BASE_URL's path + /media/)."""
        return urlsplit(self._base).path.rstrip("/") + f"/{MEDIA_SEGMENT}/"

    def url_for(self, attachment: Attachment) -> str:
        """A signed link to the file, good for MEDIA_LINK_DAYS from now."""
        payload = [
            attachment.fileId,
            attachment.fileUniqueId,
            attachment.mimeType,
            attachment.fileName,
            int(self._clock() + self._lifetime),
        ]
        body = _b64(json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode())
        return f"{self._base}/{MEDIA_SEGMENT}/{body}.{self._sign(body)}"

    def with_links(self, attachments: tuple[Attachment, ...]) -> tuple[Attachment, ...]:
        """The attachments, each with its signed link."""
        return tuple(a.model_copy(update={"url": self.url_for(a)}) for a in attachments)

    def read(self, token: str) -> LinkedFile | None:
        """What a token names, or None when it was not signed by us or has expired."""
        body, _, signature = token.partition(".")
        if not body or not hmac.compare_digest(signature.encode(), self._sign(body).encode()):
            return None
        try:
            file_id, unique_id, mime_type, file_name, expires = json.loads(_unb64(body))
        except (ValueError, TypeError, binascii.Error):
            return None  # signed by us, so only a change of format gets here
        if not isinstance(expires, int) or expires < self._clock():
            return None
        return LinkedFile(str(file_id), str(unique_id), mime_type, file_name, expires)

    def _sign(self, body: str) -> str:
        return _b64(hmac.new(self._key, body.encode("ascii", "replace"), hashlib.sha256).digest())
