"""This module contains LeanRequest: a small keep-alive HTTP/1.1 transport for Bot API calls."""

from __future__ import annotations

import asyncio
import os
import re
import ssl
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, urlencode, urlsplit

from telegram.error import NetworkError, TimedOut
from telegram.request import BaseRequest, HTTPXRequest, RequestData

from bot.lean_http import HttpConnection, StaleConnection, open_connection

# httpx's defaults, which PTB's HTTPXRequest keeps: the same timeouts whichever transport runs.
CONNECT_SECONDS = 5.0
READ_SECONDS = 5.0
WRITE_SECONDS = 5.0
POOL_SECONDS = 1.0
_PROXY_VARIABLES = ("https_proxy", "http_proxy", "all_proxy")
# PTB's "not given" marker for a timeout (a DefaultValue; its class is not public).
_DEFAULT = type(BaseRequest.DEFAULT_NONE)
# What a path and a query may carry raw (RFC 3986 pchar; the query adds "/" and "?"); "%" is
# kept so that an escape already in the URL is not escaped twice.
_PATH_SAFE = "/:@!$&'()*+,;=%"
_QUERY_SAFE = _PATH_SAFE + "?"
_LONE_PERCENT = re.compile(r"%(?![0-9A-Fa-f]{2})")
_USER_AGENT = HTTPXRequest.USER_AGENT.encode()
_FORM = b"application/x-www-form-urlencoded"
# What every request says after its Host, up to its Content-Length's value.
_FIXED_HEADERS = (
    b"\r\nUser-Agent: "
    + _USER_AGENT
    + b"\r\nAccept: */*\r\nContent-Type: "
    + _FORM
    + b"\r\nContent-Length: "
)


def proxy_configured(environ: dict[str, str] | None = None) -> bool:
    """Whether the environment names a proxy (httpx follows one; LeanRequest does not)."""
    env = os.environ if environ is None else environ
    return any(env.get(name) or env.get(name.upper()) for name in _PROXY_VARIABLES)


@dataclass(slots=True)
class _Origin:
    host: str
    port: int
    tls: bool
    idle: list[HttpConnection] = field(default_factory=list)
    # The Host header: the port too when it is not the scheme's own (RFC 9110 §7.2), as a
    # self-hosted Bot API server on its own port may insist; an IPv6 address in brackets.
    host_header: bytes = field(init=False)

    def __post_init__(self) -> None:
        host = b"[%s]" % self.host.encode() if ":" in self.host else self.host.encode("idna")
        default = self.port == (443 if self.tls else 80)
        self.host_header = host if default else b"%s:%d" % (host, self.port)


