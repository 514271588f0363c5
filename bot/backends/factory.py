"""This module contains create_backend: the adapter COMPLAINT_BACKEND names."""

from __future__ import annotations

from collections.abc import Callable

import httpx

from bot.backends.base import ComplaintBackend
from bot.backends.bizkithub import BizKitHubBackend
from bot.backends.local import LocalDeskBackend
from bot.backends.middleware import MiddlewareBackend
from bot.backends.occ import OccBackend
from bot.config import Settings
from bot.storage.database import Database


def create_backend(
    settings: Settings,
    *,
    database: Database,
    http_client: httpx.AsyncClient,
    clock: Callable[[], float],
) -> ComplaintBackend:
    """The configured backend, over the shared HTTP client (the local desk needs none)."""
    match settings.complaint_backend:
        case "local":
            return LocalDeskBackend(database, clock=clock)
        case "middleware":
            return MiddlewareBackend.from_settings(settings, http_client)
        case "occ":
            return OccBackend.from_settings(settings, http_client)
        case "bizkithub":
            return BizKitHubBackend.from_settings(settings, http_client)


def create_http_client(settings: Settings) -> httpx.AsyncClient:
    """The HTTP client backends share: documented timeouts and a bounded connection pool."""
    timeout = httpx.Timeout(
        settings.backend_read_timeout_seconds, connect=settings.backend_connect_timeout_seconds
    )
    # One connection per submission under way, plus a few for status checks and /status.
    connections = settings.submit_max_in_flight + 8
    limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)
    return httpx.AsyncClient(timeout=timeout, limits=limits, follow_redirects=False)
