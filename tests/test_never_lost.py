"""Never lost, never twice: outages, restarts, races, slow backends, a busy or damaged database."""

from __future__ import annotations

import asyncio
import json
import sqlite3
import threading
import time
from pathlib import Path

import httpx
import pytest
import respx

from bot.backends.base import BackendRejected, BackendUnavailable, RejectionReason
from bot.cli.complaints import list_complaints
from bot.cli.unknown_outcomes import adopt, resubmit
from bot.storage.ledger import LedgerState
from tests.helpers.backends import (
    MIDDLEWARE_API,
    MIDDLEWARE_REGISTERED,
    MIDDLEWARE_SETTINGS,
    ScriptedBackend,
)
from tests.helpers.driver import BotHarness, make_settings

pytestmark = pytest.mark.both_engines

OPERATORS = -100555


async def _ledger_states(bot: BotHarness) -> list[LedgerState]:
    rows = await bot.built.services.ledger.in_state(*LedgerState)
    return [row.state for row in rows]


async def test_backend_down_then_up_registers_once_and_tells_the_customer(harness_factory) -> None:
    backend = ScriptedBackend(script=[BackendUnavailable("down")] * 3)
    bot = await harness_factory(backend)
    ada = bot.customer()
    await ada.file_complaint()

    await bot.settle()
    saved = ada.messages()[-1]
    assert "is saved" in saved.text and "automatically" in saved.text
    assert "Submitting" not in saved.text  # the "Submitting…" message was replaced

    for _ in range(3):
        await bot.advance(200)
    card = ada.messages()[-1]
    assert card is not saved and "Your complaint is registered" in card.text
    assert "500001" in card.text
    assert len(backend.calls) == 4
    assert len({call.key for call in backend.calls}) == 1
    assert await _ledger_states(bot) == [LedgerState.REGISTERED]

    await bot.advance(10_000)
    assert len(backend.calls) == 4  # nothing is sent again once registered


async def test_retry_after_is_honoured(harness_factory) -> None:
    backend = ScriptedBackend(script=[BackendUnavailable("slow down", retry_after=600)])
    bot = await harness_factory(backend)
    await bot.customer().file_complaint()
    await bot.settle()
    await bot.advance(500)
    assert len(backend.calls) == 1
    await bot.advance(200)
    assert len(backend.calls) == 2
    assert await _ledger_states(bot) == [LedgerState.REGISTERED]


async def test_a_rejection_is_explained_and_not_retried(harness_factory) -> None:
    backend = ScriptedBackend(
        script=[BackendRejected("order unknown", reason=RejectionReason.ORDER_NOT_FOUND)]
    )
    bot = await harness_factory(backend)
    ada = bot.customer()
    await ada.file_complaint(order_id="NO-SUCH-1")
    await bot.settle()
    told = ada.messages()[-1]
    assert "could not find order" in told.text and "NO-SUCH-1" in told.text
    await bot.advance(100_000)
    assert len(backend.calls) == 1
    assert await _ledger_states(bot) == [LedgerState.REJECTED]


async def test_gives_up_after_the_configured_time_and_lists_it_for_operators(
    harness_factory, capsys: pytest.CaptureFixture[str]
) -> None:
    backend = ScriptedBackend(script=[BackendUnavailable("still down")] * 50)
    bot = await harness_factory(backend, submit_give_up_hours=1)
    ada = bot.customer()
    await ada.file_complaint(order_id="GIVEUP-7")
    await bot.settle()
    for _ in range(6):
        await bot.advance(1000)
    assert "could not be registered" in ada.messages()[-1].text
    assert await _ledger_states(bot) == [LedgerState.FAILED]
    attempts = len(backend.calls)
    await bot.advance(100_000)
    assert len(backend.calls) == attempts

    await list_complaints(bot.settings, ["failed"])
    listing = capsys.readouterr().out
    assert "GIVEUP-7" in listing and "failed" in listing and "still down" in listing


