"""A shop's link with the order's items and hash: made by `python -m bot link`, picked from.

The link carries a token under its signature; the items and the hash wait in the database
(`link_orders`, both engines). The real bot is driven from /start to each backend's request,
respx standing in for BizKitHub, OCC and the middleware; the bodies are read as seeds 003
(`items[{orderItemId, label, quantity, price}]`, `orderHash`) and 002 (`damagedLineItemId`)
define them.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import respx

from bot.cli.link import link_item, print_link
from bot.complaint import ClaimedItem
from bot.deeplinks import (
    MAX_ORDER_ID_LENGTH,
    MAX_PAYLOAD_LENGTH,
    DeepLinkError,
    VerifiedLink,
    make_payload,
    verify_payload,
)
from bot.storage.engines import database_for
from bot.storage.ledger import LedgerState
from bot.storage.link_orders import LinkOrders
from tests.helpers.driver import START_TIME, BotHarness, Customer, make_settings
from tests.test_claims_end_to_end import BACKENDS, BIZ_BASE, MW_BASE, MW_RAISE, OCC_BASE, created

SECRET = "shop-and-bot-share-this-secret-0123"
ORDER = "25000087"
ORDER_HASH = "sSO98YxzR4KJiOu66Jn6K3wRwa4FPI7S"  # seed 003's example
ITEMS = [
    "0:1:2490:Wireless headphones Model X",
    "ci123547:2:199.90:Charging cable",
    "17:1:49:Case: black, size M",  # the label keeps its colon
]
PROBLEM = "Product arrived damaged, visible scratch on the surface."
WEEK = 7 * 86400


def payload_of(url: str) -> str:
    return url.strip().split("start=", 1)[1]


def test_an_items_link_names_its_token_under_the_signature() -> None:
    expires_at = int(START_TIME) + WEEK
    payload = make_payload(ORDER, SECRET, expires_at, token="Ab3dE6gH")
    assert payload.startswith(f"i-{ORDER}-Ab3dE6gH-")
    link = verify_payload(payload, SECRET)
    assert link == VerifiedLink(ORDER, expires_at, "Ab3dE6gH")
    assert not link.expired(expires_at - 1) and link.expired(expires_at)
    # Another token, another order, a later expiry, or the signature on a plain link: refused.
    head, signature = payload.rsplit("-", 1)
    assert verify_payload(head.replace("Ab3dE6gH", "Ab3dE6gX") + f"-{signature}", SECRET) is None
    assert verify_payload(payload.replace(ORDER, "25000088"), SECRET) is None
    later = make_payload(ORDER, SECRET, expires_at + WEEK, token="Ab3dE6gH").rsplit("-", 2)[1]
    assert verify_payload(f"{head.rsplit('-', 1)[0]}-{later}-{signature}", SECRET) is None
    assert verify_payload(f"c-{ORDER}-{signature}", SECRET) is None
    never = make_payload(ORDER, SECRET, token="Ab3dE6gH")
    assert never.startswith(f"i-{ORDER}-Ab3dE6gH-0-")
    assert verify_payload(never, SECRET) == VerifiedLink(ORDER, None, "Ab3dE6gH")


def test_an_items_link_keeps_within_64_characters() -> None:
    expires_at = int(START_TIME) + WEEK
    room = MAX_ORDER_ID_LENGTH - 9 - 7  # "-<token>" and "-<expiry>"
    longest = make_payload("A" * room, SECRET, expires_at, token="Ab3dE6gH")
    assert len(longest) == MAX_PAYLOAD_LENGTH
    assert verify_payload(longest, SECRET) == VerifiedLink("A" * room, expires_at, "Ab3dE6gH")
    with pytest.raises(DeepLinkError, match="with items"):
        make_payload("A" * (room + 1), SECRET, expires_at, token="Ab3dE6gH")
    # Old links keep working beside the new ones.
    assert verify_payload(make_payload(ORDER, SECRET), SECRET) == VerifiedLink(ORDER)
    assert verify_payload(make_payload(ORDER, SECRET, expires_at), SECRET) == VerifiedLink(
        ORDER, expires_at
    )


@pytest.mark.parametrize(
    "payload",
    [
        "i-25000087-Ab3dE6gH-AAAAAAAAAAAAAAAA",  # no expiry field
        "i-25000087-Ab3dE6g-0-AAAAAAAAAAAAAAAA",  # a short token
        "i-25000087-Ab3dE6gž-0-AAAAAAAAAAAAAAAA",  # not ASCII
        "i--Ab3dE6gH-0-AAAAAAAAAAAAAAAA",  # no order
        "i-25000087-Ab3dE6gH-00-AAAAAAAAAAAAAAAA",  # another spelling of "never"
    ],
)
def test_broken_items_payloads_are_refused_without_an_error(payload: str) -> None:
    assert verify_payload(payload, SECRET) is None


def test_python_m_bot_link_stores_the_items_and_hash(tmp_path: Path) -> None:
    database = tmp_path / "bot.sqlite3"
    env = {
        "PATH": "/usr/bin:/bin",
        "HOME": str(tmp_path),
        "DEEP_LINK_SECRET": SECRET,
        "BOT_USERNAME": "order_bot",
        "DATABASE_PATH": str(database),
    }
    items = [arg for item in ITEMS for arg in ("--item", item)]
    command = [sys.executable, "-m", "bot", "link", ORDER, "--days", "3"]
    result = subprocess.run(
        [*command, "--order-hash", ORDER_HASH, *items],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(f"https://t.me/order_bot?start=i-{ORDER}-")
    payload = payload_of(result.stdout)
    assert len(payload) <= MAX_PAYLOAD_LENGTH
    link = verify_payload(payload, SECRET)
    assert link is not None and link.token is not None and link.expires_at is not None
    assert abs(link.expires_at - (time.time() + 3 * 86400)) < 60
    assert "The link works until" in result.stderr

    async def stored() -> Any:
        db = database_for(make_settings(database))
        await db.open()
        try:
            assert link.token is not None
            return await LinkOrders(db).get(link.token, ORDER)
        finally:
            await db.close()

    order = asyncio.run(stored())
    assert order.order_hash == ORDER_HASH
    assert order.items == (
        ClaimedItem(label="Wireless headphones Model X", orderItemId="0", price=2490),
        ClaimedItem(label="Charging cable", quantity=2, orderItemId="ci123547", price=199.9),
        ClaimedItem(label="Case: black, size M", orderItemId="17", price=49),
    )

    refused = subprocess.run(
        [*command, "--item", "0:none:2490:Headphones"],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=60,
        check=False,
    )
    assert refused.returncode == 2 and "quantity is a whole number" in refused.stderr


CLAIM_ITEMS = {"ask_items": "required", "claim_currency": "CZK"}


@pytest.fixture
def http() -> Any:
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
        mock.post(f"{MW_BASE}{MW_RAISE}").respond(
            200,
            json={
                "response": {
                    "responseMessages": [
                        {
                            "containerResponse": {
                                "responseText": "Registered.",
                                "attributes": [{"name": "complaintId", "value": "12345"}],
                            }
                        }
                    ]
                }
            },
        )
        yield mock


@pytest.fixture
async def start_bot(tmp_path: Path, http: respx.MockRouter) -> AsyncIterator[Any]:
    started: list[tuple[BotHarness, httpx.AsyncClient]] = []

    async def start(**settings: Any) -> BotHarness:
        client = httpx.AsyncClient()
        values = {"deep_link_secret": SECRET, "bot_username": "shop_bot", **settings}
        harness = BotHarness(make_settings(tmp_path / "bot.sqlite3", **values), http_client=client)
        await harness.start()
        started.append((harness, client))
        return harness

    yield start
    for harness, client in started:
        await harness.stop()
        await client.aclose()


async def shop_link(
    bot: BotHarness, capsys: pytest.CaptureFixture[str], *, order_hash: str = ORDER_HASH
) -> str:
    """The payload `python -m bot link` prints for the order's three items (and hash)."""
    items = [link_item(item) for item in ITEMS]
    assert await print_link(bot.settings, ORDER, order_hash=order_hash, items=items) == 0
    return payload_of(capsys.readouterr().out)


