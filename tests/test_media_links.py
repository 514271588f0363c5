"""Signed media links: backend staff open a complaint's file; a changed or expired link is 403."""

from __future__ import annotations

import json
import logging
import re
import socket
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from bot.complaint import Attachment
from bot.loopback.customer import CustomerUpdates, make_user
from bot.loopback.server import LoopbackBotApiServer
from bot.loopback.telegram import LoopbackTelegram
from bot.media_links import MediaLinks
from bot.telegram_html import plain_text
from bot.web.media import media_routes
from bot.web.server import WebServer
from tests.helpers.driver import (
    PRODUCT_DEFAULTS,
    BotHarness,
    FakeClock,
    make_settings,
    sample_bytes,
)
from tests.helpers.processes import TEST_TOKEN, BotProcess, until

SECRET = "media-links-secret-0123456789"
BASE = "https://shop.example.com/complaints-bot"
DAY = 86400.0
MIDDLEWARE = "https://middleware.example.com/"
REGISTERED = {
    "responseType": "container",
    "responseMessages": [
        {
            "containerResponse": {
                "responseText": "Registered.",
                "attributes": [{"name": "complaintId", "value": "12345"}],
            }
        }
    ],
}

PHOTO = Attachment(
    kind="photo", fileId="AgACphoto-0001", fileUniqueId="AQAD0001", mimeType="image/jpeg"
)


def _links(clock: FakeClock, secret: str = SECRET) -> MediaLinks:
    return MediaLinks(BASE, secret, 30 * DAY, clock)


def _token(url: str) -> str:
    return url.rsplit("/", 1)[1]


# -- signing -------------------------------------------------------------------------------


def test_a_link_names_its_file_under_the_base_path_until_it_expires() -> None:
    clock = FakeClock()
    links = _links(clock)
    url = links.url_for(PHOTO)
    assert url.startswith(f"{BASE}/media/")
    assert links.route_path == "/complaints-bot/media/"
    linked = links.read(_token(url))
    assert linked is not None
    assert (linked.file_id, linked.unique_id, linked.mime_type) == (
        "AgACphoto-0001",
        "AQAD0001",
        "image/jpeg",
    )
    clock.advance(30 * DAY - 60)
    assert links.read(_token(url)) is not None
    clock.advance(120)
    assert links.read(_token(url)) is None  # MEDIA_LINK_DAYS are over


def test_a_changed_link_or_one_signed_with_another_secret_is_not_read() -> None:
    clock = FakeClock()
    links = _links(clock)
    body, signature = _token(links.url_for(PHOTO)).split(".")
    other = _token(_links(clock, "another-secret-0123456789").url_for(PHOTO))
    forged_body = links.url_for(PHOTO.model_copy(update={"fileId": "someone-elses"}))
    flipped = signature[:-1] + ("A" if signature[-1] != "A" else "B")
    for token in (
        f"{body}.{flipped}",
        f"{body[:-2]}.{signature}",
        f"{_token(forged_body).split('.')[0]}.{signature}",
        other,
        body,
        "",
        ".",
        "not-a-token",
    ):
        assert links.read(token) is None, token


# -- served by the bot --------------------------------------------------------------------


class Middleware:
    """Records the middleware's requests and answers as its seed document does."""

    def __init__(self) -> None:
        self.bodies: list[dict[str, Any]] = []

    def client(self) -> httpx.AsyncClient:
        def handle(request: httpx.Request) -> httpx.Response:
            self.bodies.append(json.loads(request.content))
            return httpx.Response(200, json=REGISTERED)

        return httpx.AsyncClient(transport=httpx.MockTransport(handle))

    def attachments(self) -> list[dict[str, Any]]:
        (body,) = self.bodies
        entity = body["queryInfo"]["parameters"]["params"]["entityInfo"]
        return list(entity["attachments"])


class Served:
    """A bot that filed a complaint with files, its media route on 127.0.0.1."""

    def __init__(self, bot: BotHarness, backend: Middleware, http: httpx.AsyncClient) -> None:
        self.bot = bot
        self.backend = backend
        self.http = http

    def path_of(self, url: str) -> str:
        return urlsplit(url).path