async def test_two_submit_taps_racing_file_one_complaint(harness_factory) -> None:
    backend = ScriptedBackend()
    bot = await harness_factory(backend)
    ada = bot.customer()
    await ada.send("/complaint")
    await ada.send("748596")
    await ada.send("The lid is cracked.")
    await ada.press("Delivery")
    summary = ada.last_message_with("Submit")
    first, second = await asyncio.gather(
        ada.press("Submit", on=summary), ada.press("Submit", on=summary)
    )
    await bot.settle()
    assert {first.toast, second.toast} == {
        "Submitting…",
        "This complaint has already been submitted.",
    }
    assert len(backend.calls) == 1
    assert await _ledger_states(bot) == [LedgerState.REGISTERED]


async def test_stopped_between_ledger_write_and_backend_call_submits_once_after_restart(
    harness_factory,
) -> None:
    backend = ScriptedBackend(gate=asyncio.Event())
    bot = await harness_factory(backend)
    ada = bot.customer()
    await ada.file_complaint()
    await bot.built.services.outbox.run_due()
    for _ in range(300):  # let the attempt reach the backend
        if backend.calls:
            break
        await asyncio.sleep(0.01)
    assert len(backend.calls) == 1  # the call is under way and never answers
    await bot.built.services.outbox.stop(grace_seconds=0)
    await bot.restart()

    backend.gate.set()
    await bot.settle()
    assert await _ledger_states(bot) == [LedgerState.REGISTERED]
    assert len(backend.registered) == 1
    cards = [m for m in ada.messages() if "Your complaint is registered" in m.text]
    assert len(cards) == 1


async def test_a_restart_mid_conversation_continues_at_the_same_step(harness_factory) -> None:
    bot = await harness_factory()
    ada = bot.customer()
    await ada.send("/complaint")
    await ada.send("ORD-42")
    await ada.send("Parcel arrived soaking wet.")
    await bot.restart()

    turn = await ada.press("Delivery")
    assert "ORD-42" in turn.text and "soaking wet" in turn.text
    assert turn.buttons == ["Submit", "Edit", "Cancel"]


async def test_a_slow_backend_never_makes_other_customers_wait(harness_factory) -> None:
    backend = ScriptedBackend(gate=asyncio.Event())
    bot = await harness_factory(backend)
    waiting = [bot.customer(f"Customer{i}") for i in range(50)]
    for customer in waiting:
        turn = await customer.file_complaint(order_id=f"ORD-{customer.id}")
        assert turn.toast == "Submitting…"

    # Every submission is stuck at the backend; a new customer is served at every step.
    bob = bot.customer("Bob")
    assert "order ID" in (await bob.send("/complaint")).text
    assert "problem" in (await bob.send("B-77")).text
    assert "category" in (await bob.send("Wrong size delivered.")).text
    assert "Please check" in (await bob.press("Other")).text
    assert (await bob.send("/mycomplaints")).text

    backend.gate.set()
    await bot.settle()
    states = await _ledger_states(bot)
    assert states == [LedgerState.REGISTERED] * 50
    assert len(backend.registered) == 50


async def test_a_busy_database_is_waited_for_and_nothing_is_lost(
    harness_factory, tmp_path: Path, engine: str
) -> None:
    if engine != "sqlite":
        pytest.skip("another process holding SQLite's write lock is SQLite's own case")
    bot = await harness_factory()
    ada = bot.customer()
    await ada.send("/complaint")

    other = sqlite3.connect(tmp_path / "bot.sqlite3", check_same_thread=False)
    other.execute("BEGIN IMMEDIATE")  # an operator's CLI holding the write lock
    threading.Timer(0.5, other.commit).start()
    turn = await ada.send("748596")
    other.close()
    assert "problem" in turn.text
    turn = await ada.send("Broken on arrival.")
    assert "category" in turn.text


