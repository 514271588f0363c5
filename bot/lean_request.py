"""This module contains LeanRequest: a small keep-alive HTTP/1.1 transport for Bot API calls."""

from __future__ import annotations

import asyncio
import os
import ssl
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode, urlsplit

from telegram.error import NetworkError, TimedOut
from telegram.request import BaseRequest, HTTPXRequest, RequestData

# httpx's defaults, which PTB's HTTPXRequest keeps: the same timeouts whichever transport runs.
CONNECT_SECONDS = 5.0
READ_SECONDS = 5.0
WRITE_SECONDS = 5.0
POOL_SECONDS = 1.0
# An idle connection is dropped after this long (httpx's keep-alive expiry): a server or a
# proxy closes idle connections on its own, and a request sent into one that is closing fails.
KEEPALIVE_SECONDS = 5.0
# A response's head is a few hundred bytes; beyond this something is wrong.
_HEAD_LIMIT = 64 * 1024
_PROXY_VARIABLES = ("https_proxy", "http_proxy", "all_proxy")
# PTB's "not given" marker for a timeout (a DefaultValue; its class is not public).
_DEFAULT = type(BaseRequest.DEFAULT_NONE)


def proxy_configured(environ: dict[str, str] | None = None) -> bool:
    """Whether the environment names a proxy (httpx follows one; LeanRequest does not)."""
    env = os.environ if environ is None else environ
    return any(env.get(name) or env.get(name.upper()) for name in _PROXY_VARIABLES)


@dataclass(slots=True, eq=False)  # kept in a set, by identity
class _Connection:
    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter
    idle_since: float = field(default=0.0)

    def usable(self, now: float) -> bool:
        """Still open (the loop saw no EOF) and not idle too long."""
        return (
            not self.reader.at_eof()
            and not self.writer.is_closing()
            and now - self.idle_since < KEEPALIVE_SECONDS
        )

    def close(self) -> None:
        self.writer.close()


@dataclass(slots=True)
class _Origin:
    host: str
    port: int
    tls: bool
    idle: list[_Connection] = field(default_factory=list)

    @property
    def host_header(self) -> bytes:
        """The Host header: the port too when it is not the scheme's own (RFC 9110 §7.2),
        as a self-hosted Bot API server on its own port may insist."""
        host = self.host.encode("idna")
        return host if self.port == (443 if self.tls else 80) else b"%s:%d" % (host, self.port)