async def _served(tmp_path: Path, **settings: Any) -> AsyncIterator[Served]:
    backend = Middleware()
    clock = FakeClock()
    telegram = LoopbackTelegram(clock=clock)
    # Bot API calls are answered in memory; the files come over HTTP, as Telegram serves them.
    file_server = LoopbackBotApiServer(telegram)
    await file_server.start()
    bot = BotHarness(
        make_settings(
            tmp_path / "bot.sqlite3",
            **PRODUCT_DEFAULTS,
            complaint_backend="middleware",
            middleware_base_url=MIDDLEWARE,
            middleware_token="middleware-test-token",
            media_base_url=BASE,
            media_link_secret=SECRET,
            telegram_api_base_url=file_server.base_url,
            **settings,
        ),
        http_client=backend.client(),
        clock=clock,
        telegram=telegram,
    )
    await bot.start()
    routes = media_routes(bot.built)
    server = WebServer(bot.built.application, "127.0.0.1", 0, routes)
    port = await server.start()
    try:
        ada = bot.customer()
        await ada.send("/complaint")
        await ada.send("748596")
        await ada.send_album(2)
        await ada.send_file("document", name="receipt 2026 €.pdf", mime="application/pdf")
        await ada.send("The blender arrived with a cracked jug.")
        await ada.press("Product-related")
        await ada.press("Done")
        await ada.press("Replacement")
        await ada.press("Submit")
        await bot.settle()
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=5) as http:
            yield Served(bot, backend, http)
    finally:
        await server.stop()
        await bot.stop()
        await file_server.stop()


@pytest.fixture
async def served(tmp_path: Path) -> AsyncIterator[Served]:
    async for served in _served(tmp_path):
        yield served


async def test_each_file_of_the_envelope_has_a_link_that_serves_its_bytes(served: Served) -> None:
    attachments = served.backend.attachments()
    stored = list(served.bot.api.telegram.files.values())
    assert len(attachments) == len(stored) == 3
    for attachment, file in zip(attachments, stored, strict=True):
        assert attachment["url"].startswith(f"{BASE}/media/")
        response = await served.http.get(served.path_of(attachment["url"]))
        assert response.status_code == 200
        assert response.content == file.content
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert response.headers["Content-Security-Policy"] == "default-src 'none'; sandbox"
    photo, _, receipt = attachments
    response = await served.http.get(served.path_of(photo["url"]))
    assert response.headers["Content-Type"] == "image/jpeg"
    assert response.headers["Content-Disposition"].startswith("inline;")
    response = await served.http.head(served.path_of(receipt["url"]))
    assert response.status_code == 200 and response.content == b""
    assert response.headers["Content-Type"] == "application/pdf"
    assert response.headers["Content-Disposition"] == (
        "inline; filename*=UTF-8''receipt%202026%20%E2%82%AC.pdf"
    )
    assert int(response.headers["Content-Length"]) == len(stored[2].content)


async def test_a_modified_or_expired_link_is_refused_with_403(served: Served) -> None:
    url = served.backend.attachments()[0]["url"]
    path = served.path_of(url)
    body, signature = path.rsplit("/", 1)[1].split(".")
    other = served.backend.attachments()[1]["url"].rsplit(".", 1)[1]
    for changed in (f"{body}.{signature[::-1]}", f"{body}x.{signature}", f"{body}.{other}"):
        response = await served.http.get(path.rsplit("/", 1)[0] + "/" + changed)
        assert response.status_code == 403
        assert response.text == "This link is not valid or has expired."
        assert b"JFIF" not in response.content

    served.bot.clock.advance(31 * DAY)
    response = await served.http.get(path)
    assert response.status_code == 403


async def test_telegram_failing_is_a_502_and_the_log_holds_no_token_nor_link(
    served: Served, caplog: pytest.LogCaptureFixture
) -> None:
    url = served.backend.attachments()[0]["url"]
    served.bot.api.fail_next("getFile", "Internal Server Error", 500)
    with caplog.at_level(logging.DEBUG):
        response = await served.http.get(served.path_of(url))
    assert response.status_code == 502
    # What the bot logged (the test's own HTTP client logs the URL it was given).
    logged = "\n".join(
        r.getMessage() for r in caplog.records if r.name.startswith(("bot", "telegram", "tornado"))
    )
    assert "could not be fetched from Telegram" in logged
    assert served.bot.settings.telegram_bot_token.get_secret_value() not in logged
    assert _token(url) not in logged and _token(url)[:20] not in logged


async def test_with_a_cache_directory_an_opened_file_is_served_when_telegram_is_not(
    tmp_path: Path,
) -> None:
    cache = tmp_path / "media-cache"
    async for served in _served(tmp_path, media_cache_dir=cache):
        url = served.backend.attachments()[0]["url"]
        first = await served.http.get(served.path_of(url))
        assert first.status_code == 200
        assert [p.name for p in cache.iterdir()] == [
            next(iter(served.bot.api.telegram.files.values())).file_unique_id
        ]
        served.bot.api.fail_next("getFile", "Internal Server Error", 500)
        again = await served.http.get(served.path_of(url))
        assert again.status_code == 200 and again.content == first.content


