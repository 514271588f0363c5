"""Prometheus metrics: what a complaint, a failing backend and a failing Telegram count."""

from __future__ import annotations

import asyncio
import json
import re
import socket
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from prometheus_client.parser import text_string_to_metric_families
from telegram.error import NetworkError, RetryAfter

from bot.backends.base import (
    BackendRejected,
    BackendUnavailable,
    ComplaintStatus,
    StatusCode,
)
from bot.config import ConfigError
from bot.loopback.customer import CustomerUpdates, make_user
from bot.loopback.server import LoopbackBotApiServer
from bot.loopback.telegram import LoopbackTelegram
from bot.measured_request import method_of
from bot.metrics import DatabaseFigures, Metrics
from bot.telegram_html import plain_text
from bot.web.metrics import metrics_server
from tests.helpers.backends import ScriptedBackend
from tests.helpers.driver import BotHarness, make_settings
from tests.helpers.processes import BotProcess, until

TOKEN = "123456:TEST-TOKEN-not-a-real-one-abcdefghi"  # make_settings' token

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def samples(exposition: str) -> Samples:
    """Every sample of a text exposition, by name and labels."""
    found: Samples = {}
    for family in text_string_to_metric_families(exposition):
        for sample in family.samples:
            found[(sample.name, frozenset(sample.labels.items()))] = sample.value
    return found


def value(found: Samples, name: str, **labels: str) -> float | None:
    return found.get((name, frozenset(labels.items())))


async def scrape(bot: BotHarness) -> tuple[str, Samples]:
    text = (await bot.built.metrics.exposition()).decode()
    return text, samples(text)


@pytest.mark.both_engines
async def test_a_complaint_filed_is_counted_from_update_to_backend_to_card(
    bot: BotHarness,
) -> None:
    ada = bot.customer("Ada")
    await ada.file_complaint()
    await bot.settle()
    assert "100001" in ada.messages()[-1].text

    text, found = await scrape(bot)
    assert (
        'complaint_bot_backend_calls_total{backend="local",operation="submit",'
        'outcome="registered"} 1.0'
    ) in text
    assert value(found, "complaint_bot_backend_call_seconds_count", backend="local",
                 operation="submit") == 1.0  # fmt: skip
    # /complaint, the order ID, the problem; then Product-related and Submit.
    assert value(found, "complaint_bot_updates_total", kind="message") == 3.0
    assert value(found, "complaint_bot_updates_total", kind="callback_query") == 2.0
    assert value(found, "complaint_bot_update_seconds_count", kind="message") == 3.0
    assert value(found, "complaint_bot_complaints", state="registered", backend="local") == 1.0
    assert value(found, "complaint_bot_outbox_depth") == 0.0
    assert value(found, "complaint_bot_oldest_pending_complaint_seconds") == 0.0
    assert value(found, "complaint_bot_conversations_open") == 0.0
    assert value(found, "complaint_bot_deliveries_pending") == 0.0
    sent = value(found, "complaint_bot_bot_api_calls_total", method="sendMessage", error="ok")
    assert sent is not None and sent >= 3
    card = [
        v
        for (name, labels), v in found.items()
        if name == "complaint_bot_deliveries_total" and ("outcome", "sent") in labels
    ]
    assert sum(card) >= 1  # the card went out through the delivery worker
    assert TOKEN not in text and "TEST-TOKEN" not in text and "123456" not in text


@pytest.mark.both_engines
async def test_a_failing_backend_counts_unavailable_and_the_waiting_complaint(
    tmp_path: Path,
) -> None:
    backend = ScriptedBackend(script=[BackendUnavailable("503 from the desk")])
    bot = BotHarness(make_settings(tmp_path / "bot.sqlite3"), backend=backend)
    await bot.start()
    try:
        await bot.customer("Ada").file_complaint()
        await bot.settle()
        bot.clock.advance(12)  # before the retry (30 s) is due
        _, found = await scrape(bot)
        unavailable = value(
            found,
            "complaint_bot_backend_calls_total",
            backend="local",
            operation="submit",
            outcome="unavailable",
        )
        assert unavailable == 1.0
        assert value(found, "complaint_bot_complaints", state="pending", backend="local") == 1.0
        assert value(found, "complaint_bot_outbox_depth") == 1.0
        oldest = value(found, "complaint_bot_oldest_pending_complaint_seconds")
        assert oldest is not None and 12 <= oldest < 20
    finally:
        await bot.stop()


async def test_a_rejection_counts_rejected(tmp_path: Path) -> None:
    backend = ScriptedBackend(script=[BackendRejected("no such order")])
    bot = BotHarness(make_settings(tmp_path / "bot.sqlite3"), backend=backend)
    await bot.start()
    try:
        await bot.customer("Ada").file_complaint()
        await bot.settle()
        _, found = await scrape(bot)
        labels = {"backend": "local", "operation": "submit"}
        assert value(found, "complaint_bot_backend_calls_total", outcome="rejected", **labels)
        assert not value(found, "complaint_bot_backend_calls_total", outcome="registered", **labels)
        assert value(found, "complaint_bot_complaints", state="rejected", backend="local") == 1.0
    finally:
        await bot.stop()


