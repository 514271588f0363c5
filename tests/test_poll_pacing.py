"""A lone customer's next poll goes out at once; several customers' polls wait to gather updates."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from telegram.request import BaseRequest, RequestData

from bot import poll_pacing
from bot.poll_pacing import PacedPolls, PollPacer
from tests.helpers.driver import FakeClock


def _answer(*update_ids: int) -> bytes:
    updates = [{"update_id": n, "message": {"text": '"update_id"'}} for n in update_ids]
    return json.dumps({"ok": True, "result": updates}).encode()


class _Answers(BaseRequest):
    """Answers each call with the next payload."""

    def __init__(self, *payloads: bytes) -> None:
        self.payloads = list(payloads)

    @property
    def read_timeout(self) -> float | None:
        """No default."""
        return None

    async def initialize(self) -> None:
        """Nothing to open."""

    async def shutdown(self) -> None:
        """Nothing to close."""

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: Any = None,
        write_timeout: Any = None,
        connect_timeout: Any = None,
        pool_timeout: Any = None,
    ) -> tuple[int, bytes]:
        return 200, self.payloads.pop(0)


def test_updates_are_counted_from_the_answer_not_from_text_quoting_them() -> None:
    pacer = PollPacer()
    pacer.received(_answer(1, 2, 3))
    assert pacer.outstanding == 3


def test_a_lone_customer_is_never_kept_waiting() -> None:
    clock = FakeClock()
    pacer = PollPacer(clock)
    for _ in range(5):
        pacer.received(_answer(1))
        assert not pacer.busy
        pacer.customer(42)
        clock.advance(0.005)
        pacer.processed()
        assert not pacer.busy


def test_several_updates_in_hand_or_customers_taking_turns_make_polls_wait() -> None:
    clock = FakeClock()
    pacer = PollPacer(clock)
    pacer.received(_answer(1, 2))
    assert pacer.busy
    pacer.processed()
    pacer.processed()
    pacer.processed()  # one more than received (a webhook's update) never goes below nothing
    assert pacer.outstanding == 0
    pacer.customer(1)
    clock.advance(1)
    pacer.customer(2)
    assert pacer.busy
    clock.advance(poll_pacing.SEVERAL_CUSTOMERS_SECONDS * 1.01)
    assert not pacer.busy
    pacer.received(_answer(3, 4))
    pacer.reset()
    assert not pacer.busy


async def test_only_a_busy_poll_pauses(monkeypatch: pytest.MonkeyPatch) -> None:
    pauses: list[float] = []

    async def pause(seconds: float) -> None:
        pauses.append(seconds)

    monkeypatch.setattr(poll_pacing.asyncio, "sleep", pause)
    pacer = PollPacer()
    polls = PacedPolls(_Answers(_answer(1, 2), _answer(), b'{"ok":true,"result":true}'), pacer)
    await polls.do_request("https://api/bot1:x/getUpdates", "POST")
    assert pauses == [] and pacer.outstanding == 2
    await polls.do_request("https://api/bot1:x/getUpdates", "POST")
    assert pauses == [poll_pacing.BATCH_PAUSE_SECONDS]
    await polls.do_request("https://api/bot1:x/deleteWebhook", "POST")
    assert pauses == [poll_pacing.BATCH_PAUSE_SECONDS]


async def test_with_max_in_hand_updates_unprocessed_the_next_poll_waits_for_room() -> None:
    pacer = PollPacer()
    many = poll_pacing.MAX_IN_HAND
    polls = PacedPolls(_Answers(_answer(*range(1, many + 1)), _answer(many + 1)), pacer)
    await polls.do_request("https://api/bot1:x/getUpdates", "POST")
    assert pacer.outstanding == many

    waiting = asyncio.ensure_future(polls.do_request("https://api/bot1:x/getUpdates", "POST"))
    await asyncio.sleep(0.05)
    assert not waiting.done()  # Telegram keeps the rest until there is room
    pacer.processed()  # one update done: room for more
    await asyncio.wait_for(waiting, 1)
    assert pacer.outstanding == many


async def test_the_wait_for_room_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(poll_pacing, "ROOM_WAIT_SECONDS", 0.05)
    pacer = PollPacer()
    pacer.received(_answer(*range(1, poll_pacing.MAX_IN_HAND + 1)))
    await asyncio.wait_for(pacer.room(), 1)  # a count that never came down stops nothing
