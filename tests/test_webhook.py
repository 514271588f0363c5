"""Webhook mode end to end on loopback: the secret, the health endpoint, the app's lifecycle."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import socket
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from bot.__main__ import ALLOWED_UPDATES
from bot.app import BuiltBot, build_application
from bot.complaint import Attachment
from bot.config import ConfigError
from bot.handlers import MENU_COMMANDS
from bot.loopback.customer import CustomerUpdates, make_user
from bot.loopback.server import LoopbackBotApiServer
from bot.loopback.telegram import LoopbackTelegram
from bot.web.webhook import SECRET_HEADER, WebhookConfig, serve
from tests.helpers.bot_api import BotMessage, FakeBotApi
from tests.helpers.driver import make_settings, offline_http_client
from tests.helpers.processes import until

SECRET = "s3cret-token-of-at-least-32-chars_abc-XYZ"
WEBHOOK_URL = "https://bot.example.com/telegram/updates"


class WebhookBotApi(FakeBotApi):
    """The fake Bot API, also answering setWebhook (what run_webhook registers)."""

    def _api_setWebhook(self, params: dict[str, Any]) -> bool:
        return True


def update(update_id: int, text: str, user_id: int = 4242) -> dict[str, Any]:
    user = {"id": user_id, "is_bot": False, "first_name": "Ada", "language_code": "en"}
    message: dict[str, Any] = {
        "message_id": update_id,
        "date": int(time.time()),
        "chat": {"id": user_id, "type": "private", "first_name": "Ada"},
        "from": user,
        "text": text,
    }
    if text.startswith("/"):
        message["entities"] = [{"type": "bot_command", "offset": 0, "length": len(text)}]
    return {"update_id": update_id, "message": message}


@dataclasses.dataclass
class Running:
    api: WebhookBotApi
    base: str
    http: httpx.AsyncClient
    stop: asyncio.Event
    task: asyncio.Task[None]
    built: BuiltBot

    async def replies_to(self, chat_id: int, count: int = 1) -> list[str]:
        """Waits (up to 5 s) for the bot's messages in a chat; their texts."""
        async with asyncio.timeout(5):
            while True:
                sent = [
                    call.text
                    for call in self.api.calls_to("sendMessage")
                    if call.chat_id == chat_id
                ]
                if len(sent) >= count:
                    return sent
                await asyncio.sleep(0.01)


@pytest.fixture
async def running(tmp_path: Path) -> AsyncIterator[Running]:
    """The whole bot in webhook mode on 127.0.0.1 (a free port), its Bot API faked."""
    async with _running(tmp_path) as bot:
        yield bot


@contextlib.asynccontextmanager
async def _running(
    tmp_path: Path, telegram: LoopbackTelegram | None = None, **extra: Any
) -> AsyncIterator[Running]:
    settings = make_settings(
        tmp_path / "bot.sqlite3",
        bot_mode="webhook",
        webhook_url=WEBHOOK_URL,
        webhook_listen="127.0.0.1",
        webhook_secret=SECRET,
        **extra,
    )
    api = WebhookBotApi(telegram)
    built = build_application(settings, request=api, http_client=offline_http_client())
    config = WebhookConfig.from_settings(settings, ALLOWED_UPDATES)
    assert (config.listen, config.port, config.path) == ("127.0.0.1", 8443, "/telegram/updates")
    config = dataclasses.replace(config, port=0)  # any free port
    ready: asyncio.Future[int] = asyncio.get_running_loop().create_future()
    stop = asyncio.Event()
    task = asyncio.create_task(serve(built, config, stop=stop, on_ready=ready.set_result))
    done, _ = await asyncio.wait({ready, task}, timeout=10, return_when=asyncio.FIRST_COMPLETED)
    if task in done:
        task.result()  # raises what stopped the start-up
    port = ready.result()
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=5) as http:
        yield Running(api, f"http://127.0.0.1:{port}", http, stop, task, built)
        stop.set()
        async with asyncio.timeout(10):
            await task
    assert not built.application.running


async def test_the_webhook_server_also_serves_signed_media_links(tmp_path: Path) -> None:
    telegram = LoopbackTelegram()
    files = LoopbackBotApiServer(telegram)  # the files come over HTTP, as Telegram serves them
    await files.start()
    media = {
        "media_base_url": "https://bot.example.com/",
        "media_link_secret": "m" * 24,
        "telegram_api_base_url": files.base_url,
    }
    try:
        async with _running(tmp_path, telegram, **media) as bot:
            links = bot.built.services.media_links
            assert links is not None
            stored = telegram.add_file(b"\xff\xd8\xff\xe0 a cracked jug")
            url = links.url_for(
                Attachment(kind="photo", fileId=stored.file_id, fileUniqueId=stored.file_unique_id)
            )
            path = url.removeprefix("https://bot.example.com")
            served = await bot.http.get(path)
            assert served.status_code == 200 and served.content == stored.content
            assert (await bot.http.get(path + "x")).status_code == 403
    finally:
        await files.stop()