async def test_a_corrupt_draft_starts_that_customer_over_with_an_apology(
    harness_factory, tmp_path: Path
) -> None:
    bot = await harness_factory()
    ada, bob = bot.customer("Ada"), bot.customer("Bob")
    await ada.send("/complaint")
    await bob.send("/complaint")
    await bob.send("BOB-1")
    await bot.built.services.database.execute(
        "UPDATE conversations SET draft = '{broken' WHERE user_id = ?", [ada.id]
    )
    await bot.restart()  # the damage is found when the draft is read back from disk
    turn = await ada.send("748596")
    assert "could not restore your complaint draft" in turn.text
    assert turn.buttons == ["Raise a complaint"]
    assert "order ID" in (await ada.send("/complaint")).text

    assert "category" in (await bob.send("Bob's parcel is missing.")).text


OCC = "https://occ.example.com"


async def test_occ_timeout_after_registering_does_not_create_a_second_appeasement(
    tmp_path: Path,
) -> None:
    settings = make_settings(
        tmp_path / "bot.sqlite3",
        complaint_backend="occ",
        occ_base_url=OCC,
        occ_username="agent",
        occ_password="agent-password-123",
    )
    with respx.mock(assert_all_called=False) as mock:
        mock.post(f"{OCC}/ccagent/v1/login").respond(
            json={"access_token": "tok", "token_type": "bearer", "expires_in": 900}
        )
        create = mock.post(f"{OCC}/ccagent/v1/appeasements").respond(
            json={"id": "app370003", "state": "INCOMPLETE", "orderId": "o10068"}
        )
        submit = mock.post(f"{OCC}/ccagent/v1/appeasements/submit")
        submit.side_effect = httpx.ReadTimeout("no answer")  # ...but OCC did submit it
        read = mock.get(f"{OCC}/ccagent/v1/appeasements/app370003").respond(
            json={"id": "app370003", "state": "SUBMITTED", "orderId": "o10068"}
        )
        async with httpx.AsyncClient() as client:
            bot = BotHarness(settings, http_client=client)
            await bot.start()
            ada = bot.customer()
            await ada.file_complaint(order_id="o10068")
            await bot.settle()
            assert "is saved" in ada.messages()[-1].text
            await bot.advance(200)
            await bot.stop()

    assert create.call_count == 1
    assert submit.call_count == 1
    assert read.call_count == 1
    card = ada.messages()[-1]
    assert "app370003" in card.text


