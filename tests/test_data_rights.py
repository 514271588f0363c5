"""Customers' data rights: /mydata exports everything, /forgetme erases it; retention; the CLI."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest

from bot.__main__ import main
from bot.backends.base import BackendUnavailable, ComplaintStatus, StatusCode
from bot.cli.customer import export_customer, forget_customer
from bot.cli.desk import set_status
from bot.messages.callbacks import Action, decode, encode
from bot.storage.database import Database
from bot.storage.pseudonyms import PSEUDONYM_PREFIX
from tests.conftest import StartBot
from tests.helpers.backends import ScriptedBackend
from tests.helpers.driver import BotHarness, Customer

pytestmark = pytest.mark.both_engines

OPERATORS = -1009876543210
PROBLEM = "The Zorblax kettle leaks at the seam."
# The tables an erasure must leave without the customer's texts (the schema is read, so a
# table added later is checked too).
SQLITE_TABLES = "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
POSTGRES_TABLES = (
    "SELECT table_name AS name FROM information_schema.tables WHERE table_schema = current_schema()"
)


def exported(bot: BotHarness, customer: Customer) -> dict[str, Any]:
    """The JSON file the bot sent the customer last."""
    (call, *_) = reversed([c for c in bot.api.calls_to("sendDocument") if c.chat_id == customer.id])
    stored = bot.api.telegram.files[call.params["document"]]
    assert stored.file_name.startswith("mydata-") and stored.file_name.endswith(".json")
    document = json.loads(stored.content)
    assert isinstance(document, dict)
    return document


async def everything(database: Database) -> str:
    """Every row of every table, as one text."""
    texts = []
    tables = await database.fetch_all(POSTGRES_TABLES if database.shared else SQLITE_TABLES)
    assert len(tables) >= 12
    for table in sorted(str(row["name"]) for row in tables):
        for row in await database.fetch_all(f"SELECT * FROM {table}"):  # noqa: S608
            texts.append(" ".join(str(value) for value in tuple(row)))
    return "\n".join(texts)


async def rated_and_written(bot: BotHarness) -> Customer:
    """Zoe (Zimmermann, @zoe_z) files a complaint, writes to operators, it is resolved, she
    rates it with a comment, picks Czech, and starts another draft."""
    bot.api.telegram.add_group(OPERATORS, "Shop team")
    zoe = bot.customer("Zoe", last_name="Zimmermann", username="zoe_z")
    await zoe.file_complaint(problem=PROBLEM)
    await bot.settle()
    await zoe.press("✍️ Write about this complaint")
    await zoe.send("Zoe here: the seam drips onto my Quuxtable.")
    await bot.settle()
    assert await set_status(bot.settings, "100001", "resolved", "Refund sent.") == 0
    await bot.settle()
    await zoe.press("4 ★")
    await zoe.send("Thanks, but the Frobnitz courier was rude.")
    await bot.settle()
    await zoe.send("/complaint")
    await zoe.send("ORD-99911")
    return zoe


async def test_mydata_sends_a_json_file_with_complaints_threads_ratings_desk_and_draft(
    harness_factory: StartBot,
) -> None:
    bot = await harness_factory(operator_chat_id=OPERATORS)
    zoe = await rated_and_written(bot)
    turn = await zoe.send("/mydata")
    assert turn.silent  # no text message: a document
    (document_call,) = [c for c in turn.calls if c.method == "sendDocument"]
    assert "Everything this bot stores about you" in document_call.text
    data = exported(bot, zoe)
    assert data["telegram_user_id"] == zoe.id
    (complaint,) = data["complaints"]
    assert complaint["number"] == "100001" and complaint["order"] == "748596"
    assert complaint["problem"] == PROBLEM and complaint["status"] == "resolved"
    assert complaint["backend"] == "local" and complaint["created_at"].startswith("20")
    assert complaint["you_as_sent"]["username"] == "zoe_z"
    (desk,) = data["desk_complaints"]
    assert (
        desk["number"] == 100001 and desk["problem"] == PROBLEM and desk["note"] == "Refund sent."
    )
    assert any("Quuxtable" in m["text"] for m in data["complaint_messages"])
    (rating,) = data["ratings"]
    assert rating["stars"] == 4 and "Frobnitz" in rating["comment"]
    assert data["draft"]["draft"] is not None and "ORD-99911" in json.dumps(data["draft"])
    assert data["preferences"] is None  # she chose nothing
    assert data["messages_about_you"]


async def test_mydata_of_a_new_customer_is_an_empty_document(bot: BotHarness) -> None:
    ada = bot.customer()
    await ada.send("/mydata")
    data = exported(bot, ada)
    assert data["complaints"] == [] and data["draft"] is None and data["ratings"] == []


async def test_forgetme_asks_first_and_no_keeps_everything(bot: BotHarness) -> None:
    ada = bot.customer()
    await ada.file_complaint(problem=PROBLEM)
    await bot.settle()
    turn = await ada.send("/forgetme")
    assert "Should the bot forget you?" in turn.text
    assert turn.buttons == ["Yes, forget me", "No"]
    turn = await ada.press("No")
    assert "nothing was deleted" in turn.text
    assert PROBLEM in await everything(bot.built.services.database)


async def test_forged_or_foreign_forget_presses_are_refused(bot: BotHarness) -> None:
    ada = bot.customer()
    eve = bot.customer("Eve")
    await ada.file_complaint(problem=PROBLEM)
    await bot.settle()
    await ada.send("/forgetme")
    data = ada.last_message_with("Yes, forget me").callback_data("Yes, forget me")
    press = decode(data)
    assert press is not None and press.action is Action.FORGET
    await eve.send("/help")
    # Eve replays Ada's button data, and makes some up.
    for forged in (
        data,
        encode(Action.FORGET, press.token, "0" * 16),
        encode(Action.FORGET, str(int(press.token) + 1), press.argument),
        "fg:abc:def",
    ):
        turn = await eve.press_data(forged)
        assert turn.toast == "This button is no longer active."
    # Ada's own button, too late.
    await bot.advance(bot.settings.conversation_timeout_seconds + 60)
    turn = await ada.press("Yes, forget me")
    assert turn.toast == "This button is no longer active."
    assert PROBLEM in await everything(bot.built.services.database)


async def test_after_forgetme_no_table_holds_her_texts_or_names(
    harness_factory: StartBot,
) -> None:
    bot = await harness_factory(operator_chat_id=OPERATORS)
    zoe = await rated_and_written(bot)
    await zoe.send("/language")
    await zoe.press("Čeština")
    database = bot.built.services.database
    before = await everything(database)
    for text in ("Zimmermann", "zoe_z", "Zorblax", "Quuxtable", "Frobnitz", "ORD-99911"):
        assert text in before
    await zoe.send("/forgetme")
    turn = await zoe.press("Ano, zapomeňte na mě")
    assert "bot na vás zapomněl" in turn.text
    await bot.settle()
    after = await everything(database)
    for text in ("Zoe", "Zimmermann", "zoe_z", "Zorblax", "Quuxtable", "Frobnitz", "ORD-99911"):
        assert text not in after, text
    assert f"{PSEUDONYM_PREFIX} " in after
    # The complaint is still the shop's, under its number; the rating's stars stay.
    row = await database.fetch_one("SELECT * FROM complaints")
    assert row is not None and row["complaint_number"] == "100001" and row["user_id"] == 0
    stars = await database.fetch_one("SELECT stars, comment FROM complaint_ratings")
    assert stars is not None and stars["stars"] == 4 and stars["comment"] == ""
    # She is served as a new customer: English again, no complaints, no draft.
    turn = await zoe.send("/mycomplaints")
    assert "100001" not in turn.text
    turn = await zoe.send("/start")
    assert "Raise a complaint" in turn.buttons
    await zoe.file_complaint()
    await bot.settle()
    assert "100002" in zoe.messages()[-1].text
    await zoe.send("/mydata")
    data = exported(bot, zoe)
    assert [c["number"] for c in data["complaints"]] == ["100002"]


async def test_a_pending_complaint_is_registered_first_then_anonymised(
    harness_factory: StartBot,
) -> None:
    # A remote backend, down when she confirms.
    backend = ScriptedBackend(name="middleware", script=[BackendUnavailable("down")])
    bot = await harness_factory(backend=backend)
    ada = bot.customer("Ada", last_name="Quincey")
    await ada.file_complaint(problem=PROBLEM)
    await bot.settle()
    await ada.send("/forgetme")
    turn = await ada.press("Yes, forget me")
    assert "still being registered" in turn.text
    assert "orders 748596" in turn.text  # the shop's own backend keeps its copy
    database = bot.built.services.database
    # Kept until registered: what registering needs, and the request.
    assert PROBLEM in await everything(database)
    assert await bot.built.services.database.fetch_one("SELECT * FROM erasures") is not None
    await bot.advance(3600)  # the backend is back: registered, the number told
    assert any("Complaint number" in m.text for m in ada.messages())
    assert await bot.built.data_rights.finish_erasures() == 0  # the shop still handles it
    after = await everything(database)
    assert PROBLEM not in after and "Quincey" not in after
    # Still hers while the shop handles it: she hears when it is resolved; then unlinked.
    backend.statuses["500001"] = ComplaintStatus(code=StatusCode.RESOLVED, text="resolved")
    await bot.advance(3600)
    await bot.built.poller.poll()
    await bot.settle()
    assert "resolved" in ada.messages()[-1].text
    assert await bot.built.data_rights.finish_erasures() == 1
    assert await database.fetch_one("SELECT * FROM erasures") is None
    row = await database.fetch_one("SELECT user_id FROM complaints")
    assert row is not None and row["user_id"] == 0
    # The backend got the whole complaint: the erasure waited for it.
    assert backend.calls[-1].envelope.entity.problemStatment == PROBLEM


async def test_a_forgotten_customers_complaint_reopened_on_the_desk_is_told_to_nobody(
    bot: BotHarness,
) -> None:
    ada = bot.customer("Ada", last_name="Quincey")
    await ada.file_complaint(problem=PROBLEM)
    await bot.settle()
    assert await set_status(bot.settings, "100001", "resolved") == 0
    await bot.settle()
    await ada.send("/forgetme")
    await ada.press("Yes, forget me")
    await bot.settle()
    database = bot.built.services.database
    row = await database.fetch_one("SELECT user_id FROM complaints")
    assert row is not None and row["user_id"] == 0  # finished: unlinked at once
    assert await set_status(bot.settings, "100001", "in_progress") == 0  # the shop reopens it
    await bot.advance(60)
    assert await database.fetch_one("SELECT * FROM deliveries WHERE chat_id = 0") is None


async def test_retention_anonymises_finished_complaints_older_than_retention_days(
    harness_factory: StartBot,
) -> None:
    bot = await harness_factory(retention_days=30)
    ada = bot.customer("Ada", last_name="Quincey")
    await ada.file_complaint(problem=PROBLEM)
    bob = bot.customer("Bob")
    await bob.file_complaint(problem="The Wibblet toaster is cold.")
    await bot.settle()
    assert await set_status(bot.settings, "100001", "closed") == 0
    await bot.settle()
    database = bot.built.services.database
    assert await bot.built.data_rights.retention() == 0  # not old enough
    assert PROBLEM in await everything(database)
    # (The desk CLI dates its change by the real clock.)
    await bot.advance(max(0.0, time.time() - bot.clock()) + 31 * 86400)
    assert await bot.built.data_rights.retention() == 1
    after = await everything(database)
    assert PROBLEM not in after, [line for line in after.splitlines() if PROBLEM in line]
    assert "Quincey" not in after
    assert "Wibblet" in after  # Bob's is still being handled
    row = await database.fetch_one("SELECT COUNT(*) FROM deliveries WHERE state = 'sent'")
    assert row is not None and row[0] == 0  # sent messages that old are deleted
    assert await bot.built.data_rights.retention() == 0  # once


async def test_retention_is_off_by_default(bot: BotHarness) -> None:
    ada = bot.customer()
    await ada.file_complaint(problem=PROBLEM)
    await bot.settle()
    await bot.advance(3650 * 86400)
    assert await bot.built.data_rights.retention() == 0
    assert PROBLEM in await everything(bot.built.services.database)


async def test_cli_exports_and_forgets_a_customer(
    harness_factory: StartBot, capsys: pytest.CaptureFixture[str]
) -> None:
    bot = await harness_factory()
    ada = bot.customer("Ada", last_name="Quincey")
    await ada.file_complaint(problem=PROBLEM)
    await bot.settle()
    await ada.send("/language")
    await ada.press("Deutsch")
    capsys.readouterr()
    assert await export_customer(bot.settings, ada.id) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed["complaints"][0]["problem"] == PROBLEM
    assert printed["preferences"]["language"] == "de"
    assert await forget_customer(bot.settings, ada.id) == 0
    out = capsys.readouterr().out
    assert f"Forgot customer {ada.id}" in out
    assert PROBLEM not in await everything(bot.built.services.database)
    assert "Complaints still being handled: 1" in out
    # The running bot takes it over: what it kept in memory goes too; the request waits for
    # the complaint to be finished.
    assert await bot.built.data_rights.finish_erasures() == 0
    assert await bot.built.services.database.fetch_one("SELECT * FROM erasures") is not None
    turn = await ada.send("/help")
    assert "complaint" in turn.text  # English again


def test_the_cli_takes_a_telegram_user_id(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["customer", "export", "not-a-number"])
    assert exited.value.code == 2
    assert "TELEGRAM_USER_ID" in capsys.readouterr().err