async def up_to_items(bot: BotHarness, ada: Customer, payload: str) -> Any:
    await ada.send(f"/start {payload}")
    await ada.send(PROBLEM)
    return await ada.press("Product-related")


async def pick_the_headphones_and_the_cables(ada: Customer) -> str:
    """Ticks the case, the headphones and the cables, unticks the case, Done: the summary."""
    turn = await ada.press("1 × Case: black, size M")
    assert "✅ 1 × Case: black, size M" in turn.buttons and "Done" in turn.buttons
    await ada.press("1 × Wireless headphones Model X")
    await ada.press("2 × Charging cable")
    turn = await ada.press("✅ 1 × Case: black, size M")
    assert turn.buttons[:3] == [
        "✅ 1 × Wireless headphones Model X",
        "✅ 2 × Charging cable",
        "1 × Case: black, size M",
    ]
    return (await ada.press("Done")).text


@pytest.mark.both_engines
async def test_bizkithub_gets_the_picked_items_ids_and_prices_and_the_order_hash(
    start_bot: Any, http: respx.MockRouter, capsys: pytest.CaptureFixture[str]
) -> None:
    bot = await start_bot(**BACKENDS["bizkithub"], **CLAIM_ITEMS)
    ada = bot.customer("Ada")
    question = await up_to_items(bot, ada, await shop_link(bot, capsys))
    assert f"Which <b>items</b> of order {ORDER}" in question.text
    assert question.buttons == [
        "1 × Wireless headphones Model X",
        "2 × Charging cable",
        "1 × Case: black, size M",
    ]  # no [Done] before a pick, no [Skip]: items are required
    summary = await pick_the_headphones_and_the_cables(ada)
    assert "• 1 × Wireless headphones Model X\n• 2 × Charging cable" in summary
    assert "Case" not in summary
    await ada.press("Submit")
    await bot.settle()
    body = created(http, f"{BIZ_BASE}/api/v1/shop/complaint/create")
    assert body["orderHash"] == ORDER_HASH and body["orderNumber"] == ORDER
    assert body["items"] == [
        {"orderItemId": 0, "label": "Wireless headphones Model X", "quantity": 1, "price": 2490},
        {"orderItemId": "ci123547", "label": "Charging cable", "quantity": 2, "price": 199.9},
    ]


