"""LeanRequest against servers that answer the way real ones sometimes do (issue 32)."""

from __future__ import annotations

import asyncio
import shutil
import socket
import ssl
import subprocess
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
from telegram.error import NetworkError, TimedOut

from bot.lean_request import LeanRequest

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


@asynccontextmanager
async def _serve(
    handle: Handler, host: str = "127.0.0.1", tls: ssl.SSLContext | None = None
) -> AsyncIterator[tuple[str, list[asyncio.StreamWriter]]]:
    """A server running `handle` for each connection; yields its base URL and the connections
    it accepted. Handlers still running at the end are cancelled."""
    connections: list[asyncio.StreamWriter] = []
    tasks: set[asyncio.Task[None]] = set()

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        connections.append(writer)
        task = asyncio.current_task()
        assert task is not None
        tasks.add(task)
        try:
            await handle(reader, writer)
        # A cancelled handler is swallowed: asyncio's callback would log the cancellation.
        except (asyncio.IncompleteReadError, ConnectionError, ssl.SSLError, asyncio.CancelledError):
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(serve, host, 0, ssl=tls)
    port = server.sockets[0].getsockname()[1]
    netloc = f"[{host}]" if ":" in host else host
    try:
        yield f"{'https' if tls else 'http'}://{netloc}:{port}/bot123:abc", connections
    finally:
        server.close()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


async def _read_request(reader: asyncio.StreamReader) -> bytes | None:
    """One request, head and body; None when the client closed instead."""
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except asyncio.IncompleteReadError:
        return None
    length = 0
    for line in head.split(b"\r\n"):
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    return head + await reader.readexactly(length)


def _ok(body: bytes, extra: bytes = b"") -> bytes:
    return b"HTTP/1.1 200 OK\r\n%sContent-Length: %d\r\n\r\n%s" % (extra, len(body), body)