async def test_an_update_with_the_right_secret_is_answered(running: Running) -> None:
    response = await running.http.post(
        "/telegram/updates", json=update(1, "/start"), headers={SECRET_HEADER: SECRET}
    )
    assert response.status_code == 200
    [greeting] = await running.replies_to(4242)
    assert "Hello Ada" in greeting


async def test_the_trailing_slash_of_the_path_does_not_matter(running: Running) -> None:
    response = await running.http.post(
        "/telegram/updates/", json=update(2, "/help"), headers={SECRET_HEADER: SECRET}
    )
    assert response.status_code == 200
    assert "/complaint" in (await running.replies_to(4242))[0]


@pytest.mark.parametrize(
    "headers",
    [{}, {SECRET_HEADER: "wrong"}, {SECRET_HEADER: SECRET[:-1]}, {SECRET_HEADER: SECRET + "x"}],
    ids=["missing", "wrong", "prefix", "longer"],
)
async def test_a_wrong_or_missing_secret_is_refused_and_not_processed(
    running: Running, headers: dict[str, str]
) -> None:
    response = await running.http.post(
        "/telegram/updates", json=update(3, "/start"), headers=headers
    )
    assert response.status_code == 403
    await asyncio.sleep(0.1)
    assert running.api.calls_to("sendMessage") == []


async def test_healthz_answers_ok_while_running(running: Running) -> None:
    response = await running.http.get("/healthz")
    assert (response.status_code, response.text) == (200, "ok")


async def test_a_body_that_is_not_an_update_is_a_bad_request(running: Running) -> None:
    response = await running.http.post(
        "/telegram/updates", content=b"{not json", headers={SECRET_HEADER: SECRET}
    )
    assert response.status_code == 400


async def test_other_paths_and_methods_are_not_served(running: Running) -> None:
    assert (await running.http.get("/telegram/updates")).status_code == 405
    assert (await running.http.post("/elsewhere", json=update(4, "/start"))).status_code == 404


async def test_start_registers_the_webhook_with_its_secret_and_the_command_menu(
    running: Running,
) -> None:
    [webhook] = running.api.calls_to("setWebhook")
    assert webhook.params["url"] == WEBHOOK_URL
    assert webhook.params["secret_token"] == SECRET
    assert webhook.params["allowed_updates"] == ["message", "edited_message", "callback_query"]
    menus = {
        call.params.get("language_code"): call for call in running.api.calls_to("setMyCommands")
    }
    menu = menus[None]  # the default menu (translations add one per language)
    names = [command["command"] for command in menu.params["commands"]]
    assert names == list(MENU_COMMANDS)
    assert {"complaint", "mycomplaints", "status", "cancel", "help"} <= set(names)


async def test_stopping_runs_the_whole_shutdown(tmp_path: Path) -> None:
    settings = make_settings(
        tmp_path / "bot.sqlite3", bot_mode="webhook", webhook_url=WEBHOOK_URL, webhook_secret=SECRET
    )
    built = build_application(settings, request=WebhookBotApi(), http_client=offline_http_client())
    app = built.application
    seen: list[str] = []
    for hook in ("post_init", "post_stop", "post_shutdown"):
        original = getattr(app, hook)

        async def record(application: Any, original: Any = original, hook: str = hook) -> None:
            seen.append(hook)
            await original(application)

        setattr(app, hook, record)
    config = dataclasses.replace(
        WebhookConfig.from_settings(settings, ALLOWED_UPDATES), listen="127.0.0.1", port=0
    )
    stop = asyncio.Event()
    ports: list[int] = []

    def ready(port: int) -> None:
        ports.append(port)
        stop.set()  # as SIGTERM would

    async with asyncio.timeout(10):
        await serve(built, config, stop=stop, on_ready=ready)
    assert seen == ["post_init", "post_stop", "post_shutdown"]
    assert ports and not app.running
    with pytest.raises(httpx.ConnectError):
        async with httpx.AsyncClient() as http:
            await http.get(f"http://127.0.0.1:{ports[0]}/healthz")