async def test_occ_names_the_first_picked_item_as_the_damaged_line(
    start_bot: Any, http: respx.MockRouter, capsys: pytest.CaptureFixture[str]
) -> None:
    bot = await start_bot(**BACKENDS["occ"], **CLAIM_ITEMS)
    ada = bot.customer("Ada")
    await up_to_items(bot, ada, await shop_link(bot, capsys))
    await ada.press("2 × Charging cable")
    await ada.press("1 × Case: black, size M")
    await ada.press("Done")
    await ada.press("Submit")
    await bot.settle()
    body = created(http, f"{OCC_BASE}/ccagent/v1/appeasements")
    assert body["damagedLineItemId"] == "ci123547"
    assert "- 2 × Charging cable\n- 1 × Case: black, size M" in body["notes"]
    assert "orderHash" not in json.dumps(body)


async def test_the_middleware_items_carry_their_ids(
    start_bot: Any, http: respx.MockRouter, capsys: pytest.CaptureFixture[str]
) -> None:
    bot = await start_bot(**BACKENDS["middleware"], **CLAIM_ITEMS)
    ada = bot.customer("Ada")
    await up_to_items(bot, ada, await shop_link(bot, capsys, order_hash=""))
    await ada.press("1 × Wireless headphones Model X")
    await ada.press("Done")
    await ada.press("Submit")
    await bot.settle()
    entity = created(http, f"{MW_BASE}{MW_RAISE}")["queryInfo"]["parameters"]["params"][
        "entityInfo"
    ]
    assert entity["items"] == [
        {"label": "Wireless headphones Model X", "quantity": 1, "orderItemId": "0", "price": 2490}
    ]
    assert "orderHash" not in entity  # this link carried none


