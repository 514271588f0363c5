"""This module contains the simulated customers, and the loopback Telegram that routes replies."""

from __future__ import annotations

import asyncio
import random
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from bot.loopback.customer import CustomerUpdates, make_user
from bot.loopback.telegram import BotApiError, ChatMessage, LoopbackTelegram

# Telegram answers getUpdates with at most 100 updates (the bots ask for the default limit).
GET_UPDATES_LIMIT = 100
CATEGORY_LABEL = "Delivery"
SUBMIT_LABEL = "Submit"
# The card: ours says "Complaint number:" and "Your complaint is registered", the baseline
# "Complaint number: N". ("could not be registered" is a failure and must not match.)
CARD_MARKERS = ("Complaint number", "complaint is registered")
PROBLEM_TEXT = "The parcel arrived two weeks late and the box was crushed."
# The steps of a complaint, each one update of the customer's.
STEPS = ("complaint", "order", "problem", "category", "submit")

clock = time.perf_counter


@dataclass(frozen=True, slots=True)
class Reply:
    """One Bot API call the bot made towards a customer, as the customer sees it."""

    method: str
    text: str
    message: ChatMessage | None
    at: float

    def has_button(self, label: str) -> bool:
        """Whether its message carries an inline button with this label."""
        return self.message is not None and label in self.message.buttons


def is_message(reply: Reply) -> bool:
    """A message sent or edited (not a button's toast)."""
    return reply.message is not None


def is_card(reply: Reply) -> bool:
    """The result card with the complaint number."""
    return reply.message is not None and any(marker in reply.text for marker in CARD_MARKERS)


def has_button(label: str) -> Callable[[Reply], bool]:
    """A message with an inline button of this label."""
    return lambda reply: reply.has_button(label)


@dataclass
class Samples:
    """Latencies in seconds; `censored` ones were still waiting when the phase ended."""

    values: list[float] = field(default_factory=list)
    censored: list[float] = field(default_factory=list)

    def add(self, seconds: float) -> None:
        self.values.append(seconds)

    def percentile(self, p: float) -> tuple[float, bool] | None:
        """The p-th percentile (nearest rank), and whether it is only a lower bound."""
        merged = sorted([(v, False) for v in self.values] + [(v, True) for v in self.censored])
        if not merged:
            return None
        rank = max(1, min(len(merged), round(p / 100 * len(merged) + 0.5)))
        value, censored = merged[rank - 1]
        # Past a censored value every higher rank is unknown: report the bound.
        if any(c for _, c in merged[:rank]):
            return value, True
        return value, censored

    def __len__(self) -> int:
        return len(self.values) + len(self.censored)


@dataclass
class Tally:
    """What the customers of one phase did and saw."""

    step_first_reply: Samples = field(default_factory=Samples)
    by_step: dict[str, Samples] = field(default_factory=lambda: {s: Samples() for s in STEPS})
    submit_to_card: Samples = field(default_factory=Samples)
    updates_sent: int = 0
    updates_answered: int = 0
    conversations_completed: int = 0
    conversations_failed: int = 0
    opened: int = 0


class BenchTelegram(LoopbackTelegram):
    """LoopbackTelegram that routes each call to its customer, and counts calls (and the calls
    it refused, e.g. answers to button presses older than 15 s) by method."""

    def __init__(self) -> None:
        super().__init__()
        self.customers: dict[int, Customer] = {}
        self.queries: dict[str, Customer] = {}
        self.counts: Counter[str] = Counter()
        self.refused: Counter[str] = Counter()
        self.listeners.append(self._count)

    def _count(self, call: Any) -> None:
        self.counts[call.method] += 1

    def call(
        self,
        method: str,
        params: dict[str, Any],
        uploads: dict[str, tuple[str, bytes]] | None = None,
    ) -> Any:
        """Answers the call, then tells the customer it concerns (the message is stored)."""
        try:
            result = super().call(method, params, uploads)
        except BotApiError:
            self.refused[method] += 1
            raise
        finally:
            self.calls.clear()  # the benchmark keeps counts, not a record of every call
        now = clock()
        if method == "answerCallbackQuery":
            customer = self.queries.pop(str(params.get("callback_query_id")), None)
            if customer is not None:
                customer.receive(Reply(method, str(params.get("text") or ""), None, now))
            return result
        chat_id = params.get("chat_id")
        if chat_id is None:
            return result
        customer = self.customers.get(int(chat_id))
        if customer is not None:
            message = None
            if isinstance(result, dict) and "message_id" in result:
                message = self.messages.get((int(chat_id), int(result["message_id"])))
            customer.receive(Reply(method, message.text if message else "", message, now))
        return result

    async def get_updates(self, offset: int, wait_seconds: float) -> list[dict[str, Any]]:
        """As Telegram: at most GET_UPDATES_LIMIT updates per answer."""
        updates = await super().get_updates(offset, wait_seconds)
        return updates[:GET_UPDATES_LIMIT]

    def check(self) -> None:
        """Raises if an update could not be handed to the bot (polled updates cannot fail)."""


class StepTimeout(Exception):
    """The bot did not answer a step before the phase's hard stop."""


