"""Signed deep links from a shop: generator, verification, and the conversation they start."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.cli.link import print_link
from bot.deeplinks import (
    MAX_ORDER_ID_LENGTH,
    MAX_PAYLOAD_LENGTH,
    DeepLinkError,
    VerifiedLink,
    make_complaint_link,
    make_payload,
    verify_payload,
)
from bot.storage.ledger import LedgerState
from tests.helpers.driver import START_TIME, BotHarness, make_settings

SECRET = "shop-and-bot-share-this-secret-0123"
OTHER_SECRET = "another-shop-entirely-has-this-one"


def test_a_link_round_trips_to_its_order() -> None:
    url = make_complaint_link("ORD-748596", SECRET, "@order_bot")
    assert url.startswith("https://t.me/order_bot?start=c-ORD-748596-")
    payload = url.split("start=", 1)[1]
    assert verify_payload(payload, SECRET) == VerifiedLink("ORD-748596")


@pytest.mark.parametrize(
    "bad_payload",
    [
        pytest.param(lambda p: p[:-1] + ("A" if p[-1] != "A" else "B"), id="tampered signature"),
        pytest.param(lambda p: p[:-3], id="truncated"),
        pytest.param(lambda p: p.replace("748596", "748597"), id="another order, same signature"),
        pytest.param(lambda p: make_payload("ORD-748596", OTHER_SECRET), id="foreign secret"),
        pytest.param(lambda p: "hello", id="not a link payload"),
        pytest.param(lambda p: "c-" + "-" * 20, id="no order"),
    ],
)
def test_tampered_or_foreign_payloads_are_refused(bad_payload) -> None:
    payload = make_payload("ORD-748596", SECRET)
    assert verify_payload(bad_payload(payload), SECRET) is None


def test_the_64_character_limit() -> None:
    longest = "A" * MAX_ORDER_ID_LENGTH
    payload = make_payload(longest, SECRET)
    assert len(payload) == MAX_PAYLOAD_LENGTH
    assert verify_payload(payload, SECRET) == VerifiedLink(longest)
    with pytest.raises(DeepLinkError, match="longer than"):
        make_payload(longest + "A", SECRET)


@pytest.mark.parametrize("order_id", ["ORD 1", "ORD/1", "zákazník", "", "a+b"])
def test_order_ids_a_link_cannot_carry_are_refused(order_id: str) -> None:
    with pytest.raises(DeepLinkError):
        make_payload(order_id, SECRET)


@pytest.fixture
async def bot(tmp_path: Path) -> AsyncIterator[BotHarness]:
    harness = BotHarness(make_settings(tmp_path / "bot.sqlite3", deep_link_secret=SECRET))
    await harness.start()
    yield harness
    await harness.stop()


async def test_a_link_starts_the_complaint_at_the_problem(bot: BotHarness) -> None:
    ada = bot.customer("Ada")
    turn = await ada.send(f"/start {make_payload('ORD-748596', SECRET)}")
    assert "Complaint about order <b>ORD-748596</b>" in turn.text
    assert "describe the <b>problem</b>" in turn.text
    assert "Thank you" not in turn.text  # nothing was answered yet

    await ada.send("The lamp flickers constantly.")
    turn = await ada.press("Delivery")
    assert "ORD-748596" in turn.text and "flickers" in turn.text

    # The order can still be changed from the summary.
    await ada.press("Edit")
    await ada.press("Order ID")
    turn = await ada.send("ORD-111")
    assert "ORD-111" in turn.text
    await ada.press("Submit")
    await bot.settle()
    assert "Your complaint is registered" in ada.messages()[-1].text
    (entry,) = await bot.built.services.ledger.in_state(LedgerState.REGISTERED)
    # The order is no longer the one the shop's signed link vouched for.
    assert not entry.from_deep_link and entry.order_id == "ORD-111"


async def test_a_tampered_link_is_a_plain_start_with_one_sentence(bot: BotHarness) -> None:
    payload = make_payload("ORD-748596", SECRET)
    turn = await bot.customer().send(f"/start {payload[:-1]}x")
    assert "could not be verified" in turn.text
    assert "Hello Ada" in turn.text and turn.buttons == ["Raise a complaint"]
    assert "ORD-748596" not in turn.text


async def test_links_are_off_without_a_secret(tmp_path: Path) -> None:
    harness = BotHarness(make_settings(tmp_path / "bot.sqlite3"))
    await harness.start()
    try:
        turn = await harness.customer().send(f"/start {make_payload('ORD-1', SECRET)}")
    finally:
        await harness.stop()
    assert "Hello Ada" in turn.text
    assert "could not be verified" not in turn.text and "ORD-1" not in turn.text


def test_python_m_bot_link_prints_the_url(tmp_path: Path) -> None:
    env = {
        "PATH": "/usr/bin:/bin",
        "HOME": str(tmp_path),
        "DEEP_LINK_SECRET": SECRET,
        "BOT_USERNAME": "order_bot",
    }
    result = subprocess.run(
        [sys.executable, "-m", "bot", "link", "ORD-748596"],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == make_complaint_link("ORD-748596", SECRET, "order_bot")

    refused = subprocess.run(
        [sys.executable, "-m", "bot", "link", "ORD 1"],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=60,
        check=False,
    )
    assert refused.returncode == 1
    assert "can only use" in refused.stderr

    no_days = subprocess.run(
        [sys.executable, "-m", "bot", "link", "ORD-748596", "--days", "0"],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=60,
        check=False,
    )
    assert no_days.returncode == 2 and "must be at least 1" in no_days.stderr


async def test_the_ledger_keeps_the_link_mark_only_while_the_order_is_the_linked_one(
    bot: BotHarness,
) -> None:
    ada = bot.customer("Ada")
    await ada.send(f"/start {make_payload('ORD-748596', SECRET)}")
    await ada.send("The lamp flickers constantly.")
    await ada.press("Delivery")
    await ada.press("Edit")
    await ada.press("Order ID")
    await ada.send("ORD-748596")  # re-typed, the same order
    await ada.press("Submit")
    await bot.settle()
    (entry,) = await bot.built.services.ledger.in_state(LedgerState.REGISTERED)
    assert entry.from_deep_link and entry.order_id == "ORD-748596"


@pytest.mark.parametrize(
    "payload",
    [
        "c-748596-" + "ž" * 16,  # non-ASCII signature: hmac.compare_digest refuses str
        "c-74859ž-AAAAAAAAAAAAAAAA",
        "c-748596\n-AAAAAAAAAAAAAAAA",
        "c-748596-AAAAAAAAAAAAAAA\n",
    ],
)
def test_payloads_outside_the_alphabet_are_refused_without_an_error(payload: str) -> None:
    assert verify_payload(payload, SECRET) is None


async def test_a_start_with_a_garbled_link_greets_without_an_apology(bot: BotHarness) -> None:
    ada = bot.customer("Ada")
    turn = await ada.send("/start c-748596-" + "ž" * 16)
    assert "could not be verified" in turn.all_text and "went wrong" not in turn.all_text
    assert bot.errors == []


async def test_link_refuses_an_order_id_the_bot_would_refuse(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    settings = make_settings(
        tmp_path / "bot.sqlite3",
        deep_link_secret=SECRET,
        bot_username="shop_bot",
        order_id_pattern=r"^\d{6}$",
    )
    assert await print_link(settings, "ORD-1") == 1
    assert "does not match ORDER_ID_PATTERN" in capsys.readouterr().err
    assert await print_link(settings, "748596") == 0
    assert capsys.readouterr().out.startswith("https://t.me/shop_bot?start=c-748596-")


WEEK = 7 * 86400


def test_an_expiring_link_carries_its_expiry_under_the_signature() -> None:
    expires_at = int(START_TIME) + WEEK
    payload = make_payload("ORD-748596", SECRET, expires_at)
    assert payload.startswith("e-ORD-748596-")
    link = verify_payload(payload, SECRET)
    assert link == VerifiedLink("ORD-748596", expires_at)
    assert not link.expired(expires_at - 1) and link.expired(expires_at)
    order_and_expiry, signature = payload.rsplit("-", 1)
    later = make_payload("ORD-748596", SECRET, expires_at + WEEK).rsplit("-", 2)[1]
    # A later expiry with the old signature, or the signature on a never-expiring link: refused.
    assert (
        verify_payload(f"{order_and_expiry.rsplit('-', 1)[0]}-{later}-{signature}", SECRET) is None
    )
    assert verify_payload(f"c-ORD-748596-{signature}", SECRET) is None


def test_an_expiring_link_leaves_less_room_for_the_order_id() -> None:
    expires_at = int(START_TIME) + WEEK
    with pytest.raises(DeepLinkError, match="with an expiry"):
        make_payload("A" * MAX_ORDER_ID_LENGTH, SECRET, expires_at)
    longest = "A" * (MAX_ORDER_ID_LENGTH - 7)
    assert len(make_payload(longest, SECRET, expires_at)) == MAX_PAYLOAD_LENGTH


async def test_an_expired_link_is_answered_in_words(bot: BotHarness) -> None:
    payload = make_payload("ORD-748596", SECRET, int(bot.clock()) + WEEK)
    ada = bot.customer("Ada")
    turn = await ada.send(f"/start {payload}")
    assert "Complaint about order <b>ORD-748596</b>" in turn.text  # still good
    await ada.send("/cancel")

    bot.clock.advance(WEEK)
    turn = await ada.send(f"/start {payload}")
    assert "This link to order <b>ORD-748596</b> has expired" in turn.text
    assert "Hello Ada" in turn.text and turn.buttons == ["Raise a complaint"]
    assert "describe the <b>problem</b>" not in turn.text


async def test_link_days_come_from_the_option_or_the_setting(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    settings = make_settings(
        tmp_path / "bot.sqlite3", deep_link_secret=SECRET, bot_username="shop_bot"
    )
    assert await print_link(settings, "ORD-1") == 0
    never = capsys.readouterr()
    assert "start=c-ORD-1-" in never.out and never.err == ""

    assert await print_link(settings, "ORD-1", days=3) == 0
    three_days = capsys.readouterr()
    payload = three_days.out.strip().split("start=", 1)[1]
    link = verify_payload(payload, SECRET)
    assert link is not None and link.expires_at is not None
    assert abs(link.expires_at - (time.time() + 3 * 86400)) < 60
    assert "The link works until" in three_days.err and "UTC" in three_days.err

    with_default = make_settings(
        tmp_path / "bot.sqlite3",
        deep_link_secret=SECRET,
        bot_username="shop_bot",
        deep_link_days=30,
    )
    assert await print_link(with_default, "ORD-1") == 0
    link = verify_payload(capsys.readouterr().out.strip().split("start=", 1)[1], SECRET)
    assert link is not None and link.expires_at is not None
    assert abs(link.expires_at - (time.time() + 30 * 86400)) < 60
