"""This module contains HttpConnection: one keep-alive HTTP/1.1 client connection, framed here.

The Bot API answers small JSON documents; a general HTTP library costs more CPU per call than
the rest of an update's work. So the framing is ours, and strict where it matters for reuse:
1xx answers are skipped, the body ends where Content-Length or the last chunk says, the
`Connection` header is read as a list of tokens, and a connection is kept only when nothing
came beyond the answer's end (bytes no request asked for never answer the next call).
"""

from __future__ import annotations

import asyncio
import select
import ssl

# An idle connection is dropped after this long (httpx's keep-alive expiry): a server or a
# proxy closes idle connections on its own, and a request sent into one that is closing fails.
KEEPALIVE_SECONDS = 5.0
# A response's head is a few hundred bytes; beyond this something is wrong.
HEAD_LIMIT = 64 * 1024
# Answers that never have a body, whatever their headers say.
_NO_BODY = (204, 304)


class StaleConnection(ConnectionError):
    """A reused connection ended before any byte of the answer arrived: the server had closed
    it (its keep-alive expiry) as the request went out, so the request was not answered and
    may be sent again on a fresh connection."""


class MalformedAnswer(ConnectionError):
    """The server's bytes are not an HTTP/1.x answer we can frame."""


class HttpConnection(asyncio.Protocol):
    """An asyncio protocol collecting the bytes of one answer at a time; `exchange` frames
    them. One request at a time; the pool lives in LeanRequest."""

    __slots__ = (
        "_buffer",
        "_closed",
        "_paused",
        "_poll",
        "_received",
        "_transport",
        "_waiter",
        "answered",
        "idle_since",
    )

    def __init__(self) -> None:
        self._buffer = bytearray()
        self._transport: asyncio.Transport | None = None
        self._poll = select.poll()
        # Set by every callback below, awaited by the request in progress.
        self._waiter: asyncio.Future[None] | None = None
        self._paused = False
        self._closed = False
        # Whether any byte arrived since the current answer began (or since the last ended).
        self._received = False
        self.answered = 0
        self.idle_since = 0.0

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self._transport = transport
        sock = transport.get_extra_info("socket")
        if sock is not None:
            self._poll.register(sock.fileno(), select.POLLIN)

    def data_received(self, data: bytes) -> None:
        self._received = True
        self._buffer += data
        self._wake()

    def eof_received(self) -> bool:
        self._closed = True
        self._wake()
        return False  # the transport closes itself

    def connection_lost(self, exc: Exception | None) -> None:
        self._closed = True
        self._wake()

    def pause_writing(self) -> None:
        self._paused = True

    def resume_writing(self) -> None:
        self._paused = False
        self._wake()

    def usable(self, now: float) -> bool:
        """Whether another request may go out here: not idle too long, and nothing arrived
        since the last answer, neither seen by the loop nor still waiting in the socket (a
        server's close a moment ago, or bytes no request asked for)."""
        return (
            not self._closed
            and not self._received
            and now - self.idle_since < KEEPALIVE_SECONDS
            and not self._poll.poll(0)
        )

    def close(self) -> None:
        if self._transport is not None:
            self._transport.close()

    async def exchange(
        self, request: bytes, write_seconds: float | None, read_seconds: float | None
    ) -> tuple[int, bytes, bool]:
        """Sends a request (head and body, bytes); the final answer's status and body, and
        whether the connection may carry another request. Each wait for bytes has
        `read_seconds`, not the whole answer: a large file arriving slowly but steadily is not
        cut off."""
        assert self._transport is not None
        self._received = False
        self._transport.write(request)
        while self._paused and not self._closed:
            await self._wait(write_seconds)
        status, keep, length, chunked = await self._head(read_seconds)
        if status in _NO_BODY:
            body = b""
        elif chunked:
            body = await self._chunks(read_seconds)
        elif length is not None:
            body = await self._exactly(length, read_seconds)
        else:  # neither length nor chunks: the body runs until the server closes
            while not self._closed:
                await self._wait(read_seconds)
            body, keep = bytes(self._buffer), False
            self._buffer.clear()
        # Kept only when nothing came beyond this answer's end, not even the server's close.
        keep = keep and not self._buffer and not self._closed
        if keep:
            self._received = False
            self.answered += 1
        return status, body, keep

    async def _head(self, seconds: float | None) -> tuple[int, bool, int | None, bool]:
        """The final answer's status, whether it lets the connection be kept, its
        Content-Length and whether it is chunked; 1xx answers (103 Early Hints) skipped."""
        while True:
            end = await self._find(b"\r\n\r\n", seconds, HEAD_LIMIT)
            head = bytes(self._buffer[:end])
            del self._buffer[: end + 4]
            status_line, _, fields = head.partition(b"\r\n")
            version, _, rest = status_line.partition(b" ")
            code = rest[:3]
            if not version.startswith(b"HTTP/1.") or not code.isdigit():
                raise MalformedAnswer(f"not an HTTP/1.x answer: {status_line[:40]!r}")
            status = int(code)
            if 100 <= status < 200:
                if status == 101:
                    raise MalformedAnswer("the server switched protocols")
                continue  # an informational answer: the real one follows
            return (status, *_framing(version, fields))

    async def _chunks(self, seconds: float | None) -> bytes:
        chunks: list[bytes] = []
        while True:
            end = await self._find(b"\r\n", seconds, HEAD_LIMIT)
            size_field = bytes(self._buffer[:end]).split(b";", 1)[0].strip()
            del self._buffer[: end + 2]
            try:
                size = int(size_field, 16)
            except ValueError:
                raise MalformedAnswer(f"bad chunk size {size_field[:20]!r}") from None
            if size == 0:
                # Trailers, if any, end with an empty line.
                while (end := await self._find(b"\r\n", seconds, HEAD_LIMIT)) > 0:
                    del self._buffer[: end + 2]
                del self._buffer[:2]
                return b"".join(chunks)
            chunks.append(await self._exactly(size, seconds))
            if await self._exactly(2, seconds) != b"\r\n":
                raise MalformedAnswer("a chunk does not end where its size says")

    async def _find(self, marker: bytes, seconds: float | None, limit: int) -> int:
        """Where `marker` starts in the bytes received, waiting for more as needed."""
        while (found := self._buffer.find(marker)) < 0:
            if len(self._buffer) > limit:
                raise MalformedAnswer("an answer's head is too large")
            await self._more(seconds)
        return found

    async def _exactly(self, count: int, seconds: float | None) -> bytes:
        while len(self._buffer) < count:
            await self._more(seconds)
        taken = bytes(self._buffer[:count])
        del self._buffer[:count]
        return taken

    async def _more(self, seconds: float | None) -> None:
        """Until more bytes arrive; the connection's end before the answer is complete is a
        ConnectionError (StaleConnection when not a byte of the answer came on a reused one)."""
        if self._closed:
            if self.answered and not self._received:
                raise StaleConnection("closed by the server before answering")
            raise ConnectionError("closed by the server before the answer was complete")
        await self._wait(seconds)

    async def _wait(self, seconds: float | None) -> None:
        """Until a callback above fires, or TimeoutError after `seconds` (a timer of our own:
        asyncio.timeout per read costs more, and most answers need a single read)."""
        loop = asyncio.get_running_loop()
        waiter = self._waiter = loop.create_future()
        timer = None if seconds is None else loop.call_later(seconds, _expire, waiter)
        try:
            await waiter
        finally:
            self._waiter = None
            if timer is not None:
                timer.cancel()

    def _wake(self) -> None:
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)