async def test_typed_items_still_work_and_a_known_label_keeps_its_id(
    start_bot: Any, http: respx.MockRouter, capsys: pytest.CaptureFixture[str]
) -> None:
    bot = await start_bot(**BACKENDS["bizkithub"], **CLAIM_ITEMS)
    ada = bot.customer("Ada")
    await up_to_items(bot, ada, await shop_link(bot, capsys))
    await ada.press("1 × Case: black, size M")  # ticked, then typed over
    summary = await ada.send("3x charging cable\nA sticker sheet")
    assert "• 3 × charging cable\n• 1 × A sticker sheet" in summary.text
    await ada.press("Submit")
    await bot.settle()
    body = created(http, f"{BIZ_BASE}/api/v1/shop/complaint/create")
    assert body["items"] == [
        {"orderItemId": "ci123547", "label": "charging cable", "quantity": 3, "price": 199.9},
        {"label": "A sticker sheet", "quantity": 1},
    ]


async def test_another_order_drops_what_the_link_said_about_its_own(
    start_bot: Any, http: respx.MockRouter, capsys: pytest.CaptureFixture[str]
) -> None:
    bot = await start_bot(**BACKENDS["bizkithub"], **CLAIM_ITEMS)
    ada = bot.customer("Ada")
    await up_to_items(bot, ada, await shop_link(bot, capsys))
    await ada.press("1 × Wireless headphones Model X")
    await ada.press("Done")
    await ada.press("Edit")
    await ada.press("Order ID")
    await ada.send("25000099")
    await ada.press("Submit")
    await bot.settle()
    body = created(http, f"{BIZ_BASE}/api/v1/shop/complaint/create")
    assert body["orderNumber"] == "25000099" and "orderHash" not in body
    assert body["items"] == [{"label": "Wireless headphones Model X", "quantity": 1}]
    (entry,) = await bot.built.services.ledger.in_state(LedgerState.REGISTERED)
    assert not entry.from_deep_link


async def test_a_forged_pick_is_refused_and_an_unknown_token_starts_with_the_order(
    start_bot: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    bot = await start_bot(**CLAIM_ITEMS)
    ada = bot.customer("Ada")
    question = await up_to_items(bot, ada, await shop_link(bot, capsys))
    data = question.replies[-1].params["reply_markup"]["inline_keyboard"][0][0]["callback_data"]
    turn = await ada.press_data(data.rsplit(":", 1)[0] + ":3")  # there is no fourth item
    assert "✅" not in " ".join(turn.buttons)
    assert bot.errors == []

    # A genuine link whose token the database does not know: the order alone, typed items.
    bob = bot.customer("Bob")
    turn = await bob.send(f"/start {make_payload(ORDER, SECRET, token='Zz9Zz9Zz')}")
    assert f"Complaint about order <b>{ORDER}</b>" in turn.text
    await bob.send(PROBLEM)
    turn = await bob.press("Product-related")
    assert "One a line" in turn.text and turn.buttons == []


async def test_optional_items_offer_skip_and_editing_shows_the_ticks(
    start_bot: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    bot = await start_bot(ask_items="optional", claim_currency="CZK")
    ada = bot.customer("Ada")
    question = await up_to_items(bot, ada, await shop_link(bot, capsys))
    assert question.buttons[-1] == "Skip" and "Done" not in question.buttons
    await ada.press("2 × Charging cable")
    summary = await ada.press("Done")
    assert "• 2 × Charging cable" in summary.text
    await ada.press("Edit")
    turn = await ada.press("Items")
    assert "✅ 2 × Charging cable" in turn.buttons and turn.buttons[-2:] == ["Done", "Skip"]
    summary = await ada.press("Skip")
    assert "Charging cable" not in summary.text
