"""This module contains H11Connection: one keep-alive HTTP/1.1 client connection, parsed by h11."""

from __future__ import annotations

import asyncio
import select
import ssl

import h11

# An idle connection is dropped after this long (httpx's keep-alive expiry): a server or a
# proxy closes idle connections on its own, and a request sent into one that is closing fails.
KEEPALIVE_SECONDS = 5.0
# A response's head is a few hundred bytes; beyond this something is wrong.
HEAD_LIMIT = 64 * 1024


class StaleConnection(ConnectionError):
    """A reused connection ended before any byte of the answer arrived: the server had closed
    it (its keep-alive expiry) as the request went out, so the request was not answered and
    may be sent again on a fresh connection."""


class H11Connection(asyncio.Protocol):
    """An asyncio protocol that hands every received byte to h11, which frames the answers:
    1xx answers, Content-Length, chunks, `Connection` tokens and bytes beyond an answer's end
    are h11's to judge, not ours. One request at a time; the pool lives in LeanRequest."""

    __slots__ = (
        "_closed",
        "_h11",
        "_paused",
        "_poll",
        "_received",
        "_transport",
        "_waiter",
        "answered",
        "idle_since",
    )

    def __init__(self) -> None:
        self._h11 = h11.Connection(h11.CLIENT, max_incomplete_event_size=HEAD_LIMIT)
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
        self._h11.receive_data(data)
        self._wake()

    def eof_received(self) -> bool:
        self._closed = True
        self._h11.receive_data(b"")
        self._wake()
        return False  # the transport closes itself

    def connection_lost(self, exc: Exception | None) -> None:
        self._closed = True
        self._h11.receive_data(b"")
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
        self,
        request: h11.Request,
        body: bytes,
        write_seconds: float | None,
        read_seconds: float | None,
    ) -> tuple[int, bytes, bool]:
        """Sends a request; the final answer's status and body, and whether the connection
        may carry another request. Each wait for bytes has `read_seconds`, not the whole
        answer: a large file arriving slowly but steadily is not cut off."""
        assert self._transport is not None
        connection = self._h11
        self._received = False
        head = connection.send(request)
        data = connection.send(h11.Data(data=body)) if body else b""
        connection.send(h11.EndOfMessage())
        self._transport.write(head + data)
        while self._paused and not self._closed:
            await self._wait(write_seconds)
        status = 0
        chunks: list[bytes] = []
        try:
            while True:
                event = connection.next_event()
                if event is h11.NEED_DATA:
                    await self._wait(read_seconds)
                    continue
                kind = type(event)
                if kind is h11.Response:
                    status = event.status_code  # type: ignore[union-attr]
                elif kind is h11.Data:
                    chunks.append(event.data)  # type: ignore[union-attr]
                elif kind is h11.EndOfMessage:
                    break
                elif kind is not h11.InformationalResponse:  # a 1xx (103 Early Hints) is skipped
                    raise ConnectionError(f"unexpected in an answer: {event!r}")
        except h11.RemoteProtocolError as err:
            if not self._closed:
                raise  # a malformed answer
            if self.answered and not self._received:
                raise StaleConnection("closed by the server before answering") from err
            raise ConnectionError("closed by the server before the answer was complete") from err
        # Kept for another request only when h11 says so (no `Connection: close` token, not
        # HTTP/1.0) and nothing came beyond this answer's end, not even the server's close.
        keep = (
            connection.our_state is h11.DONE
            and connection.their_state is h11.DONE
            and connection.trailing_data == (b"", False)
        )
        if keep:
            connection.start_next_cycle()
            self._received = False
            self.answered += 1
        return status, chunks[0] if len(chunks) == 1 else b"".join(chunks), keep

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


def _expire(waiter: asyncio.Future[None]) -> None:
    if not waiter.done():
        waiter.set_exception(TimeoutError())


async def open_connection(
    host: str, port: int, tls: ssl.SSLContext | None, seconds: float | None
) -> H11Connection:
    """A new connection to host:port (TLS when a context is given), within `seconds`."""
    loop = asyncio.get_running_loop()
    async with asyncio.timeout(seconds):
        _transport, connection = await loop.create_connection(H11Connection, host, port, ssl=tls)
    return connection
