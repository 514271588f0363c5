"""This module contains what every HTTP adapter shares: mapping httpx's errors onto the port's."""

from __future__ import annotations

import email.utils
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any

import httpx

from bot.backends.base import BackendBadResponse, BackendOutcomeUnknown, BackendUnavailable

# The longest Retry-After we honour; a backend asking for more is retried on our own schedule.
MAX_RETRY_AFTER_SECONDS = 6 * 3600.0


# Failures before the request left: the backend cannot have seen it.
_NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout, httpx.UnsupportedProtocol)


@contextmanager
def translate_transport_errors(backend: str, *, creating: bool = False) -> Iterator[None]:
    """Turns httpx's network errors into BackendUnavailable; for a create (`creating`), an
    error after the request may have left (a read timeout, a dropped connection) into
    BackendOutcomeUnknown, since the backend may have filed it.

    The message names only the error's class: httpx's own text can carry the URL, and a URL
    may carry a key.
    """
    try:
        yield
    except _NOT_SENT as err:
        where = _at(err)
        raise BackendUnavailable(
            f"{backend}{where} could not be reached ({type(err).__name__})"
        ) from err
    except httpx.HTTPError as err:
        name = type(err).__name__
        timed_out = isinstance(err, httpx.TimeoutException)
        what = f"timed out ({name})" if timed_out else f"could not be reached ({name})"
        if creating:
            raise BackendOutcomeUnknown(
                f"{backend}{_at(err)} {what} after the complaint was sent; it may be filed there"
            ) from err
        raise BackendUnavailable(f"{backend}{_at(err)} {what}") from err


def _at(err: httpx.HTTPError) -> str:
    """` at host:port` of the request that failed (never its path or query, which may carry a
    key), so that an outage line says which server was out; "" when httpx does not say."""
    try:
        url = err.request.url
    except RuntimeError:  # an error raised without its request
        return ""
    return _host(url)


def _answered_by(response: httpx.Response) -> str:
    try:
        return _host(response.request.url)
    except RuntimeError:  # a response made without its request
        return ""


def _host(url: httpx.URL) -> str:
    port = f":{url.port}" if url.port else ""
    return f" at {url.host}{port}" if url.host else ""


def retry_after_seconds(response: httpx.Response) -> float | None:
    """The delay a `Retry-After` header asks for, in seconds (delta or HTTP date), if any."""
    value = response.headers.get("Retry-After", "").strip()
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        parsed = email.utils.parsedate_to_datetime(value) if value else None
        if parsed is None:
            return None
        seconds = parsed.timestamp() - time.time()
    return min(max(seconds, 0.0), MAX_RETRY_AFTER_SECONDS)


def raise_for_transient(response: httpx.Response, backend: str) -> None:
    """Raises BackendUnavailable for a 5xx or 429 answer."""
    code = response.status_code
    if code == 429 or code >= 500:
        raise BackendUnavailable(
            f"{backend}{_answered_by(response)} answered HTTP {code}",
            retry_after=retry_after_seconds(response),
        )


def json_body(response: httpx.Response, backend: str) -> Any:
    """The response's JSON, or BackendBadResponse if it is not JSON."""
    try:
        return response.json()
    except ValueError as err:
        raise BackendBadResponse(
            f"{backend} answered HTTP {response.status_code} with a body that is not JSON"
        ) from err


def scrub(text: str, secrets: Iterable[str]) -> str:
    """The text with every secret replaced by ***, should a backend echo one back."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, "***")
    return text