class Customer:
    """One simulated customer walking the complaint flow, one update at a time."""

    def __init__(
        self, telegram: BenchTelegram, user_id: int, tally: Tally, *, think_seconds: float = 0.0
    ) -> None:
        self.telegram = telegram
        self.updates = CustomerUpdates(make_user(user_id, f"C{user_id}"))
        self.tally = tally
        self.think_seconds = think_seconds
        # Human pauses vary: each one is drawn from [0.5, 1.5] x think_seconds (reproducibly).
        self._rng = random.Random(user_id)
        self.order_id = f"A{user_id}"
        self._want: Callable[[Reply], bool] | None = None
        self._got: asyncio.Future[Reply] | None = None
        self._first_at: float | None = None
        self._seen: set[tuple[int, int]] = set()
        # When the current step's update was delivered (None while thinking).
        self.sent_at: float | None = None
        telegram.customers[self.updates.id] = self

    def receive(self, reply: Reply) -> None:
        """A call of the bot in this customer's chat (or to their button press)."""
        if reply.message is not None:
            self._seen.add((reply.message.chat_id, reply.message.message_id))
        if self._got is None or self._got.done():
            return
        if self._first_at is None:
            self._first_at = reply.at
        if self._want is not None and self._want(reply):
            self._got.set_result(reply)

    async def step(
        self, name: str, update: dict[str, Any], want: Callable[[Reply], bool], stop: float
    ) -> Reply:
        """Sends one update and waits for the reply `want` accepts (until `stop`)."""
        self.sent_at = None
        if self.think_seconds > 0:
            await asyncio.sleep(self.think_seconds * self._rng.uniform(0.5, 1.5))
        if clock() >= stop:
            raise StepTimeout  # the phase is over: nothing sent, nothing to measure
        self._got = asyncio.get_running_loop().create_future()
        self._want, self._first_at = want, None
        if "callback_query" in update:
            self.telegram.queries[update["callback_query"]["id"]] = self
        sent = self.sent_at = clock()
        self.telegram.deliver(update)
        self.tally.updates_sent += 1
        try:
            async with asyncio.timeout(max(0.0, stop - sent)):
                reply = await self._got
        except TimeoutError:
            self._record(name, sent)
            raise StepTimeout from None
        finally:
            self._got = None
        self._record(name, sent)
        return reply

    def _record(self, name: str, sent: float) -> None:
        """The step's latency to the first reply (a lower bound if none came)."""
        for samples in (self.tally.step_first_reply, self.tally.by_step[name]):
            if self._first_at is None:
                samples.censored.append(clock() - sent)
            else:
                samples.add(self._first_at - sent)
        if self._first_at is not None:
            self.tally.updates_answered += 1

    async def converse(self, stop: float) -> None:
        """The whole flow: /complaint, order, problem, Delivery, Submit, and the card."""
        self.forget()
        complaint, order, problem = (
            self.updates.text("/complaint"),
            self.updates.text(self.order_id),
            self.updates.text(PROBLEM_TEXT),
        )
        await self.step("complaint", complaint, is_message, stop)
        await self.step("order", order, is_message, stop)
        question = await self.step("problem", problem, has_button(CATEGORY_LABEL), stop)
        summary = await self._press(
            "category", question, CATEGORY_LABEL, has_button(SUBMIT_LABEL), stop
        )
        try:
            card = await self._press("submit", summary, SUBMIT_LABEL, is_card, stop)
        except StepTimeout:
            if self.sent_at is not None:
                self.tally.submit_to_card.censored.append(clock() - self.sent_at)
            raise
        assert self.sent_at is not None
        self.tally.submit_to_card.add(card.at - self.sent_at)

    async def open_partially(self, steps: int, stop: float) -> None:
        """Starts a complaint and answers `steps - 1` questions, leaving it open."""
        await self.step("complaint", self.updates.text("/complaint"), is_message, stop)
        if steps >= 2:
            await self.step("order", self.updates.text(self.order_id), is_message, stop)
        if steps >= 3:
            problem = self.updates.text(PROBLEM_TEXT)
            await self.step("problem", problem, has_button(CATEGORY_LABEL), stop)

    async def run(
        self, *, until: float, stop: float, conversations: int | None, start_delay: float = 0.0
    ) -> None:
        """Complaint after complaint while `until` has not passed (at most `conversations`)."""
        if start_delay > 0:
            await asyncio.sleep(start_delay)
        done = 0
        while (conversations is None or done < conversations) and clock() < until:
            try:
                await self.converse(stop)
            except StepTimeout:
                self.tally.conversations_failed += 1
                return
            done += 1
            self.tally.conversations_completed += 1

    def forget(self) -> None:
        """Drops the bot's messages in this chat from the loopback (keeps its memory flat)."""
        for key in self._seen:
            self.telegram.messages.pop(key, None)
        self._seen.clear()

    async def _press(
        self, name: str, reply: Reply, label: str, want: Callable[[Reply], bool], stop: float
    ) -> Reply:
        assert reply.message is not None
        data = reply.message.callback_data(label)
        return await self.step(name, self.updates.press(reply.message, data), want, stop)
