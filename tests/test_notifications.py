"""Customers are told when a complaint's status changes: once per change, never repeated."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
import respx

from bot.backends.base import FINAL_STATUSES, ComplaintStatus, StatusCode
from bot.cli.desk import set_status, show
from tests.helpers.backends import (
    MIDDLEWARE_API,
    MIDDLEWARE_REGISTERED,
    MIDDLEWARE_SETTINGS,
    ScriptedBackend,
)
from tests.helpers.driver import BotHarness, make_settings

pytestmark = pytest.mark.both_engines

POLL = 60.0  # the local desk is polled every minute


@pytest.fixture
async def bot(tmp_path: Path) -> AsyncIterator[BotHarness]:
    harness = BotHarness(make_settings(tmp_path / "bot.sqlite3"))
    await harness.start()
    yield harness
    await harness.stop()


def _notices(bot: BotHarness, chat_id: int) -> list[str]:
    return [m.text for m in bot.api.chat_messages(chat_id) if "is now" in m.text]


async def _poll(bot: BotHarness) -> None:
    """A round of the poller, and the messages owed going out (the desk CLI owes them)."""
    bot.clock.advance(POLL)
    await bot.built.poller.poll()
    await bot.settle()


async def test_a_desk_status_change_reaches_the_customer_once(bot: BotHarness) -> None:
    ada = bot.customer()
    await ada.file_complaint()
    await bot.settle()
    await _poll(bot)
    assert _notices(bot, ada.id) == []  # registered is not news

    assert (
        await set_status(bot.settings, "100001", "in_progress", "We have asked the courier.") == 0
    )
    await _poll(bot)
    (notice,) = _notices(bot, ada.id)
    assert "100001" in notice and "being handled" in notice
    assert "We have asked the courier." in notice

    await _poll(bot)
    await bot.restart()
    await _poll(bot)
    assert len(_notices(bot, ada.id)) == 1  # neither a second poll nor a restart repeats it


async def test_a_final_status_ends_polling(bot: BotHarness) -> None:
    ada = bot.customer()
    await ada.file_complaint()
    await bot.settle()
    await set_status(bot.settings, "100001", "resolved", "Refund sent.")
    await _poll(bot)
    assert "resolved" in _notices(bot, ada.id)[0]
    entries = await bot.built.services.ledger.to_poll("local", checked_before=1e12, limit=10)
    assert entries == []
    assert {"resolved", "rejected", "closed"} == {str(code) for code in FINAL_STATUSES}


async def test_notifications_can_be_turned_off_and_on(bot: BotHarness) -> None:
    ada = bot.customer()
    await ada.file_complaint()
    await bot.settle()
    assert "are off" in (await ada.send("/notifications")).text
    await set_status(bot.settings, "100001", "waiting")
    await _poll(bot)
    assert _notices(bot, ada.id) == []
    assert "waiting for you" in (await ada.send("/status 100001")).text  # still asked on demand

    assert "are on" in (await ada.send("/notifications")).text
    await set_status(bot.settings, "100001", "resolved")
    await _poll(bot)
    assert len(_notices(bot, ada.id)) == 1


async def test_a_status_seen_with_status_is_not_announced_again(harness_factory) -> None:
    backend = ScriptedBackend(name="middleware")
    bot = await harness_factory(backend)
    ada = bot.customer()
    await ada.file_complaint()
    await bot.settle()
    backend.statuses["500001"] = ComplaintStatus(code=StatusCode.IN_PROGRESS, text="open")
    assert "being handled" in (await ada.send("/status 500001")).text
    bot.clock.advance(31 * 60)
    await bot.built.poller.poll()
    await bot.settle()
    assert _notices(bot, ada.id) == []


async def test_a_desk_change_is_told_at_once_and_not_again_by_the_poller(bot: BotHarness) -> None:
    ada = bot.customer()
    await ada.file_complaint()
    await bot.settle()
    await set_status(bot.settings, "100001", "in_progress")
    await bot.settle()  # the running bot's delivery worker sends what the CLI owes
    assert len(_notices(bot, ada.id)) == 1
    assert "being handled" in (await ada.send("/status 100001")).text
    await _poll(bot)
    assert len(_notices(bot, ada.id)) == 1


async def test_the_desk_cli_refuses_an_unknown_number(bot: BotHarness) -> None:
    assert await set_status(bot.settings, "999999", "resolved", None) == 1


BIZ = "https://api.bizkithub.com/api/v1/shop/complaint"
BIZ_KEY = "PRODPGrFxpGEtrOZfuWhnoJohUYBXuOE"


async def test_a_bizkithub_status_change_with_a_shared_event(tmp_path: Path) -> None:
    settings = make_settings(
        tmp_path / "bot.sqlite3",
        complaint_backend="bizkithub",
        bizkithub_api_key=BIZ_KEY,
        status_poll_minutes=30,
    )
    detail = {
        "exist": True,
        "id": "a1b2c3d4e5f6g7h8",
        "orderNumber": "25000087",
        "variant": {"code": "reklamace", "label": "Reklamace"},
        "status": "open",
        "isResolved": False,
        "events": [
            {"message": "Courier contacted.", "isPublic": True},
            {"message": "Internal: check stock", "isPublic": False},
        ],
    }
    with respx.mock(assert_all_called=False) as mock:
        mock.post(f"{BIZ}/create").respond(json={"id": "a1b2c3d4e5f6g7h8"})
        detail_route = mock.get(f"{BIZ}/detail").respond(json=detail)
        async with httpx.AsyncClient() as client:
            bot = BotHarness(settings, http_client=client)
            await bot.start()
            ada = bot.customer()
            await ada.file_complaint(order_id="25000087")
            await bot.settle()
            for _ in range(2):
                bot.clock.advance(31 * 60)
                await bot.built.poller.poll()
            await bot.stop()
    (notice,) = _notices(bot, ada.id)
    assert "a1b2c3d4e5f6g7h8" in notice and "being handled" in notice
    assert "Courier contacted." in notice and "Internal" not in notice
    assert detail_route.call_count == 2
    assert "Authorization" in detail_route.calls[0].request.headers


OCC = "https://occ.example.com/ccagent/v1"


async def test_an_occ_state_change(tmp_path: Path) -> None:
    settings = make_settings(
        tmp_path / "bot.sqlite3",
        complaint_backend="occ",
        occ_base_url="https://occ.example.com",
        occ_username="agent",
        occ_password="agent-password-123",
    )
    with respx.mock(assert_all_called=False) as mock:
        mock.post(f"{OCC}/login").respond(
            json={"access_token": "tok", "token_type": "bearer", "expires_in": 900}
        )
        mock.post(f"{OCC}/appeasements").respond(json={"id": "app370003", "state": "INCOMPLETE"})
        mock.post(f"{OCC}/appeasements/submit").respond(
            json={"id": "app370003", "state": "SUBMITTED"}
        )
        mock.get(f"{OCC}/appeasements/app370003").respond(
            json={"id": "app370003", "state": "APPROVED"}
        )
        async with httpx.AsyncClient() as client:
            bot = BotHarness(settings, http_client=client)
            await bot.start()
            ada = bot.customer()
            await ada.file_complaint(order_id="o10068")
            await bot.settle()
            bot.clock.advance(31 * 60)
            await bot.built.poller.poll()
            bot.clock.advance(31 * 60)
            await bot.built.poller.poll()
            await bot.stop()
    (notice,) = _notices(bot, ada.id)
    assert "app370003" in notice and "resolved" in notice


async def test_a_middleware_tracking_change(tmp_path: Path) -> None:
    settings = make_settings(
        tmp_path / "bot.sqlite3",
        **MIDDLEWARE_SETTINGS,
    )
    tracking = {
        "response": {
            "responseType": "text",
            "responseMessages": [
                {"simpleResponse": {"responseText": "Your complaint 12345 has been resolved."}}
            ],
        }
    }
    with respx.mock(assert_all_called=False) as mock:
        mock.post(f"{MIDDLEWARE_API}/raiseComplaintsAgainstOrder").respond(
            json=MIDDLEWARE_REGISTERED
        )
        mock.post(f"{MIDDLEWARE_API}/getComplaintsTrackingDetails").respond(json=tracking)
        async with httpx.AsyncClient() as client:
            bot = BotHarness(settings, http_client=client)
            await bot.start()
            ada = bot.customer()
            await ada.file_complaint()
            await bot.settle()
            bot.clock.advance(31 * 60)
            await bot.built.poller.poll()
            await bot.stop()
    (notice,) = _notices(bot, ada.id)
    assert "12345" in notice and "resolved" in notice


async def test_desk_show_has_a_header_that_names_the_time_zone(
    bot: BotHarness, capsys: pytest.CaptureFixture[str]
) -> None:
    await bot.customer().file_complaint()
    await bot.settle()
    assert await show(bot.settings, None) == 0
    header, row = capsys.readouterr().out.splitlines()
    assert header.split() == [
        "number",
        "status",
        "order",
        "category",
        "created",
        "(UTC)",
        "customer",
    ]
    assert row.startswith("100001  received     748596")