async def test_bot_api_429_and_502_are_counted_by_method_and_error(bot: BotHarness) -> None:
    telegram_bot = bot.built.application.bot
    bot.api.fail_next("sendMessage", "Too Many Requests: retry after 5", 429, retry_after=5)
    with pytest.raises(RetryAfter):
        await telegram_bot.send_message(4242, "hello")
    bot.api.fail_next("sendMessage", "Bad Gateway", 502)
    with pytest.raises(NetworkError):
        await telegram_bot.send_message(4242, "hello")
    bot.api.fail_next("sendMessage", "Bad Request: chat not found", 400)
    with pytest.raises(Exception, match="hat not found"):
        await telegram_bot.send_message(4242, "hello")
    bot.api.telegram.outage(60, "drop")
    with pytest.raises(NetworkError):
        await telegram_bot.send_message(4242, "hello")

    text, found = await scrape(bot)
    for error in ("429", "5xx", "4xx", "network"):
        calls = value(found, "complaint_bot_bot_api_calls_total", method="sendMessage", error=error)
        assert calls == 1.0, error
    assert TOKEN not in text


def test_the_method_label_never_carries_the_token() -> None:
    base = f"https://api.telegram.org/bot{TOKEN}"
    assert method_of(f"{base}/sendMessage") == "sendMessage"
    assert method_of(f"https://api.telegram.org/file/bot{TOKEN}/photos/file_1.jpg") == "file"
    assert method_of(base) == "file"
    assert method_of(f"{base}/") == "file"


async def test_a_status_change_is_counted(bot: BotHarness) -> None:
    await bot.customer("Ada").file_complaint()
    await bot.settle()
    entry = await bot.built.services.ledger.find_by_number("local", "100001")
    assert entry is not None
    seen = ComplaintStatus(code=StatusCode.IN_PROGRESS, text="in progress")
    assert await bot.built.poller.record(entry, seen)
    assert not await bot.built.poller.record(entry, seen)  # recorded meanwhile: not again
    _, found = await scrape(bot)
    changes = value(found, "complaint_bot_status_changes_announced_total", status="in_progress")
    assert changes == 1.0


async def test_database_gauges_are_read_at_most_every_few_seconds() -> None:
    reads: list[int] = []
    moment = [100.0]

    async def reader() -> DatabaseFigures:
        reads.append(1)
        return DatabaseFigures({("pending", "occ"): len(reads)}, len(reads), 40.0, 2, 3)

    metrics = Metrics(clock=lambda: 100.0, monotonic=lambda: moment[0])
    metrics.read_database_with(reader)
    found = samples((await metrics.exposition()).decode())
    assert value(found, "complaint_bot_complaints", state="pending", backend="occ") == 1.0
    assert value(found, "complaint_bot_oldest_pending_complaint_seconds") == 60.0
    assert value(found, "complaint_bot_conversations_open") == 2.0
    assert value(found, "complaint_bot_deliveries_pending") == 3.0
    await metrics.exposition()
    assert len(reads) == 1  # within the cache
    moment[0] += 10
    found = samples((await metrics.exposition()).decode())
    assert len(reads) == 2
    assert value(found, "complaint_bot_outbox_depth") == 2.0


async def test_open_asyncio_tasks_are_counted_when_scraped() -> None:
    metrics = Metrics()
    before = value(samples((await metrics.exposition()).decode()), "complaint_bot_asyncio_tasks")
    assert before is not None and before >= 1  # this test's own task
    waiting = [asyncio.ensure_future(asyncio.sleep(60)) for _ in range(3)]
    try:
        found = samples((await metrics.exposition()).decode())
        assert value(found, "complaint_bot_asyncio_tasks") == before + 3
    finally:
        for task in waiting:
            task.cancel()
        await asyncio.gather(*waiting, return_exceptions=True)
    after = value(samples((await metrics.exposition()).decode()), "complaint_bot_asyncio_tasks")
    assert after == before


def test_two_applications_keep_their_own_counts() -> None:
    first, second = Metrics(), Metrics()
    first.updates.labels("message").inc()
    assert first.registry is not second.registry
    assert "complaint_bot_updates_total" not in samples_text(second)


def samples_text(metrics: Metrics) -> str:
    from prometheus_client.exposition import generate_latest

    return "\n".join(
        line for line in generate_latest(metrics.registry).decode().splitlines() if "{" in line
    )


