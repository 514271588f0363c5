"""Status changes at the edges: many open complaints, races, restarts, reopened complaints."""

from __future__ import annotations

import asyncio

import pytest

from bot.backends.base import ComplaintStatus, Receipt, StatusCode
from bot.cli.desk import set_status
from bot.complaint import Customer, build_envelope
from bot.storage.ledger import NewComplaint
from bot.telegram_html import plain_text
from bot.workers.status_poller import POLL_CONCURRENCY
from tests.helpers.backends import ScriptedBackend
from tests.helpers.driver import BotHarness

pytestmark = pytest.mark.both_engines

POLL_ROUND = 31 * 60.0


def _notices(bot: BotHarness, chat_id: int, words: str = "is now") -> list[str]:
    texts = [plain_text(m.text) for m in bot.api.chat_messages(chat_id)]
    return [text for text in texts if words in text]


async def _registered(bot: BotHarness, count: int) -> None:
    """`count` registered, open complaints of different customers, written straight away."""
    ledger = bot.built.services.ledger
    for n in range(count):
        envelope = build_envelope(
            Customer(user_id=9000 + n, first_name="C"),
            order_id=f"ORD-{n}",
            problem="Broken on arrival.",
            category="delivery",
            interest_type="productComplaint",
            language_code="en-US",
        )
        entry = await ledger.record(
            NewComplaint(
                key=f"k{n}",
                user_id=9000 + n,
                chat_id=9000 + n,
                backend="middleware",
                envelope=envelope,
                message_id=None,
            ),
            now=bot.clock(),
        )
        assert entry is not None
        number = str(700000 + n)
        receipt = Receipt(number=number, reference=number)
        await bot.built.services.database.execute(
            "UPDATE complaints SET state = 'registered', complaint_number = ?, receipt = ?, "
            "status_code = 'received' WHERE id = ?",
            [number, receipt.model_dump_json(), entry.id],
        )


async def test_a_round_asks_about_every_open_complaint_however_many(harness_factory) -> None:
    backend = ScriptedBackend(name="middleware")
    bot = await harness_factory(backend)
    await _registered(bot, 450)
    asked: list[str] = []
    original = backend.status

    async def counting(receipt: Receipt, envelope: object) -> ComplaintStatus:
        asked.append(receipt.number)
        return await original(receipt, envelope)  # type: ignore[arg-type]

    backend.status = counting  # type: ignore[method-assign]
    bot.clock.advance(POLL_ROUND)
    await bot.built.poller.poll()
    assert len(asked) == 450 and len(set(asked)) == 450
    await bot.built.poller.poll()  # checked this round already: not asked again
    assert len(asked) == 450


async def test_a_round_keeps_a_few_checks_under_way_not_a_task_per_complaint(
    harness_factory,
) -> None:
    backend = ScriptedBackend(name="middleware")
    bot = await harness_factory(backend)
    await _registered(bot, 450)
    under_way, most_under_way, most_tasks = 0, 0, 0
    original = backend.status

    async def watched(receipt: Receipt, envelope: object) -> ComplaintStatus:
        nonlocal under_way, most_under_way, most_tasks
        under_way += 1
        most_under_way = max(most_under_way, under_way)
        most_tasks = max(most_tasks, len(asyncio.all_tasks()))
        try:
            await asyncio.sleep(0.001)  # a backend that takes a moment
            return await original(receipt, envelope)  # type: ignore[arg-type]
        finally:
            under_way -= 1

    backend.status = watched  # type: ignore[method-assign]
    tasks_before = len(asyncio.all_tasks())
    bot.clock.advance(POLL_ROUND)
    await bot.built.poller.poll()
    assert most_under_way == POLL_CONCURRENCY
    # The open-tasks gauge stays flat through a round (it held a page's 200 tasks before); the
    # slack is the database's own (PostgreSQL's pool).
    assert most_tasks <= tasks_before + 2 * POLL_CONCURRENCY


async def test_a_change_seen_by_status_during_a_round_is_told_once(harness_factory) -> None:
    """The poller asked the backend; before it recorded the answer, the customer's /status
    recorded the same change. The poller's view is dropped: no message about a change the
    customer has just seen."""
    backend = ScriptedBackend(name="middleware")
    bot = await harness_factory(backend)
    ada = bot.customer()
    await ada.file_complaint()
    await bot.settle()
    backend.statuses["500001"] = ComplaintStatus(code=StatusCode.IN_PROGRESS, text="open")
    gate = asyncio.Event()
    original = backend.status

    async def slow(receipt: Receipt, envelope: object) -> ComplaintStatus:
        status = await original(receipt, envelope)  # type: ignore[arg-type]
        await gate.wait()
        return status

    backend.status = slow  # type: ignore[method-assign]
    bot.clock.advance(POLL_ROUND)
    poll = asyncio.create_task(bot.built.poller.poll())
    await asyncio.sleep(0.05)
    backend.status = original  # type: ignore[method-assign]
    assert "being handled" in (await ada.send("/status 500001")).text
    gate.set()
    assert await poll == 0
    await bot.settle()
    assert _notices(bot, ada.id) == []


async def test_a_change_recorded_before_a_stop_is_told_after_the_restart(harness_factory) -> None:
    backend = ScriptedBackend(name="middleware")
    bot = await harness_factory(backend)
    ada = bot.customer()
    await ada.file_complaint()
    await bot.settle()
    backend.statuses["500001"] = ComplaintStatus(code=StatusCode.RESOLVED, text="done")
    bot.api.telegram.outage(60)
    bot.clock.advance(POLL_ROUND)
    assert await bot.built.poller.poll() == 1
    await bot.restart()
    await bot.advance(90)
    assert len(_notices(bot, ada.id, "is now resolved")) == 1


async def test_a_desk_complaint_reopened_from_the_cli_is_told(bot: BotHarness) -> None:
    ada = bot.customer()
    await ada.file_complaint()
    await bot.settle()
    assert await set_status(bot.settings, "100001", "resolved", "Refund sent.") == 0
    await bot.settle()
    assert await set_status(bot.settings, "100001", "in_progress", "Reopened: wrong amount.") == 0
    await bot.settle()
    notices = _notices(bot, ada.id)
    assert len(notices) == 2
    assert "being handled" in notices[1] and "Reopened: wrong amount." in notices[1]


async def test_the_outcome_of_a_submission_is_not_lost_to_a_failing_write(
    harness_factory,
) -> None:
    """The backend registered the complaint, then the database refused the write: the outbox
    keeps the answer and writes it again, instead of filing the complaint a second time."""
    backend = ScriptedBackend()
    bot = await harness_factory(backend)
    delivery = bot.built.services.delivery
    original = delivery.write
    failures = [OSError("disk I/O error")]

    async def flaky(*changes, owed):  # type: ignore[no-untyped-def]
        if failures and changes:
            raise failures.pop()
        return await original(*changes, owed=owed)

    delivery.write = flaky  # type: ignore[method-assign]
    ada = bot.customer()
    await ada.file_complaint()
    await bot.settle()
    assert len(backend.calls) == 1
    assert "Complaint number: 500001" in plain_text(ada.messages()[-1].text)
