"""/forgetme as a snapshot: it erases what existed when asked, once, and leaves no copy behind."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from bot.cli.desk import set_status
from bot.loopback.customer import OperatorUpdates, make_user
from bot.telegram_html import plain_text
from tests.conftest import StartBot
from tests.test_data_rights import OPERATORS, PROBLEM, everything, exported, rated_and_written

NEW_PROBLEM = "The Plonkit lamp I bought afterwards flickers."


@pytest.mark.both_engines
async def test_a_new_complaint_after_forgetme_is_kept_while_the_old_one_is_open(
    harness_factory: StartBot,
) -> None:
    bot = await harness_factory()
    ada = bot.customer("Ada", last_name="Quincey")
    await ada.file_complaint(problem=PROBLEM)
    await bot.settle()
    await ada.send("/forgetme")
    turn = await ada.press("Yes, forget me")
    assert "still handling" in turn.text or "being handled" in turn.text, turn.text
    database = bot.built.services.database
    assert PROBLEM not in await everything(database)
    # An hour later she starts again; the erasure rounds run every minute meanwhile.
    await bot.advance(3600)
    await ada.send("/complaint")
    await ada.send("ORD-55501")
    for _ in range(5):
        await bot.advance(60)
    draft = await database.fetch_one("SELECT draft FROM conversations WHERE user_id = ?", [ada.id])
    assert draft is not None and "ORD-55501" in draft["draft"]  # her new draft stays
    await ada.send("/cancel")
    await ada.file_complaint(problem=NEW_PROBLEM)
    await bot.settle()
    assert "100002" in ada.messages()[-1].text
    await bot.advance(600)
    # The old complaint is finished: the erasure completes, and never runs again.
    assert await set_status(bot.settings, "100001", "resolved") == 0
    await bot.advance(60)
    assert await database.fetch_one("SELECT * FROM erasures") is None
    after = await everything(database)
    assert NEW_PROBLEM in after and "Quincey" in after  # the new complaint is hers, whole
    assert PROBLEM not in after
    row = await database.fetch_one(
        "SELECT user_id, anonymised_at FROM complaints WHERE complaint_number = '100002'"
    )
    assert row is not None and row["user_id"] == ada.id and row["anonymised_at"] == 0
    await bot.advance(3600)
    assert NEW_PROBLEM in await everything(database)
    await ada.send("/mycomplaints")
    assert "100002" in ada.messages()[-1].text


@pytest.mark.both_engines
async def test_an_operator_chat_post_still_owed_is_not_sent_after_forgetme(
    harness_factory: StartBot,
) -> None:
    bot = await harness_factory(operator_chat_id=OPERATORS)
    bot.api.telegram.add_group(OPERATORS, "Shop team")
    zoe = bot.customer("Zoe", last_name="Zimmermann")
    await zoe.file_complaint(problem=PROBLEM)
    await bot.settle()
    await zoe.press("✍️ Write about this complaint")
    # Telegram fails the post of what she writes: it waits in the deliveries, to be retried.
    bot.api.fail_next("sendMessage", "Bad Gateway", 502)
    turn = await zoe.send("Zoe here: the seam drips onto my Quuxtable.")
    assert turn.text, [(c.method, c.chat_id) for c in turn.calls]
    posted = [m.text for m in bot.api.chat_messages(OPERATORS)]
    assert not any("Quuxtable" in text for text in posted)
    await zoe.send("/forgetme")
    await zoe.press("Yes, forget me")
    await bot.advance(120)
    posted = [m.text for m in bot.api.chat_messages(OPERATORS)]
    assert not any("Quuxtable" in text for text in posted), posted
    assert "Quuxtable" not in await everything(bot.built.services.database)


async def test_after_an_erasure_no_byte_of_the_database_or_its_wal_holds_her_texts(
    harness_factory: StartBot, tmp_path: Path
) -> None:
    bot = await harness_factory(operator_chat_id=OPERATORS)
    zoe = await rated_and_written(bot)
    await zoe.send("/cancel")
    await bot.settle()
    files = [tmp_path / "bot.sqlite3", tmp_path / "bot.sqlite3-wal"]
    raw = b"".join(path.read_bytes() for path in files if path.exists())
    assert b"Zorblax" in raw and b"Quuxtable" in raw
    await zoe.send("/forgetme")
    await zoe.press("Yes, forget me")
    await bot.settle()
    assert await bot.built.services.database.fetch_one("SELECT * FROM erasures") is None
    raw = b"".join(path.read_bytes() for path in files if path.exists())
    for text in (b"Zimmermann", b"zoe_z", b"Zorblax", b"Quuxtable", b"Frobnitz"):
        assert text not in raw, text


async def test_mydata_names_the_shops_staff_by_role(harness_factory: StartBot) -> None:
    bot = await harness_factory(operator_chat_id=OPERATORS)
    bot.api.telegram.add_group(OPERATORS, "Shop team")
    jarmila = OperatorUpdates(OPERATORS, make_user(7001, "Jarmila"), title="Shop team")
    ada = bot.customer()
    await ada.file_complaint(problem=PROBLEM)
    await bot.settle()
    (post,) = [
        m for m in bot.api.chat_messages(OPERATORS) if "New complaint 100001" in plain_text(m.text)
    ]
    await bot.feed(jarmila.text("We are sending a new kettle.", reply_to=post), OPERATORS)
    await bot.settle()
    assert any("new kettle" in m.text for m in ada.messages())
    await ada.send("/mydata")
    document = exported(bot, ada)
    assert "Jarmila" not in json.dumps(document, ensure_ascii=False)
    (answer,) = [m for m in document["complaint_messages"] if m["author"] == "operator"]
    assert answer["author_name"] == "the shop's team" and "new kettle" in answer["text"]


@pytest.mark.both_engines
async def test_on_postgresql_the_erased_tables_are_vacuumed(
    harness_factory: StartBot, engine: str
) -> None:
    if engine != "postgres":
        pytest.skip("SQLite's case is the bytes test above")
    bot = await harness_factory()
    ada = bot.customer("Ada", last_name="Quincey")
    await ada.file_complaint(problem=PROBLEM)
    await bot.settle()
    database = bot.built.services.database
    query = "SELECT last_vacuum FROM pg_stat_user_tables WHERE relname = 'complaints'"
    before = await database.fetch_one(query)
    assert before is not None and before["last_vacuum"] is None
    await ada.send("/forgetme")
    await ada.press("Yes, forget me")
    # The old row versions are made free space now, not when autovacuum gets to them.
    for _ in range(50):
        after = await database.fetch_one(query)
        if after is not None and after["last_vacuum"] is not None:
            break
        await asyncio.sleep(0.1)
    assert after is not None and after["last_vacuum"] is not None


@pytest.mark.both_engines
async def test_forgetme_erases_the_refund_account_from_the_ledger_and_the_desk(
    harness_factory: StartBot, tmp_path: Path
) -> None:
    iban = "CZ6508000000192000145399"
    bot = await harness_factory(
        complaint_resolutions={"refund": "Refund"},
        ask_items="required",
        ask_amount="required",
        ask_refund_account="required",
        claim_currency="CZK",
    )
    ada = bot.customer("Ada", last_name="Quincey")
    await ada.send("/complaint")
    await ada.send("748596")
    await ada.send(PROBLEM)
    await ada.press("Product-related")
    await ada.press("Refund")
    await ada.send("2x Wireless headphones Model X")
    await ada.send("1500")
    await ada.send("19-2000145399/0800")
    await ada.press("Submit")
    await bot.settle()
    database = bot.built.services.database
    assert iban in await everything(database)  # the ledger's envelope and the desk's row
    assert await set_status(bot.settings, "100001", "resolved") == 0
    await bot.settle()
    await ada.send("/forgetme")
    await ada.press("Yes, forget me")
    await bot.settle()
    after = await everything(database)
    assert iban not in after and "Quincey" not in after
    assert "Wireless headphones Model X" in after  # what was claimed is no personal data
    if not database.shared:
        files = [tmp_path / "bot.sqlite3", tmp_path / "bot.sqlite3-wal"]
        raw = b"".join(path.read_bytes() for path in files if path.exists())
        assert iban.encode() not in raw and b"2000145399" not in raw


async def test_an_operators_reply_still_owed_reaches_the_customer_who_asked_to_be_forgotten(
    harness_factory: StartBot,
) -> None:
    bot = await harness_factory(operator_chat_id=OPERATORS)
    bot.api.telegram.add_group(OPERATORS, "Shop team")
    jarmila = OperatorUpdates(OPERATORS, make_user(7001, "Jarmila"), title="Shop team")
    ada = bot.customer()
    await ada.file_complaint(problem=PROBLEM)
    await bot.settle()
    (post,) = [
        m for m in bot.api.chat_messages(OPERATORS) if "New complaint 100001" in plain_text(m.text)
    ]
    # Telegram fails the reply to her once: it waits in the deliveries, owed to her.
    bot.api.fail_next("sendMessage", "Bad Gateway", 502)
    await bot.feed(jarmila.text("We are sending a new kettle.", reply_to=post), OPERATORS)
    assert not any("new kettle" in m.text for m in ada.messages())
    await ada.send("/forgetme")
    await ada.press("Yes, forget me")
    await bot.advance(120)
    assert any("new kettle" in m.text for m in ada.messages())  # not cancelled by the erasure