def test_the_health_path_cannot_be_the_webhook_path(tmp_path: Path) -> None:
    settings = make_settings(
        tmp_path / "bot.sqlite3",
        bot_mode="webhook",
        webhook_url="https://bot.example.com/healthz",
        webhook_secret=SECRET,
    )
    with pytest.raises(ConfigError, match="WEBHOOK_URL"):
        WebhookConfig.from_settings(settings)


async def test_an_update_telegram_delivers_again_is_answered_once(running: Running) -> None:
    """Telegram redelivers an update whose answer it did not get in time: one answer, and an
    order ID sent once is not taken a second time as the problem statement."""
    for payload in (update(10, "/complaint"), update(11, "748596"), update(11, "748596")):
        response = await running.http.post(
            "/telegram/updates", json=payload, headers={SECRET_HEADER: SECRET}
        )
        assert response.status_code == 200
    replies = await running.replies_to(4242, count=2)
    await asyncio.sleep(0.3)
    replies = [c.text for c in running.api.calls_to("sendMessage") if c.chat_id == 4242]
    assert len(replies) == 2
    assert "problem" in replies[-1] and "at least" not in replies[-1]


async def test_metrics_are_served_on_metrics_port_after_a_complaint_filed_over_the_webhook(
    tmp_path: Path,
) -> None:
    """/metrics is on METRICS_LISTEN:METRICS_PORT (127.0.0.1), never on the public port."""
    metrics_port = _free_port()
    async with _running(tmp_path, metrics_port=metrics_port) as running:
        assert (await running.http.get("/metrics")).status_code == 404
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{metrics_port}") as private:
            await _file_a_complaint_and_scrape(running, private)


async def test_metrics_port_set_to_the_webhook_port_serves_metrics_there(
    tmp_path: Path,
) -> None:
    async with _running(tmp_path, metrics_port=8443) as running:  # WEBHOOK_PORT's value
        await _file_a_complaint_and_scrape(running, running.http)


async def test_without_metrics_port_the_webhook_port_has_no_metrics(running: Running) -> None:
    assert (await running.http.get("/metrics")).status_code == 404


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def _file_a_complaint_and_scrape(running: Running, metrics: httpx.AsyncClient) -> None:
    ada = CustomerUpdates(make_user(4242, "Ada"))
    telegram = running.api.telegram
    numbers = iter(range(100, 200))

    async def post(payload: dict[str, Any]) -> None:
        payload = {"update_id": next(numbers), **payload}
        telegram.received(payload)
        answer = await running.http.post(
            "/telegram/updates", json=payload, headers={SECRET_HEADER: SECRET}
        )
        assert answer.status_code == 200

    def showing(label: str) -> list[BotMessage]:
        return [m for m in telegram.chat_messages(4242) if label in m.buttons]

    async def press(label: str) -> None:
        await until(lambda: bool(showing(label)), label, seconds=5)
        shown = showing(label)[-1]
        await post(ada.press(shown, shown.callback_data(label)))

    for text in ("/complaint", "748596", "The kettle leaks."):
        await post(ada.text(text))
        await asyncio.sleep(0.05)  # each answer before the next message, as a person types
    await press("Delivery")
    await press("Submit")
    registered = (
        'complaint_bot_backend_calls_total{backend="local",operation="submit",'
        'outcome="registered"} 1.0'
    )
    # The card, then one scrape (the gauges' database read is cached for a few seconds).
    await until(lambda: any("100001" in m.text for m in telegram.chat_messages(4242)), "card")
    scraped = await metrics.get("/metrics")
    assert registered in scraped.text
    assert scraped.status_code == 200
    assert scraped.headers["content-type"].startswith("text/plain; version=")
    assert 'complaint_bot_updates_total{kind="message"} 3.0' in scraped.text
    assert 'complaint_bot_updates_total{kind="callback_query"} 2.0' in scraped.text
    assert 'complaint_bot_complaints{backend="local",state="registered"} 1.0' in scraped.text
    assert 'complaint_bot_bot_api_calls_total{error="ok",method="setWebhook"} 1.0' in scraped.text
    token = running.built.services.settings.telegram_bot_token
    assert token is not None and token.get_secret_value() not in scraped.text


def test_the_webhook_path_cannot_be_the_metrics_path(tmp_path: Path) -> None:
    settings = make_settings(
        tmp_path / "bot.sqlite3",
        bot_mode="webhook",
        webhook_url="https://bot.example.com/metrics",
        webhook_secret=SECRET,
    )
    with pytest.raises(ConfigError, match="WEBHOOK_URL: its path must not be /metrics"):
        WebhookConfig.from_settings(settings)