async def test_an_early_hints_answer_is_skipped_and_the_final_answer_returned() -> None:
    count = 0

    async def hints_first(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal count
        while await _read_request(reader) is not None:
            count += 1
            hints = b"HTTP/1.1 103 Early Hints\r\nLink: </a.css>; rel=preload\r\n\r\n"
            writer.write(hints + _ok(b'{"call":%d}' % count))

    async with _serve(hints_first) as (url, _connections):
        request = LeanRequest(1)
        first = await request.do_request(f"{url}/getMe", "POST")
        second = await request.do_request(f"{url}/getMe", "POST")
        await request.shutdown()
    assert first == (200, b'{"call":1}')
    assert second == (200, b'{"call":2}')


@pytest.mark.parametrize("late", [False, True], ids=["with-the-answer", "after-the-answer"])
async def test_bytes_after_the_declared_length_never_answer_the_next_call(late: bool) -> None:
    count = 0
    stray = _ok(b"stray")

    async def overlong(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal count
        while await _read_request(reader) is not None:
            count += 1
            writer.write(_ok(b"answer %d" % count) + (b"" if late else stray))
            if late:
                await writer.drain()
                await asyncio.sleep(0.05)
                writer.write(stray)

    async with _serve(overlong) as (url, _connections):
        request = LeanRequest(1)
        answers = []
        for _ in range(3):
            answers.append(await request.do_request(f"{url}/getMe", "POST"))
            await asyncio.sleep(0.15)
        await request.shutdown()
    assert answers == [(200, b"answer 1"), (200, b"answer 2"), (200, b"answer 3")]


async def test_a_server_closing_after_each_answer_loses_no_call() -> None:
    """Without `Connection: close`: a server's keep-alive expiry looks just like this."""

    async def one_answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if await _read_request(reader) is not None:
            writer.write(_ok(b'{"ok":true}'))
            await writer.drain()

    async with _serve(one_answer) as (url, connections):
        request = LeanRequest(4)
        answers = [await request.do_request(f"{url}/getMe", "POST") for _ in range(50)]
        await request.shutdown()
    assert answers == [(200, b'{"ok":true}')] * 50
    assert len(connections) >= 50


async def test_a_request_is_not_sent_into_a_connection_the_server_has_closed() -> None:
    """The server ends its side after each answer but still reads: a request written into
    that connection would reach it unanswered, and its retry would reach it twice."""
    seen = 0

    async def half_close(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal seen
        while await _read_request(reader) is not None:
            seen += 1
            writer.write(_ok(b'{"ok":true}'))
            writer.write_eof()

    async with _serve(half_close) as (url, _connections):
        request = LeanRequest(4)
        answers = [await request.do_request(f"{url}/sendMessage", "POST") for _ in range(50)]
        await request.shutdown()
    assert answers == [(200, b'{"ok":true}')] * 50
    assert seen == 50


async def test_a_kept_alive_connection_closed_as_the_request_arrives_is_retried_once() -> None:
    """The server's keep-alive expiry meets the request: closed with no byte of an answer, so
    the call goes once more on a new connection; after part of an answer it does not."""
    seen = 0
    partial = False

    async def expiring(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal seen
        await _read_request(reader)
        seen += 1
        writer.write(_ok(b'{"ok":true}'))
        await _read_request(reader)
        seen += 1
        if partial:
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 11\r\n\r\n{")
            await writer.drain()

    async with _serve(expiring) as (url, connections):
        request = LeanRequest(1)
        for _ in range(3):
            assert await request.do_request(f"{url}/getMe", "POST") == (200, b'{"ok":true}')
        assert (seen, len(connections)) == (5, 3)  # calls 2 and 3 each went out twice

        partial = True
        with pytest.raises(NetworkError):
            await request.do_request(f"{url}/getMe", "POST")
        await request.shutdown()
    assert seen == 6  # not sent again: the server had begun to answer


async def test_the_read_timeout_is_per_read_not_for_the_whole_body() -> None:
    """A slow download (7 KB, 1 KB every 0.2 s, 1.4 s in all) under a 0.6 s read timeout
    succeeds; a body that stops arriving for longer than the timeout still times out."""
    stall = False

    async def trickle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while await _read_request(reader) is not None:
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 7168\r\n\r\n")
            for _ in range(7):
                writer.write(b"x" * 1024)
                await writer.drain()
                await asyncio.sleep(2.0 if stall else 0.2)

    async with _serve(trickle) as (url, _connections):
        request = LeanRequest(1)
        loop = asyncio.get_running_loop()
        started = loop.time()
        code, payload = await request.do_request(f"{url}/file/a.jpg", "GET", read_timeout=0.6)
        assert (code, payload) == (200, b"x" * 7168)
        assert loop.time() - started > 1.2  # the body did take longer than the timeout
        stall = True
        with pytest.raises(TimedOut):
            await request.do_request(f"{url}/file/a.jpg", "GET", read_timeout=0.6)
        await request.shutdown()


@pytest.fixture(scope="module")
def local_ca(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A CA and a server certificate for 127.0.0.1 it signed, made with the openssl CLI;
    the directory also holds the CA under its hash name (an SSL_CERT_DIR)."""
    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.skip("the openssl command is not installed")
    root = tmp_path_factory.mktemp("ca")
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]

    def run(*args: str) -> str:
        done = subprocess.run([openssl, *args], cwd=root, check=True, capture_output=True)
        return done.stdout.decode()

    ca = ["-subj", "/CN=Complaints test CA", "-addext", "basicConstraints=critical,CA:TRUE"]
    ca += ["-addext", "keyUsage=critical,keyCertSign,cRLSign"]
    run("req", "-x509", *ec, *ca, "-keyout", "ca.key", "-out", "ca.pem", "-days", "2")
    run("req", *ec, "-keyout", "server.key", "-out", "server.csr", "-subj", "/CN=127.0.0.1")
    (root / "server.ext").write_text(
        "subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\n"
        "keyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\n"
        "authorityKeyIdentifier=keyid\nsubjectKeyIdentifier=hash\n"
    )
    signed = ["-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial", "-extfile", "server.ext"]
    run("x509", "-req", "-in", "server.csr", *signed, "-out", "server.pem", "-days", "2")
    hashed = root / "dir"
    hashed.mkdir()
    name = run("x509", "-hash", "-noout", "-in", "ca.pem").strip()
    shutil.copy(root / "ca.pem", hashed / f"{name}.0")
    return root


@pytest.mark.parametrize("variable", ["SSL_CERT_FILE", "SSL_CERT_DIR"])
async def test_a_bot_api_behind_a_private_ca_is_trusted_through_the_standard_variables(
    local_ca: Path, variable: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    tls.load_cert_chain(local_ca / "server.pem", local_ca / "server.key")

    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while await _read_request(reader) is not None:
            writer.write(_ok(b'{"ok":true}'))

    async with _serve(answer, tls=tls) as (url, connections):
        monkeypatch.delenv("SSL_CERT_FILE", raising=False)
        monkeypatch.delenv("SSL_CERT_DIR", raising=False)
        untrusting = LeanRequest(1)
        with pytest.raises(NetworkError, match="CERTIFICATE_VERIFY_FAILED"):
            await untrusting.do_request(f"{url}/getMe", "POST")
        await untrusting.shutdown()

        path = local_ca / ("ca.pem" if variable == "SSL_CERT_FILE" else "dir")
        monkeypatch.setenv(variable, str(path))
        request = LeanRequest(1)
        for _ in range(2):
            assert await request.do_request(f"{url}/getMe", "POST") == (200, b'{"ok":true}')
        await request.shutdown()
    assert len(connections) == 1  # kept alive (the refused handshake never reached `answer`)


async def test_an_ipv6_host_header_is_bracketed() -> None:
    try:
        with socket.socket(socket.AF_INET6) as probe:
            probe.bind(("::1", 0))
    except OSError:
        pytest.skip("no IPv6 loopback on this machine")
    seen: list[bytes] = []

    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while (request := await _read_request(reader)) is not None:
            seen.append(request)
            writer.write(_ok(b'{"ok":true}'))

    async with _serve(answer, host="::1") as (url, _connections):
        request = LeanRequest(1)
        assert await request.do_request(f"{url}/getMe", "POST") == (200, b'{"ok":true}')
        await request.shutdown()
    port = url.rsplit("]:", 1)[1].split("/")[0]
    assert f"\r\nHost: [::1]:{port}\r\n".encode() in seen[0]


async def test_the_request_target_is_percent_encoded_once() -> None:
    seen: list[bytes] = []

    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while (request := await _read_request(reader)) is not None:
            seen.append(request.split(b"\r\n", 1)[0])
            writer.write(_ok(b"JPEG"))

    async with _serve(answer) as (url, _connections):
        request = LeanRequest(1)
        for path in ("photos/a b č.jpg", "photos/a%20b.jpg", "photos/100%.jpg?v=1 2"):
            assert await request.do_request(f"{url}/{path}", "GET") == (200, b"JPEG")
        await request.shutdown()
    assert seen == [
        b"GET /bot123:abc/photos/a%20b%20%C4%8D.jpg HTTP/1.1",
        b"GET /bot123:abc/photos/a%20b.jpg HTTP/1.1",
        b"GET /bot123:abc/photos/100%25.jpg?v=1%202 HTTP/1.1",
    ]


@pytest.mark.parametrize("header", [b"close, TE", b"TE, Close"])
async def test_connection_close_among_other_tokens_is_understood(header: bytes) -> None:
    """The server said it will close and reads nothing more: a second request sent there
    would wait for an answer that never comes."""

    async def says_close(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if await _read_request(reader) is not None:
            writer.write(_ok(b'{"ok":true}', b"Connection: %s\r\n" % header))
            await asyncio.sleep(5)

    async with _serve(says_close) as (url, connections):
        request = LeanRequest(1)
        for _ in range(2):
            answer = await request.do_request(f"{url}/getMe", "POST", read_timeout=0.5)
            assert answer == (200, b'{"ok":true}')
        await request.shutdown()
    assert len(connections) == 2