async def test_the_polling_metrics_server_serves_metrics_and_a_busy_port_is_one_line(
    tmp_path: Path,
) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        busy = taken.getsockname()[1]
        bot = BotHarness(make_settings(tmp_path / "bot.sqlite3", metrics_port=busy))
        await bot.start()
        try:
            server = metrics_server(bot.built)
            assert server is not None and server.listen == "127.0.0.1"
            with pytest.raises(ConfigError) as refused:
                await server.start()
            assert str(refused.value).startswith(
                f"METRICS_PORT: 127.0.0.1:{busy} cannot be listened on"
            )
            assert "\n" not in str(refused.value)
        finally:
            await bot.stop()

    unset = BotHarness(make_settings(tmp_path / "other.sqlite3"))
    await unset.start()
    try:
        assert metrics_server(unset.built) is None  # METRICS_PORT unset: no server
    finally:
        await unset.stop()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def test_python_m_bot_in_polling_mode_serves_metrics_on_metrics_port(
    tmp_path: Path,
) -> None:
    telegram = LoopbackTelegram()
    server = LoopbackBotApiServer(telegram)
    await server.start()
    port = _free_port()
    bot = BotProcess(tmp_path, {"telegram_api_base_url": server.base_url, "metrics_port": port})
    ada = CustomerUpdates(make_user(4242, "Ada"))
    try:
        await bot.start()
        await until(lambda: telegram.polls > 0, "polling")
        telegram.deliver(ada.text("/start"))
        await until(
            lambda: any("complaint" in plain_text(m.text) for m in telegram.chat_messages(4242)),
            "the greeting",
        )
        async with httpx.AsyncClient(timeout=5) as http:
            answer = await http.get(f"http://127.0.0.1:{port}/metrics")
        assert answer.status_code == 200
        assert answer.headers["content-type"].startswith("text/plain; version=")
        found = samples(answer.text)
        assert value(found, "complaint_bot_updates_total", kind="message") == 1.0
        assert value(found, "complaint_bot_bot_api_calls_total", method="sendMessage", error="ok")
        assert value(found, "complaint_bot_bot_api_calls_total", method="getUpdates", error="ok")
        token = bot.environment()["TELEGRAM_BOT_TOKEN"]
        assert token not in answer.text
    finally:
        await bot.stop()
        await server.stop()


async def test_a_bad_metrics_port_is_one_line(tmp_path: Path) -> None:
    bot = BotProcess(
        tmp_path, {"telegram_api_base_url": "http://127.0.0.1:9/bot", "metrics_port": 70000}
    )
    await bot.start()
    assert await bot.exit_status() == 2
    lines = [line for line in bot.output().splitlines() if "Configuration error" in line]
    assert len(lines) == 1 and lines[0].startswith("Configuration error: METRICS_PORT:")
    assert "Traceback" not in bot.output()


ROOT = Path(__file__).resolve().parent.parent
METRIC_NAME = re.compile(r"\bcomplaint_bot_[a-z0-9_]+")
SUFFIXES = {"counter": ("_total",), "histogram": ("_bucket", "_count", "_sum"), "gauge": ("",)}


def exported_names() -> set[str]:
    """Every series name the bot exports (counters with _total, histograms' parts)."""
    names: set[str] = set()
    for family in Metrics().registry.collect():
        names.update(family.name + suffix for suffix in SUFFIXES[family.type])
    return names


def expressions_of_alerts() -> list[str]:
    rules = yaml.safe_load((ROOT / "deploy" / "alerts.yaml").read_text())
    return [rule["expr"] for group in rules["groups"] for rule in group["rules"]]


def expressions_of_dashboard() -> list[str]:
    dashboard = json.loads((ROOT / "deploy" / "grafana-dashboard.json").read_text())
    return [target["expr"] for panel in dashboard["panels"] for target in panel["targets"]]


@pytest.mark.parametrize("source", [expressions_of_alerts, expressions_of_dashboard])
def test_the_alerts_and_the_dashboard_use_only_metrics_the_bot_exports(source: Any) -> None:
    expressions = source()
    used = {name for expr in expressions for name in METRIC_NAME.findall(expr)}
    assert expressions and all(METRIC_NAME.search(expr) for expr in expressions)
    assert used - exported_names() == set()


def test_the_alerts_cover_what_the_operators_must_hear_about() -> None:
    rules = yaml.safe_load((ROOT / "deploy" / "alerts.yaml").read_text())
    by_name = {rule["alert"]: rule for group in rules["groups"] for rule in group["rules"]}
    waiting = by_name["ComplaintWaitingForBackend"]["expr"]
    assert "complaint_bot_oldest_pending_complaint_seconds" in waiting and "> 900" in waiting
    assert "given_up" in by_name["MessagesGivenUp"]["expr"]
    assert "retried" in by_name["MessagesRetrying"]["expr"]
    assert "unavailable" in by_name["BackendErrors"]["expr"]
    for rule in by_name.values():
        assert rule["annotations"]["summary"]


def test_the_docs_name_every_metric() -> None:
    docs = (ROOT / "docs" / "deploying.md").read_text()
    families = {family.name for family in Metrics().registry.collect()}
    missing = [name for name in sorted(families) if name not in docs]
    assert missing == []
