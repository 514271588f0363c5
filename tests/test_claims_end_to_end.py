"""Issue 30's 'Done means': what is claimed, from the customer's words to each backend's request.

The real bot is driven as a customer would (items, an amount in Czech notation, a refund, a
wrong IBAN then the right one), and respx stands in for BizKitHub, OCC and the middleware;
each request is read as the backend would read it. With the defaults nothing new is asked
and the requests are exactly the ones of before.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import respx

from tests.helpers.driver import BotHarness, Customer, make_settings

IBAN = "CZ6508000000192000145399"
WRONG_IBAN = "CZ65 0800 0000 1920 0014 5398"
PROBLEM = "Product arrived damaged, visible scratch on the surface."
ORDER = "25000087"
BIZ_BASE = "https://api.bizkithub.com"
BIZ_KEY = "PRODPGrFxpGEtrOZfuWhnoJohUYBXuOE"
OCC_BASE = "https://occ.example.com"
MW_BASE = "https://mw.example.com"
MW_RAISE = "/api/rest/v1/ecom/integrations/raiseComplaintsAgainstOrder"
CLAIMS_ON = {
    "complaint_resolutions": {"refund": "Refund", "repair": "Repair"},
    "ask_items": "required",
    "ask_amount": "required",
    "ask_refund_account": "required",
    "claim_currency": "CZK",
    "refund_country": "CZ",
}
BACKENDS: dict[str, dict[str, Any]] = {
    "bizkithub": {"complaint_backend": "bizkithub", "bizkithub_api_key": BIZ_KEY},
    "occ": {
        "complaint_backend": "occ",
        "occ_base_url": OCC_BASE,
        "occ_username": "agent",
        "occ_password": "agent-password",
    },
    "middleware": {
        "complaint_backend": "middleware",
        "middleware_base_url": MW_BASE,
        "middleware_token": "mw-token-1234",
    },
}
MW_ANSWER = {
    "response": {
        "responseMessages": [
            {
                "containerResponse": {
                    "responseText": "Your complaint is registered.",
                    "attributes": [{"name": "complaintId", "value": "12345"}],
                }
            }
        ]
    }
}


@pytest.fixture
def http() -> respx.MockRouter:
    with respx.mock(assert_all_called=False) as mock:
        mock.post(f"{BIZ_BASE}/api/v1/shop/complaint/create").respond(200, json={"id": "bk-1"})
        mock.post(f"{OCC_BASE}/ccagent/v1/login").respond(
            200, json={"access_token": "occ-token", "expires_in": 3600}
        )
        mock.post(f"{OCC_BASE}/ccagent/v1/appeasements").respond(
            200, json={"id": "app1", "state": "INCOMPLETE"}
        )
        mock.post(f"{OCC_BASE}/ccagent/v1/appeasements/submit").respond(
            200, json={"id": "app1", "state": "SUBMITTED"}
        )
        mock.post(f"{MW_BASE}{MW_RAISE}").respond(200, json=MW_ANSWER)
        yield mock


@pytest.fixture
async def start_bot(tmp_path: Path, http: respx.MockRouter) -> AsyncIterator[Any]:
    started: list[tuple[BotHarness, httpx.AsyncClient]] = []

    async def start(**settings: Any) -> BotHarness:
        client = httpx.AsyncClient()
        harness = BotHarness(
            make_settings(tmp_path / "bot.sqlite3", **settings), http_client=client
        )
        await harness.start()
        started.append((harness, client))
        return harness

    yield start
    for harness, client in started:
        await harness.stop()
        await client.aclose()


def created(http: respx.MockRouter, url: str) -> dict[str, Any]:
    """The JSON body of the one create request sent to `url`."""
    (call,) = [c for c in http.calls if str(c.request.url) == url]
    body: dict[str, Any] = json.loads(call.request.content)
    return body


async def claim_everything(ada: Customer) -> str:
    """Items with and without a quantity, "1 500,50", a refund, a wrong IBAN then the right
    one; returns the summary the customer saw."""
    await ada.send("/complaint")
    await ada.send(ORDER)
    await ada.send(PROBLEM)
    await ada.press("Product-related")
    await ada.press("Refund")
    await ada.send("2x Wireless headphones Model X\nCharging cable")
    await ada.send("1 500,50")
    refused = await ada.send(WRONG_IBAN)
    assert "check digits of this IBAN do not match" in refused.text
    summary = (await ada.send("CZ65 0800 0000 1920 0014 5399")).text
    await ada.press("Submit")
    return summary


def assert_summary_showed_it(summary: str) -> None:
    assert "• 2 × Wireless headphones Model X\n• 1 × Charging cable" in summary
    assert "<b>Amount claimed:</b> CZK1,500.50" in summary
    assert "<b>Refund to account:</b> •••• 5399" in summary


async def test_bizkithub_gets_the_items_price_currency_and_iban(
    start_bot: Any, http: respx.MockRouter
) -> None:
    bot = await start_bot(**BACKENDS["bizkithub"], **CLAIMS_ON, complaint_due_days=14)
    summary = await claim_everything(bot.customer("Ada"))
    await bot.settle()
    assert_summary_showed_it(summary)
    body = created(http, f"{BIZ_BASE}/api/v1/shop/complaint/create")
    assert body["items"] == [
        {"label": "Wireless headphones Model X", "quantity": 2},
        {"label": "Charging cable", "quantity": 1},
    ]
    assert body["price"] == 1500.5 and body["currency"] == "CZK"
    assert body["refundBankAccount"] == IBAN and body["refundCountry"] == "CZ"
    assert body["refundVariableSymbol"] == ORDER  # the order number, digits only
    assert body["resolutionMethodCode"] == "refund"
    # Fourteen days after the customer confirmed it (the harness's clock: 2026-05-28 20:26:40).
    assert body["dueDate"] == "2026-06-11T20:26:40.000Z"


async def test_occ_gets_an_appeasement_refund_and_the_rest_in_its_notes(
    start_bot: Any, http: respx.MockRouter
) -> None:
    bot = await start_bot(**BACKENDS["occ"], **CLAIMS_ON)
    summary = await claim_everything(bot.customer("Ada"))
    await bot.settle()
    assert_summary_showed_it(summary)
    body = created(http, f"{OCC_BASE}/ccagent/v1/appeasements")
    assert body["appeasementRefunds"] == [
        {"amount": 1500.5, "currencyCode": "CZK", "refundType": "externalRefund"}
    ]
    notes = body["notes"]
    assert "- 2 × Wireless headphones Model X\n- 1 × Charging cable" in notes
    assert "Refund to account: •••• 5399" in notes and IBAN not in json.dumps(body)


async def test_the_middleware_gets_them_inside_entity_info(
    start_bot: Any, http: respx.MockRouter
) -> None:
    bot = await start_bot(**BACKENDS["middleware"], **CLAIMS_ON)
    summary = await claim_everything(bot.customer("Ada"))
    await bot.settle()
    assert_summary_showed_it(summary)
    entity = created(http, f"{MW_BASE}{MW_RAISE}")["queryInfo"]["parameters"]["params"][
        "entityInfo"
    ]
    assert entity["items"] == [
        {"label": "Wireless headphones Model X", "quantity": 2},
        {"label": "Charging cable", "quantity": 1},
    ]
    assert entity["claimedAmount"] == {"value": 1500.5, "currency": "CZK"}
    assert entity["refundAccount"] == IBAN


EXPECTED_TODAY: dict[str, tuple[str, dict[str, Any]]] = {
    "bizkithub": (
        f"{BIZ_BASE}/api/v1/shop/complaint/create",
        {
            "variantCode": "reklamace",
            "orderNumber": ORDER,
            "description": PROBLEM,
            "customerName": "Ada Lovelace",
        },
    ),
    "middleware": (
        f"{MW_BASE}{MW_RAISE}",
        {
            "conversationRequest": {
                "channel": "TELEGRAM",
                "userInfo": {
                    "first_name": "Ada",
                    "last_name": "Lovelace",
                    "uid": "100001",
                    "username": "ada",
                },
            },
            "queryInfo": {
                "interestType": "productComplaint",
                "parameters": {
                    "params": {
                        "entityInfo": {
                            "orderId": ORDER,
                            "problemStatment": PROBLEM,
                            "category": "product-related",
                        }
                    }
                },
            },
            "languageCode": "en-US",
        },
    ),
}


@pytest.mark.parametrize("backend", ["bizkithub", "middleware", "occ"])
async def test_with_the_defaults_nothing_new_is_asked_and_the_requests_are_as_before(
    start_bot: Any, http: respx.MockRouter, backend: str
) -> None:
    bot = await start_bot(**BACKENDS[backend], complaint_due_days=None)
    ada = bot.customer("Ada")
    await ada.send("/complaint")
    await ada.send(ORDER)
    await ada.send(PROBLEM)
    summary = await ada.press("Product-related")
    assert summary.buttons == ["Submit", "Edit", "Cancel"]  # straight to the summary
    await ada.press("Submit")
    await bot.settle()
    if backend == "occ":
        body = created(http, f"{OCC_BASE}/ccagent/v1/appeasements")
        assert set(body) == {"id", "reason", "orderId", "type", "notes", "comments"}
        assert body["notes"] == PROBLEM
        return
    url, expected = EXPECTED_TODAY[backend]
    assert created(http, url) == expected