def _framing(version: bytes, fields: bytes) -> tuple[bool, int | None, bool]:
    """From an answer's header fields: whether the connection may be kept (HTTP/1.1 unless a
    `close` token; HTTP/1.0 only with `keep-alive`), the Content-Length, and chunked or not."""
    tokens: set[bytes] = set()
    length: int | None = None
    chunked = False
    for line in fields.split(b"\r\n"):
        name, _, value = line.partition(b":")
        name = name.strip().lower()
        if name == b"content-length":
            value = value.strip()
            if not value.isdigit() or (length is not None and int(value) != length):
                raise MalformedAnswer(f"bad Content-Length {value[:20]!r}")
            length = int(value)
        elif name == b"transfer-encoding":
            chunked = value.strip().lower().endswith(b"chunked")
        elif name == b"connection":
            tokens.update(token.strip().lower() for token in value.split(b","))
    keep = b"keep-alive" in tokens if version == b"HTTP/1.0" else b"close" not in tokens
    return keep, None if chunked else length, chunked


def _expire(waiter: asyncio.Future[None]) -> None:
    if not waiter.done():
        waiter.set_exception(TimeoutError())


async def open_connection(
    host: str, port: int, tls: ssl.SSLContext | None, seconds: float | None
) -> HttpConnection:
    """A new connection to host:port (TLS when a context is given), within `seconds`."""
    loop = asyncio.get_running_loop()
    async with asyncio.timeout(seconds):
        _transport, connection = await loop.create_connection(HttpConnection, host, port, ssl=tls)
    return connection