class LeanRequest(BaseRequest):
    """Plain Bot API calls (form-encoded parameters, no files) over keep-alive HTTP/1.1
    connections; calls with files go to PTB's HTTPXRequest (`uploads`).

    httpx costs about as much CPU per call as the rest of an update's work together (URL and
    header models, a connection pool scanned per request, anyio layers); a Bot API call needs
    none of it; bot/lean_http.py frames the answers. Errors are PTB's: TimedOut for a
    timeout, NetworkError for a broken connection or a malformed answer.
    """

    def __init__(self, connection_pool_size: int, uploads: BaseRequest | None = None) -> None:
        self._uploads = uploads or HTTPXRequest(connection_pool_size=connection_pool_size)
        self._slots = asyncio.Semaphore(connection_pool_size)
        self._origins: dict[str, _Origin] = {}
        self._paths: dict[str, tuple[_Origin, bytes]] = {}
        self._tls: ssl.SSLContext | None = None
        self._open: set[HttpConnection] = set()

    @property
    def read_timeout(self) -> float | None:
        """The default read timeout (PTB adds a long poll's wait to it)."""
        return READ_SECONDS

    async def initialize(self) -> None:
        """Opens the uploads' transport."""
        await self._uploads.initialize()

    async def shutdown(self) -> None:
        """Closes every connection and the uploads' transport."""
        for connection in list(self._open):
            connection.close()
        self._open.clear()
        for origin in self._origins.values():
            origin.idle.clear()
        await self._uploads.shutdown()

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: Any = BaseRequest.DEFAULT_NONE,
        write_timeout: Any = BaseRequest.DEFAULT_NONE,
        connect_timeout: Any = BaseRequest.DEFAULT_NONE,
        pool_timeout: Any = BaseRequest.DEFAULT_NONE,
    ) -> tuple[int, bytes]:
        """The status and body of the answer."""
        if request_data is not None and request_data.contains_files:
            return await self._uploads.do_request(
                url,
                method,
                request_data,
                read_timeout=read_timeout,
                write_timeout=write_timeout,
                connect_timeout=connect_timeout,
                pool_timeout=pool_timeout,
            )
        origin, path = self._target(url)
        body = urlencode(request_data.json_parameters).encode() if request_data else b""
        request = b"".join(
            (
                method.encode(),
                b" ",
                path,
                b" HTTP/1.1\r\nHost: ",
                origin.host_header,
                _FIXED_HEADERS,
                b"%d\r\n\r\n" % len(body),
                body,
            )
        )
        write = _seconds(write_timeout, WRITE_SECONDS)
        read = _seconds(read_timeout, READ_SECONDS)
        connect = _seconds(connect_timeout, CONNECT_SECONDS)
        if self._slots.locked():  # a free slot is taken at once, without a timer
            try:
                async with asyncio.timeout(_seconds(pool_timeout, POOL_SECONDS)):
                    await self._slots.acquire()
            except TimeoutError as err:
                raise TimedOut("Pool timeout: all connections are busy; not sent") from err
        else:
            await self._slots.acquire()
        try:
            connection = self._reusable(origin) or await self._connect(origin, connect)
            try:
                return await self._exchange(origin, connection, request, write, read)
            except StaleConnection:
                # The server closed a kept-alive connection as the request went out (its
                # keep-alive expiry) and answered nothing: once more, on a new connection.
                connection = await self._connect(origin, connect)
                return await self._exchange(origin, connection, request, write, read)
        except TimeoutError as err:
            raise TimedOut from err
        except OSError as err:  # MalformedAnswer and StaleConnection are ConnectionErrors
            raise NetworkError(f"Bot API connection failed: {err!r}") from err
        finally:
            self._slots.release()

    async def _exchange(
        self,
        origin: _Origin,
        connection: HttpConnection,
        request: bytes,
        write: float | None,
        read: float | None,
    ) -> tuple[int, bytes]:
        """One request on `connection`, which goes back to the idle ones when it may."""
        try:
            code, payload, keep = await connection.exchange(request, write, read)
        except BaseException:
            self._drop(connection)
            raise
        if keep:
            connection.idle_since = time.monotonic()
            origin.idle.append(connection)
        else:
            self._drop(connection)
        return code, payload

    def _target(self, url: str) -> tuple[_Origin, bytes]:
        """The origin and request target of a URL (remembered: a bot calls few URLs)."""
        known = self._paths.get(url)
        if known is not None:
            return known
        parts = urlsplit(url)
        tls = parts.scheme == "https"
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise NetworkError(f"Bot API URL not supported: {parts.scheme}://…")
        port = parts.port or (443 if tls else 80)
        key = f"{parts.scheme}://{parts.hostname}:{port}"
        origin = self._origins.get(key)
        if origin is None:
            origin = self._origins[key] = _Origin(parts.hostname, port, tls)
        target = _quote(parts.path or "/", _PATH_SAFE)
        if parts.query:
            target += "?" + _quote(parts.query, _QUERY_SAFE)
        known = (origin, target.encode())
        if len(self._paths) < 1024:  # method URLs only; a file's URL is not worth keeping
            self._paths[url] = known
        return known

    def _reusable(self, origin: _Origin) -> HttpConnection | None:
        """The most recently used idle connection still fit for a request, if any."""
        now = time.monotonic()
        while origin.idle:
            connection = origin.idle.pop()
            if connection.usable(now):
                return connection
            self._drop(connection)
        return None

    async def _connect(self, origin: _Origin, seconds: float | None) -> HttpConnection:
        tls = self._tls_context() if origin.tls else None
        connection = await open_connection(origin.host, origin.port, tls, seconds)
        self._open.add(connection)
        return connection

    def _tls_context(self) -> ssl.SSLContext:
        if self._tls is None:
            self._tls = tls_context(os.environ)
        return self._tls

    def _drop(self, connection: HttpConnection) -> None:
        self._open.discard(connection)
        connection.close()


def tls_context(environ: Mapping[str, str]) -> ssl.SSLContext:
    """The CAs httpx trusts, so both transports agree: SSL_CERT_FILE, else SSL_CERT_DIR
    (a self-hosted Bot API behind a private CA), else certifi's bundle."""
    if cafile := environ.get("SSL_CERT_FILE"):
        return ssl.create_default_context(cafile=cafile)
    if capath := environ.get("SSL_CERT_DIR"):
        return ssl.create_default_context(capath=capath)
    import certifi

    return ssl.create_default_context(cafile=certifi.where())


def _quote(text: str, safe: str) -> str:
    """Percent-encodes what a request target may not carry raw (a space, "č"), keeping the
    escapes already there and escaping a "%" that starts none."""
    return _LONE_PERCENT.sub("%25", quote(text, safe=safe))


def _seconds(value: Any, default: float) -> float | None:
    """A timeout as given to do_request: PTB's DEFAULT_NONE means ours, None means none."""
    if isinstance(value, _DEFAULT):
        return default
    return None if value is None else float(value)
