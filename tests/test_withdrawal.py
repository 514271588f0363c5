"""[Withdraw]: a customer withdraws a complaint not yet decided, and the backend is told once.

BizKitHub's set-status (respx stands in), the local desk's own status, and for OCC (no API for
it) the operator chat; each withdrawal is written before the backend is told and recorded with
what it owes, so it is told once, across restarts too.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import respx

from bot.cli.desk import set_status
from tests.conftest import StartBot
from tests.helpers.driver import BotHarness, make_settings

BIZ_BASE = "https://api.bizkithub.com"
BIZ_KEY = "PRODPGrFxpGEtrOZfuWhnoJohUYBXuOE"
SET_STATUS = f"{BIZ_BASE}/api/v1/shop/complaint/set-status"
OCC_BASE = "https://occ.example.com"
OPERATORS = -100777
BIZKITHUB = {
    "complaint_backend": "bizkithub",
    "bizkithub_api_key": BIZ_KEY,
    "bizkithub_withdrawn_status": "closed",
}
ASK = "Withdraw complaint <b>{number}</b> (order 748596)?"


@pytest.fixture
def http() -> respx.MockRouter:
    with respx.mock(assert_all_called=False) as mock:
        mock.post(f"{BIZ_BASE}/api/v1/shop/complaint/create").respond(200, json={"id": "bk-1"})
        mock.get(f"{BIZ_BASE}/api/v1/shop/complaint/detail").respond(
            200, json={"id": "bk-1", "exist": True, "status": "new", "events": []}
        )
        mock.post(SET_STATUS).respond(200, json={"success": True})
        mock.post(f"{OCC_BASE}/ccagent/v1/login").respond(
            200, json={"access_token": "occ-token", "expires_in": 3600}
        )
        mock.post(f"{OCC_BASE}/ccagent/v1/appeasements").respond(
            200, json={"id": "app1", "state": "INCOMPLETE"}
        )
        mock.post(f"{OCC_BASE}/ccagent/v1/appeasements/submit").respond(
            200, json={"id": "app1", "state": "SUBMITTED"}
        )
        mock.get(f"{OCC_BASE}/ccagent/v1/appeasements/app1").respond(
            200, json={"id": "app1", "state": "SUBMITTED"}
        )
        yield mock


@pytest.fixture
async def http_bot(tmp_path: Path, http: respx.MockRouter) -> AsyncIterator[Any]:
    started: list[BotHarness] = []
    client = httpx.AsyncClient()

    async def start(**settings: Any) -> BotHarness:
        harness = BotHarness(
            make_settings(tmp_path / "bot.sqlite3", **settings), http_client=client
        )
        await harness.start()
        started.append(harness)
        return harness

    yield start
    for harness in started:
        await harness.stop()
    await client.aclose()


def set_status_calls(http: respx.MockRouter) -> list[dict[str, Any]]:
    return [json.loads(c.request.content) for c in http.calls if str(c.request.url) == SET_STATUS]


@pytest.mark.both_engines
async def test_a_local_desk_complaint_is_withdrawn_after_a_confirmation(
    harness_factory: StartBot, capsys: pytest.CaptureFixture[str]
) -> None:
    bot = await harness_factory()
    ada = bot.customer("Ada")
    await ada.file_complaint()
    await bot.settle()
    status = await ada.send("/status 100001")
    assert status.buttons == ["Check status", "New complaint", "Withdraw"]
    asked = await ada.press("Withdraw")
    assert ASK.format(number="100001") in asked.text
    assert asked.buttons == ["Yes, withdraw it", "No, keep it"]
    kept = await ada.press("No, keep it")
    assert "complaint <b>100001</b> stays open" in kept.text
    await ada.press("Withdraw")
    question = ada.last_message_with("Yes, withdraw it")
    yes = question.callback_data("Yes, withdraw it")
    confirmed = await ada.press("Yes, withdraw it")
    assert "Withdrawing complaint <b>100001</b>" in confirmed.text
    await bot.settle()
    assert "Complaint <b>100001</b> (order 748596) is withdrawn." in ada.messages()[-1].text
    row = await bot.built.services.database.fetch_one(
        "SELECT status FROM desk_complaints WHERE number = 100001"
    )
    assert row is not None and row["status"] == "closed"
    status = await ada.send("/status 100001")
    assert "closed" in status.text and "Withdraw" not in status.buttons
    # The question's [Yes] pressed again: nothing more happens.
    late = await ada.press_data(yes, on=question)
    assert late.toast == "This complaint can no longer be withdrawn."
    await bot.settle()
    assert sum("is withdrawn" in m.text for m in ada.messages()) == 1


async def test_a_decided_complaint_offers_no_withdraw(harness_factory: StartBot) -> None:
    bot = await harness_factory()
    ada = bot.customer("Ada")
    await ada.file_complaint()
    await bot.settle()
    withdraw = ada.last_message_with("Check status")
    assert await set_status(bot.settings, "100001", "resolved") == 0
    await bot.advance(60)
    status = await ada.send("/status 100001")
    assert "resolved" in status.text and "Withdraw" not in status.buttons
    forged = await ada.press_data("wd:1", on=withdraw)
    assert forged.toast == "This complaint can no longer be withdrawn."


async def test_someone_elses_complaint_cannot_be_withdrawn(harness_factory: StartBot) -> None:
    bot = await harness_factory()
    ada, eve = bot.customer("Ada"), bot.customer("Eve")
    await ada.file_complaint()
    await bot.settle()
    await eve.send("/start")
    turn = await eve.press_data("wy:1")
    assert turn.toast == "This button is no longer active."
    assert await bot.built.services.database.fetch_one("SELECT * FROM withdrawals") is None


async def test_bizkithub_is_set_to_the_withdrawn_status_once_even_across_a_restart(
    http_bot: Any, http: respx.MockRouter
) -> None:
    bot = await http_bot(**BIZKITHUB)
    ada = bot.customer("Ada")
    await ada.file_complaint()
    await bot.settle()
    await ada.send("/status bk-1")
    await ada.press("Withdraw")
    await ada.press("Yes, withdraw it")
    await bot.settle()
    assert set_status_calls(http) == [{"complaintId": "bk-1", "status": "closed"}]
    assert "Complaint <b>bk-1</b> (order 748596) is withdrawn." in ada.messages()[-1].text
    await bot.restart()
    await bot.advance(3600)
    assert len(set_status_calls(http)) == 1
    (entry,) = await bot.built.services.ledger.for_customer(ada.id)
    assert (entry.status_code, entry.status_text) == ("closed", "withdrawn")


async def test_a_withdrawal_bizkithub_could_not_take_is_told_after_the_restart(
    http_bot: Any, http: respx.MockRouter
) -> None:
    bot = await http_bot(**BIZKITHUB)
    ada = bot.customer("Ada")
    await ada.file_complaint()
    await bot.settle()
    await ada.send("/status bk-1")
    await ada.press("Withdraw")
    http.post(SET_STATUS).respond(503)
    await ada.press("Yes, withdraw it")
    await bot.settle()
    assert len(set_status_calls(http)) == 1  # answered 503: to be asked again later
    pending = await ada.send("/status bk-1")
    assert "the shop is being told" in pending.text and "Withdraw" not in pending.buttons
    await bot.stop()
    http.post(SET_STATUS).respond(200, json={"success": True})
    later = await http_bot(**BIZKITHUB)  # the next start, on the same database
    later.clock.advance(3600)
    await later.settle()
    assert len(set_status_calls(http)) == 2  # the one that failed, and the one that took
    await later.advance(3600)
    assert len(set_status_calls(http)) == 2
    assert "is withdrawn" in later.api.chat_messages(ada.id)[-1].text


async def test_occ_has_no_api_for_it_so_the_operator_chat_is_told(
    http_bot: Any, http: respx.MockRouter
) -> None:
    occ = {
        "complaint_backend": "occ",
        "occ_base_url": OCC_BASE,
        "occ_username": "agent",
        "occ_password": "agent-password",
    }
    bot = await http_bot(**occ, operator_chat_id=OPERATORS)
    bot.api.telegram.add_group(OPERATORS, "Shop team")
    ada = bot.customer("Ada")
    await ada.file_complaint()
    await bot.settle()
    await ada.send("/status app1")
    await ada.press("Withdraw")
    await ada.press("Yes, withdraw it")
    await bot.settle()
    assert "passed to the shop's staff" in ada.messages()[-1].text
    posts = [m.text for m in bot.api.chat_messages(OPERATORS)]
    assert any("The customer withdrew complaint app1" in p and "close it there" in p for p in posts)


async def test_without_an_operator_chat_occ_offers_no_withdraw(
    http_bot: Any, http: respx.MockRouter
) -> None:
    bot = await http_bot(
        complaint_backend="occ",
        occ_base_url=OCC_BASE,
        occ_username="agent",
        occ_password="agent-password",
    )
    ada = bot.customer("Ada")
    await ada.file_complaint()
    await bot.settle()
    status = await ada.send("/status app1")
    assert status.buttons == ["Check status", "New complaint"]