async def test_without_media_base_url_files_have_no_link(tmp_path: Path) -> None:
    bot = BotHarness(make_settings(tmp_path / "bot.sqlite3", **PRODUCT_DEFAULTS))
    await bot.start()
    try:
        assert bot.built.services.media_links is None
        ada = bot.customer()
        await ada.send("/complaint")
        await ada.send("748596")
        await ada.send_file("photo", caption="The jug is cracked.")
        await ada.press("Product-related")
        await ada.press("Done")
        await ada.press("Refund")
        await ada.press("Submit")
        await bot.settle()
        shown = await _desk_show(tmp_path, "100001")
        assert "media/" not in shown and "file_id AgAC" in shown
    finally:
        await bot.stop()


async def _desk_show(workdir: Path, number: str, **settings: Any) -> str:
    desk = BotProcess(workdir, settings, f"desk-{number}")
    await desk.start("desk", "show", number)
    assert await desk.exit_status() == 0
    return desk.output()


# -- polling mode: the bot's small web server --------------------------------------------


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def test_in_polling_mode_the_link_in_desk_show_serves_the_photo(tmp_path: Path) -> None:
    telegram = LoopbackTelegram()
    server = LoopbackBotApiServer(telegram)
    await server.start()
    port = _free_port()
    media = {
        "media_base_url": "https://bot.example.com",
        "media_link_secret": SECRET,
        "webhook_listen": "127.0.0.1",
        "webhook_port": port,
    }
    bot = BotProcess(tmp_path, {"telegram_api_base_url": server.base_url, **media})
    ada = CustomerUpdates(make_user(4242, "Ada"))

    def said(words: str) -> bool:
        return any(words in plain_text(m.text) for m in telegram.chat_messages(ada.id))

    async def answered(update: dict[str, Any]) -> None:
        before = len(telegram.chat_messages(ada.id))
        telegram.deliver(update)
        await until(lambda: len(telegram.chat_messages(ada.id)) > before, "an answer")

    try:
        await bot.start()
        await until(lambda: telegram.polls > 0, "polling")
        photo = telegram.add_file(sample_bytes("photo"))
        await answered(ada.text("/complaint"))
        await answered(ada.text("748596"))
        telegram.deliver(ada.file(photo, caption="The jug is cracked."))
        await until(lambda: said("category"), "the category question")
        question = [m for m in telegram.chat_messages(ada.id) if m.buttons][-1]
        telegram.deliver(ada.press(question, question.callback_data("Delivery")))
        await until(lambda: said("Please check"), "the summary")
        summary = [m for m in telegram.chat_messages(ada.id) if m.buttons][-1]
        telegram.deliver(ada.press(summary, summary.callback_data("Submit")))
        await until(lambda: said("Complaint number: 100001"), "the card")

        shown = await _desk_show(tmp_path, "100001", **media)
        (url,) = re.findall(r"https://bot\.example\.com/media/\S+", shown)
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=5) as http:
            assert (await http.get("/healthz")).status_code == 200
            served = await http.get(urlsplit(url).path)
            assert served.status_code == 200 and served.content == photo.content
            refused = await http.get(urlsplit(url).path[:-3] + "abc")
            assert refused.status_code == 403
        assert TEST_TOKEN not in bot.output() and _token(url) not in bot.output()
    finally:
        await bot.stop()
        await server.stop()


async def test_after_forgetme_its_links_are_gone_and_the_cached_files_deleted(
    tmp_path: Path,
) -> None:
    cache = tmp_path / "media-cache"
    async for served in _served(tmp_path, media_cache_dir=cache):
        urls = [a["url"] for a in served.backend.attachments()]
        for url in urls:
            assert (await served.http.get(served.path_of(url))).status_code == 200
        assert len(list(cache.iterdir())) == 3
        (ada,) = {c.chat_id for c in served.bot.api.calls_to("sendMessage") if c.chat_id > 0}
        customer = served.bot.customer(user_id=ada)
        await customer.send("/forgetme")
        await customer.press("Yes, forget me")
        for url in urls:
            response = await served.http.get(served.path_of(url))
            assert response.status_code == 410
            assert response.text == "This file was erased."
        assert list(cache.iterdir()) == []