async def test_a_create_without_an_answer_waits_for_an_operator_who_resubmits_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The middleware documents no promise to honour Idempotency-Key: a create whose answer
    is lost may have filed the complaint, so it is not sent again until an operator looked;
    resubmitted, it carries the same key."""
    settings = make_settings(
        tmp_path / "bot.sqlite3", operator_chat_id=OPERATORS, **MIDDLEWARE_SETTINGS
    )
    with respx.mock(assert_all_called=False) as mock:
        route = mock.post(f"{MIDDLEWARE_API}/raiseComplaintsAgainstOrder")
        route.side_effect = [
            httpx.ReadTimeout("no answer"),
            httpx.Response(200, json=MIDDLEWARE_REGISTERED),
        ]
        async with httpx.AsyncClient() as client:
            bot = BotHarness(settings, http_client=client)
            bot.api.telegram.add_group(OPERATORS, "Shop team")
            await bot.start()
            ada = bot.customer()
            await ada.file_complaint()
            await bot.settle()
            await bot.advance(3600)
            assert route.call_count == 1  # not sent again on its own
            assert "saved" in ada.messages()[-1].text.lower()  # she is told it is delayed
            [notice] = [
                m for m in bot.api.chat_messages(OPERATORS) if "may or may not be filed" in m.text
            ]
            assert "--resubmit 1" in notice.text and "--adopt 1 NUMBER" in notice.text
            capsys.readouterr()
            assert await list_complaints(bot.settings, ["unknown"]) == 0
            assert "timed out" in capsys.readouterr().out
            # The operator finds nothing in the middleware and sends it again.
            assert await resubmit(bot.settings, 1) == 0
            await bot.advance(max(0.0, time.time() - bot.clock()) + 1)  # the CLI's real clock
            await bot.stop()
    keys = [call.request.headers["Idempotency-Key"] for call in route.calls]
    assert len(keys) == 2 and keys[0] == keys[1]
    assert "12345" in ada.messages()[-1].text


async def test_an_operator_adopts_the_complaint_the_backend_did_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    settings = make_settings(tmp_path / "bot.sqlite3", **MIDDLEWARE_SETTINGS)
    with respx.mock(assert_all_called=False) as mock:
        route = mock.post(f"{MIDDLEWARE_API}/raiseComplaintsAgainstOrder")
        route.side_effect = [httpx.ReadTimeout("no answer")]
        async with httpx.AsyncClient() as client:
            bot = BotHarness(settings, http_client=client)
            await bot.start()
            ada = bot.customer()
            await ada.file_complaint()
            await bot.settle()
            await bot.advance(600)
            # The operator finds it in the middleware, filed as 77001.
            assert await adopt(bot.settings, "1", "77001") == 0
            assert await adopt(bot.settings, "1", "77001") == 1  # once
            await bot.advance(max(0.0, time.time() - bot.clock()) + 1)  # the CLI's real clock
            (entry,) = await bot.built.services.ledger.in_state(LedgerState.REGISTERED)
            await bot.stop()
    assert route.call_count == 1
    assert entry.complaint_number == "77001"
    assert "77001" in ada.messages()[-1].text


async def test_a_slow_backend_shows_submitting_until_the_card_replaces_it(
    harness_factory, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("bot.workers.outbox.ACKNOWLEDGE_AFTER_SECONDS", 0.05)
    backend = ScriptedBackend(gate=asyncio.Event())
    bot = await harness_factory(backend)
    ada = bot.customer()
    turn = await ada.file_complaint()
    assert turn.toast == "Submitting…"
    summary = ada.messages()[-1]
    assert summary.buttons == ["Submit", "Edit", "Cancel"]  # the backend may answer at once

    await bot.built.services.outbox.run_due()
    for _ in range(100):
        if "Submitting" in summary.text:
            break
        await asyncio.sleep(0.01)
    assert "Submitting your complaint about order <b>748596</b>" in summary.text
    assert summary.buttons == []

    backend.gate.set()
    await bot.settle()
    assert "Your complaint is registered" in summary.text  # the same message, edited again


async def test_a_complaint_queued_behind_others_gets_its_card_without_submitting_first(
    harness_factory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Time in our own queue (a burst) is no reason for "Submitting…": a quick backend's card
    replaces the summary directly, one Bot API call instead of two."""
    backend = ScriptedBackend()
    bot = await harness_factory(backend)
    outbox = bot.built.services.outbox
    monkeypatch.setattr(outbox, "wake", lambda: None)  # it stays queued until the test says
    ada = bot.customer()
    await ada.file_complaint()
    bot.clock.advance(5)
    await outbox.run_due()
    await bot.settle()
    assert "Your complaint is registered" in ada.messages()[-1].text
    assert not [call for call in bot.api.calls if "Submitting your" in call.text]


async def test_the_worker_rests_while_a_submission_is_under_way(harness_factory) -> None:
    """A complaint at a slow backend is still pending and overdue; the worker must not keep
    re-reading the ledger because of it (it used to spin, burning a core)."""
    backend = ScriptedBackend(gate=asyncio.Event())
    bot = await harness_factory(backend)
    ledger = bot.built.services.ledger
    reads = 0
    original = ledger.next_attempt_at

    async def counted(**kwargs):
        nonlocal reads
        reads += 1
        return await original(**kwargs)

    ledger.next_attempt_at = counted  # type: ignore[method-assign]
    await bot.customer().file_complaint()
    await asyncio.sleep(0.3)  # the backend call hangs meanwhile
    assert len(backend.calls) == 1
    assert reads < 10  # a spinning loop reads thousands of times in 0.3 s
    backend.gate.set()
    await bot.settle()
    assert await _ledger_states(bot) == [LedgerState.REGISTERED]