class LeanRequest(BaseRequest):
    """Plain Bot API calls (form-encoded parameters, no files) over keep-alive HTTP/1.1
    connections; calls with files go to PTB's HTTPXRequest (`uploads`).

    httpx costs about as much CPU per call as the rest of an update's work together (URL and
    header models, a connection pool scanned per request, anyio layers); a Bot API call needs
    none of it. Errors are PTB's: TimedOut for a timeout, NetworkError for a broken connection.
    """

    def __init__(self, connection_pool_size: int, uploads: BaseRequest | None = None) -> None:
        self._uploads = uploads or HTTPXRequest(connection_pool_size=connection_pool_size)
        self._slots = asyncio.Semaphore(connection_pool_size)
        self._origins: dict[str, _Origin] = {}
        self._paths: dict[str, tuple[_Origin, bytes]] = {}
        self._tls: ssl.SSLContext | None = None
        self._open: set[_Connection] = set()

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
        head = (
            b"%s %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: %s\r\nAccept: */*\r\n"
            b"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: %d\r\n\r\n"
            % (
                method.encode(),
                path,
                origin.host_header,
                HTTPXRequest.USER_AGENT.encode(),
                len(body),
            )
        )
        try:
            async with asyncio.timeout(_seconds(pool_timeout, POOL_SECONDS)):
                await self._slots.acquire()
        except TimeoutError as err:
            raise TimedOut("Pool timeout: all connections are busy; not sent") from err
        try:
            connection = await self._connection(origin, _seconds(connect_timeout, CONNECT_SECONDS))
            try:
                connection.writer.write(head + body)
                async with asyncio.timeout(_seconds(write_timeout, WRITE_SECONDS)):
                    await connection.writer.drain()
                async with asyncio.timeout(_seconds(read_timeout, READ_SECONDS)):
                    code, payload, keep = await _read_response(connection.reader)
            except BaseException:
                self._drop(connection)
                raise
            if keep:
                connection.idle_since = time.monotonic()
                origin.idle.append(connection)
            else:
                self._drop(connection)
            return code, payload
        except TimeoutError as err:
            raise TimedOut from err
        except (OSError, EOFError, asyncio.LimitOverrunError, ValueError) as err:
            raise NetworkError(f"Bot API connection failed: {err!r}") from err
        finally:
            self._slots.release()

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
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        known = (origin, target.encode())
        if len(self._paths) < 1024:  # method URLs only; a file's URL is not worth keeping
            self._paths[url] = known
        return known

    async def _connection(self, origin: _Origin, connect_seconds: float | None) -> _Connection:
        now = time.monotonic()
        while origin.idle:
            connection = origin.idle.pop()
            if connection.usable(now):
                return connection
            self._drop(connection)
        async with asyncio.timeout(connect_seconds):
            reader, writer = await asyncio.open_connection(
                origin.host,
                origin.port,
                ssl=self._tls_context() if origin.tls else None,
                limit=_HEAD_LIMIT,
            )
        connection = _Connection(reader, writer)
        self._open.add(connection)
        return connection

    def _tls_context(self) -> ssl.SSLContext:
        if self._tls is None:
            import certifi

            self._tls = ssl.create_default_context(cafile=certifi.where())
        return self._tls

    def _drop(self, connection: _Connection) -> None:
        self._open.discard(connection)
        connection.close()


def _seconds(value: Any, default: float) -> float | None:
    """A timeout as given to do_request: PTB's DEFAULT_NONE means ours, None means none."""
    if isinstance(value, _DEFAULT):
        return default
    return None if value is None else float(value)


async def _read_response(reader: asyncio.StreamReader) -> tuple[int, bytes, bool]:
    """Status, body, and whether the connection may carry another request."""
    status_line = await reader.readuntil(b"\r\n")
    parts = status_line.split(None, 2)
    if len(parts) < 2 or not parts[0].startswith(b"HTTP/1."):
        raise ValueError(f"not an HTTP/1.x answer: {status_line[:40]!r}")
    code = int(parts[1])
    keep = parts[0] == b"HTTP/1.1"
    length: int | None = None
    chunked = False
    while True:
        line = await reader.readuntil(b"\r\n")
        if line == b"\r\n":
            break
        name, _, value = line.partition(b":")
        name = name.strip().lower()
        value = value.strip()
        if name == b"content-length":
            length = int(value)
        elif name == b"transfer-encoding":
            chunked = b"chunked" in value.lower()
        elif name == b"connection":
            token = value.lower()
            keep = (keep and token != b"close") or token == b"keep-alive"
    if chunked:
        return code, await _read_chunks(reader), keep
    if length is not None:
        return code, await reader.readexactly(length), keep
    if code in (204, 304) or 100 <= code < 200:
        return code, b"", keep
    # Neither length nor chunks: the body runs until the server closes.
    return code, await reader.read(), False


async def _read_chunks(reader: asyncio.StreamReader) -> bytes:
    chunks: list[bytes] = []
    while True:
        size_line = await reader.readuntil(b"\r\n")
        size = int(size_line.split(b";", 1)[0].strip(), 16)
        if size == 0:
            # Trailers, if any, end with an empty line.
            while await reader.readuntil(b"\r\n") != b"\r\n":
                pass
            return b"".join(chunks)
        chunks.append(await reader.readexactly(size))
        await reader.readexactly(2)