async def test_occ_create_whose_answer_is_lost_makes_one_appeasement_and_one_card(
    tmp_path: Path,
) -> None:
    """OCC stored the appeasement, but the answer to the create was lost (a proxy's 502): the
    retry reads it back by the id the bot chose for it instead of creating a second refund."""
    settings = make_settings(
        tmp_path / "bot.sqlite3",
        complaint_backend="occ",
        occ_base_url=OCC,
        occ_username="agent",
        occ_password="agent-password-123",
    )
    stored: dict[str, dict[str, object]] = {}

    def create(request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        # As documented: an id given in the payload that exists already creates nothing.
        stored.setdefault(str(body["id"]), {"state": "INCOMPLETE", **body})
        return httpx.Response(502, text="Bad Gateway")  # ...from the proxy, after OCC did it

    def read(request: httpx.Request) -> httpx.Response:
        found = stored.get(request.url.path.rsplit("/", 1)[1])
        return httpx.Response(200, json=found) if found else httpx.Response(404, json={})

    def submit(request: httpx.Request) -> httpx.Response:
        appeasement = stored[json.loads(request.content)["id"]]
        appeasement["state"] = "SUBMITTED"
        return httpx.Response(200, json=appeasement)

    with respx.mock(assert_all_called=False) as mock:
        mock.post(f"{OCC}/ccagent/v1/login").respond(
            json={"access_token": "tok", "token_type": "bearer", "expires_in": 900}
        )
        created = mock.post(f"{OCC}/ccagent/v1/appeasements").mock(side_effect=create)
        submitted = mock.post(f"{OCC}/ccagent/v1/appeasements/submit").mock(side_effect=submit)
        mock.get(url__regex=rf"{OCC}/ccagent/v1/appeasements/\w+$").mock(side_effect=read)
        async with httpx.AsyncClient() as client:
            bot = BotHarness(settings, http_client=client)
            await bot.start()
            ada = bot.customer()
            await ada.file_complaint(order_id="o10068")
            await bot.settle()
            await bot.restart()  # and the bot restarts meanwhile
            await bot.advance(200)
            await bot.stop()

    (chosen,) = stored
    assert created.call_count == 1 and len(stored) == 1
    assert json.loads(submitted.calls[0].request.content) == {"id": chosen}
    cards = [m for m in ada.messages() if "Your complaint is registered" in m.text]
    assert len(cards) == 1 and chosen in cards[0].text


async def test_a_database_error_while_submitting_never_cuts_the_backend_call_short(
    harness_factory, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("bot.workers.outbox.ACKNOWLEDGE_AFTER_SECONDS", 0.05)
    backend = ScriptedBackend(gate=asyncio.Event())
    bot = await harness_factory(backend)
    ada = bot.customer()
    await ada.file_complaint()
    delivery = bot.built.services.delivery
    write = delivery.write
    failed = []

    async def database_fails_once(*changes, owed):
        if not failed and any(o.kind == "submitting" for o in owed):
            failed.append(True)  # the disk is full for a moment, while the call is under way
            raise sqlite3.OperationalError("database or disk is full")
        return await write(*changes, owed=owed)

    monkeypatch.setattr(delivery, "write", database_fails_once)
    outbox = bot.built.services.outbox
    await outbox.run_due()
    for _ in range(100):
        if failed:
            break
        await asyncio.sleep(0.01)
    assert failed
    backend.gate.set()
    await bot.settle()
    await bot.advance(3600)
    assert await _ledger_states(bot) == [LedgerState.REGISTERED]
    assert len(backend.calls) == 1  # the call went on and was recorded: not made again
    cards = [m for m in ada.messages() if "Complaint number" in m.text]
    assert len(cards) == 1
