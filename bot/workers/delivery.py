"""This module contains the DeliveryWorker: it sends the messages owed, until Telegram takes them.

A message is retried with backoff on network errors and 5xx answers, never sooner than a 429's
`retry_after`, until Telegram accepts it, the customer has blocked the bot, or the give-up time
has passed (operators are told). Messages to one chat go out in order, and under the
customer's lock, so they never interleave with the answers to the customer's own updates.
"""

from __future__ import annotations

import html
import logging
import random
import re
import warnings
from collections.abc import Awaitable, Callable, Iterable, Sequence
from datetime import timedelta
from typing import Any, Protocol

from telegram import (
    Bot,
    InlineKeyboardMarkup,
    InputMediaDocument,
    InputMediaPhoto,
    InputMediaVideo,
    ReactionTypeEmoji,
    ReplyParameters,
)
from telegram.constants import ParseMode
from telegram.error import BadRequest, Forbidden, RetryAfter, TelegramError
from telegram.warnings import PTBDeprecationWarning

from bot.concurrency import CustomerLocks
from bot.metrics import Metrics
from bot.storage.database import Statement
from bot.storage.deliveries import (
    Delivery,
    DeliveryState,
    DeliveryStore,
    NewDelivery,
    OutgoingMessage,
)
from bot.telegram_errors import host_of
from bot.workers.backoff import RetryPolicy
from bot.workers.claims import CLAIM_SECONDS
from bot.workers.loop import ClaimingWorker
from bot.workers.team_chat import TEAM_CHAT_RETRY, TeamChat, refuses_posting, topic_deleted

logger = logging.getLogger(__name__)

# Telegram is usually back within seconds: start retrying soon, and never wait over 30 s.
DELIVERY_RETRY = RetryPolicy(base_seconds=2.0, max_seconds=30.0, give_up_seconds=24 * 3600.0)
# How often the table is looked at when nothing woke the worker (a message written by another
# process, such as the desk CLI, is sent within this).
IDLE_POLL_SECONDS = 5.0
MAX_IN_FLIGHT = 32
_TAGS = re.compile(r"<[^>]*>")

GivenUp = Callable[[Delivery, str], Awaitable[None]]


class Placement(Protocol):
    """Where a message goes within its chat: a forum topic, or a reply to an earlier one."""

    async def place(self, delivery: Delivery) -> tuple[int | None, int | None]:
        """The message_thread_id and the message to reply to (None, None: the chat itself)."""

    async def topic_lost(self, delivery: Delivery) -> bool:
        """The delivery's topic was deleted: forgets it (True) so `place` makes a new one."""


class Confirmations(Protocol):
    """What an operator whose message was relayed is shown: delivered, or why not."""

    def delivered(self, delivery: Delivery) -> NewDelivery:
        """The mark on the operator's message once the customer has it."""

    def not_delivered(self, delivery: Delivery, reason: str) -> NewDelivery:
        """A reply to the operator's message saying why the customer cannot get it."""


class DeliveryWorker(ClaimingWorker[Delivery]):
    """Sends pending deliveries; the writer of a delivery may hand it over at once (`deliver`)."""

    def __init__(
        self,
        store: DeliveryStore,
        bot: Bot,
        locks: CustomerLocks,
        *,
        clock: Callable[[], float],
        holder: str,
        policy: RetryPolicy = DELIVERY_RETRY,
        rng: random.Random | None = None,
        on_given_up: GivenUp | None = None,
        claim_seconds: float = CLAIM_SECONDS,
        placement: Placement | None = None,
        confirmations: Confirmations | None = None,
        metrics: Metrics | None = None,
        team_chat: TeamChat | None = None,
    ) -> None:
        super().__init__(
            clock=clock,
            holder=holder,
            max_in_flight=MAX_IN_FLIGHT,
            idle_poll_seconds=IDLE_POLL_SECONDS,
            name="delivery",
            claim_seconds=claim_seconds,
        )
        self._store = store
        self._bot = bot
        self._locks = locks
        self._policy = policy
        self._rng = rng or random.Random()  # noqa: S311 - jitter, not security
        self._on_given_up = on_given_up
        self.placement = placement
        self.confirmations = confirmations
        self._metrics = metrics
        self.team_chat = team_chat

    async def owe(self, *changes: Statement, owed: Sequence[NewDelivery]) -> bool:
        """Writes `changes` with the messages they owe, then sends those at once (those of a
        chat with an earlier message still pending wait their turn); False when a guard among
        `changes` matched nothing, and nothing was written."""
        claimed = await self.write(*changes, owed=owed)
        if claimed is None:
            return False
        await self.deliver_all(claimed)
        return True

    async def owe_and_send(self, *changes: Statement, owed: Sequence[NewDelivery]) -> bool | None:
        """As `owe`, and says whether Telegram took every message owed now (False: some wait,
        for their chat or a retry); None when nothing was written."""
        claimed = await self.write(*changes, owed=owed)
        if claimed is None:
            return None
        states = await self.deliver_all(claimed)
        return len(states) == len(owed) and all(s is DeliveryState.SENT for s in states)

    async def write(
        self, *changes: Statement, owed: Sequence[NewDelivery]
    ) -> list[Delivery] | None:
        """Writes `changes` with the messages they owe; returns those this process claimed, to
        send (None when a guard matched nothing and nothing was written)."""
        if not changes and not owed:
            return []
        claimed = await self._store.write(
            *changes,
            owed=owed,
            now=self._clock(),
            holder=self.holder,
            until=self.claim_until,
        )
        if claimed is not None and len(claimed) < len(owed):
            self._wake.set()  # the others wait behind an earlier message to their chat
        return claimed

    async def deliver_all(self, deliveries: Iterable[Delivery]) -> list[DeliveryState]:
        """Sends messages this process has just written and claimed, in order; their states."""
        return [await self.deliver(delivery) for delivery in deliveries]

    async def deliver(self, delivery: Delivery) -> DeliveryState:
        """Sends one claimed message and records the outcome (PENDING: to be tried again);
        never raises."""
        self._busy.add(delivery.id)
        try:
            return await self._attempt_safely(delivery)
        finally:
            self.free(delivery.id)

    async def _claim(self, limit: int, *, now: float, until: float) -> list[Delivery]:
        return await self._store.claim_due(now=now, limit=limit, holder=self.holder, until=until)

    async def _work(self, work: Delivery) -> None:
        await self._attempt_safely(work)

    async def _attempt_safely(self, work: Delivery) -> DeliveryState:
        try:
            return await self._attempt(work)
        except Exception:
            logger.exception("Delivering message %s failed unexpectedly", work.id)
            return DeliveryState.PENDING
        finally:
            self._wake.set()  # the chat's next message may be waiting for this one

    async def _renew_claims(self, until: float) -> None:
        await self._store.renew(self.holder, until=until)

    async def _release_claims(self) -> None:
        await self._store.release(self.holder)

    async def _next_due(self) -> float | None:
        return await self._store.next_due_at()

    async def _attempt(self, delivery: Delivery) -> DeliveryState:
        now = self._clock
        team = self.team_chat if self._to_team_chat(delivery) else None
        try:
            async with self._locks.hold(delivery.chat_id):
                message_id = await self._show_placed(delivery, team)
        except Forbidden as err:
            if team is not None:  # the bot was removed from the group: the post waits
                return await self._team_chat_refused(delivery, team, "removed", err.message)
            logger.info(
                "Chat %s has blocked the bot; message %s not sent", delivery.chat_id, delivery.id
            )
            await self._store.end(delivery.id, DeliveryState.BLOCKED, err.message, now=now())
            self._count("blocked", delivery)
            await self._confirm(delivery, "blocked")
            return DeliveryState.BLOCKED
        except RetryAfter as err:
            return await self._later(
                delivery, f"Telegram asked to wait ({err.message})", _seconds(err)
            )
        except BadRequest as err:
            if team is not None and refuses_posting(err.message):
                return await self._team_chat_refused(delivery, team, "no_rights", err.message)
            return await self._refused(delivery, err.message)
        except TelegramError as err:  # network errors, timeouts, Telegram's 5xx
            return await self._later(delivery, f"{type(err).__name__}: {err.message}", None)
        if team is not None:
            team.works()
        if message_id is None:
            await self._store.end(
                delivery.id, DeliveryState.DROPPED, "nothing left to replace", now=now()
            )
            self._count("dropped", delivery)
            return DeliveryState.DROPPED
        await self._store.sent(delivery.id, message_id, now=now())
        self._count("sent", delivery)
        await self._confirm(delivery, None)
        return DeliveryState.SENT

    def _to_team_chat(self, delivery: Delivery) -> bool:
        return self.team_chat is not None and delivery.chat_id == self.team_chat.chat_id

    async def _show_placed(self, delivery: Delivery, team: TeamChat | None) -> int | None:
        """Shows the message; in the operator chat, once more in a new topic when the
        complaint's topic was deleted (the thread continues there)."""
        try:
            return await self._show_once(delivery)
        except BadRequest as err:
            if (
                team is None
                or self.placement is None
                or not topic_deleted(err.message)
                or not await self.placement.topic_lost(delivery)
            ):
                raise
        logger.warning(
            "The operator-chat topic of complaint %s was deleted; it gets a new one",
            delivery.complaint_id,
        )
        team.topic_lost()
        return await self._show_once(delivery)

    async def _team_chat_refused(
        self, delivery: Delivery, team: TeamChat, reason: str, error: str
    ) -> DeliveryState:
        """The operator chat refuses the bot (not this post): the post waits, tried again
        every few minutes for up to a week, in order with the chat's other posts."""
        team.refused(reason, error)
        now = self._clock()
        if TEAM_CHAT_RETRY.gives_up(delivery.created_at, now):
            await self._give_up(delivery, f"the operator chat refused it for a week: {error}")
            return DeliveryState.GIVEN_UP
        delay = TEAM_CHAT_RETRY.delay(delivery.attempts, None, self._rng)
        await self._store.retry(delivery.id, error, retry_at=now + delay, now=now)
        self._count("retried", delivery)
        return DeliveryState.PENDING

    async def _confirm(self, delivery: Delivery, reason: str | None) -> None:
        """Tells the operator whose message this was: a mark when delivered (`reason` None),
        else a reply saying why not. Written after the outcome, so a crash in between costs
        the mark, never the customer's message."""
        if delivery.message.confirms is None or self.confirmations is None:
            return
        if reason is None:
            owed = self.confirmations.delivered(delivery)
        else:
            owed = self.confirmations.not_delivered(delivery, reason)
        claimed = await self.write(owed=[owed])
        await self.deliver_all(claimed or [])

    async def _show_once(self, delivery: Delivery) -> int | None:
        """Shows the message; HTML Telegram cannot parse (a bug of ours) is shown as text."""
        try:
            return await self._show(delivery, delivery.message)
        except BadRequest as err:
            if "can't parse entities" not in err.message.lower() or not delivery.message.html:
                raise
            logger.error(
                "Telegram could not parse message %s (%s); sent as plain text",
                delivery.id,
                err.message,
            )
            message = delivery.message
            plain = message.model_copy(
                update={
                    "text": _plain(message.text),
                    "caption": _plain(message.caption),
                    "html": False,
                }
            )
            await self._store.decide(delivery.id, plain)
            return await self._show(delivery, plain)

    async def _show(self, delivery: Delivery, message: OutgoingMessage) -> int | None:
        """Sends, or edits into the message it replaces; the message id shown (None when a
        passing notice had nothing left to replace)."""
        keyboard = _markup(message)
        parse_mode = ParseMode.HTML if message.html else None
        if message.reaction and message.reply_to is not None:
            await self._bot.set_message_reaction(
                delivery.chat_id, message.reply_to, ReactionTypeEmoji(message.reaction)
            )
            return message.reply_to
        where = await self._where(delivery)
        if message.media:
            return await self._send_media(delivery.chat_id, message, parse_mode, keyboard, where)
        if message.photo:
            try:
                sent = await self._bot.send_photo(
                    delivery.chat_id,
                    message.photo,
                    caption=message.caption or None,
                    parse_mode=parse_mode,
                    reply_markup=keyboard,
                    **where,
                )
            except BadRequest as err:
                if "can't parse entities" in err.message.lower():
                    raise
                logger.info(
                    "Telegram refused the picture of message %s (%s); sending text",
                    delivery.id,
                    err.message,
                )
                message = message.model_copy(update={"photo": "", "caption": ""})
                await self._store.decide(delivery.id, message)
                return await self._show(delivery, message)
            if message.replace_message_id is not None:
                await self._remove(delivery.chat_id, message.replace_message_id)
            return sent.message_id
        if message.replace_message_id is not None:
            try:
                await self._bot.edit_message_text(
                    message.text,
                    chat_id=delivery.chat_id,
                    message_id=message.replace_message_id,
                    parse_mode=parse_mode,
                    reply_markup=keyboard,
                )
                return message.replace_message_id
            except BadRequest as err:
                reason = err.message.lower()
                if "not modified" in reason:  # shown already (an earlier answer was lost)
                    return message.replace_message_id
                if "can't parse entities" in reason:
                    raise
                if message.transient:
                    return None
                logger.info(
                    "Message %s cannot replace message %s (%s); sending it",
                    delivery.id,
                    message.replace_message_id,
                    err.message,
                )
                message = message.model_copy(update={"replace_message_id": None})
                await self._store.decide(delivery.id, message)
        sent = await self._bot.send_message(
            delivery.chat_id, message.text, parse_mode=parse_mode, reply_markup=keyboard, **where
        )
        return sent.message_id

    async def _where(self, delivery: Delivery) -> dict[str, Any]:
        """The topic and the message replied to, as keyword arguments of a send."""
        thread_id, reply_to = None, delivery.message.reply_to
        if reply_to is None and self.placement is not None:
            thread_id, reply_to = await self.placement.place(delivery)
        where: dict[str, Any] = {}
        if thread_id is not None:
            where["message_thread_id"] = thread_id
        if reply_to is not None:
            # A message deleted meanwhile must not hold the new one back.
            where["reply_parameters"] = ReplyParameters(reply_to, allow_sending_without_reply=True)
        return where

    async def _send_media(
        self,
        chat_id: int,
        message: OutgoingMessage,
        parse_mode: ParseMode | None,
        keyboard: InlineKeyboardMarkup | None,
        where: dict[str, Any],
    ) -> int:
        """Files by their file_id: one file as itself (with the keyboard), several as an
        album, the caption on the first; the id of the first message."""
        caption = message.caption or None
        if len(message.media) == 1:
            item = message.media[0]
            extra: dict[str, Any] = {
                "caption": caption,
                "parse_mode": parse_mode,
                "reply_markup": keyboard,
                **where,
            }
            if item.kind == "photo":
                sent = await self._bot.send_photo(chat_id, item.file_id, **extra)
            elif item.kind == "video":
                sent = await self._bot.send_video(chat_id, item.file_id, **extra)
            else:
                sent = await self._bot.send_document(chat_id, item.file_id, **extra)
            return sent.message_id
        album = [
            _input_media(item.kind, item.file_id, caption if index == 0 else None, parse_mode)
            for index, item in enumerate(message.media)
        ]
        messages = await self._bot.send_media_group(chat_id, album, **where)
        return messages[0].message_id

    async def _remove(self, chat_id: int, message_id: int) -> None:
        try:
            await self._bot.delete_message(chat_id, message_id)
        except TelegramError as err:
            logger.debug("Could not remove message %s: %s", message_id, err)

    async def _later(
        self, delivery: Delivery, error: str, retry_after: float | None
    ) -> DeliveryState:
        now = self._clock()
        if delivery.message.transient:
            await self._store.end(delivery.id, DeliveryState.DROPPED, error, now=now)
            self._count("dropped", delivery)
            return DeliveryState.DROPPED
        if self._policy.gives_up(delivery.created_at, now):
            await self._give_up(delivery, error)
            return DeliveryState.GIVEN_UP
        delay = self._policy.delay(delivery.attempts, retry_after, self._rng)
        logger.info(
            "Message %s to chat %s not delivered (%s: %s); next try in %.0f s",
            delivery.id,
            delivery.chat_id,
            host_of(self._bot.base_url),  # the host only: the URL's path holds the token
            error,
            delay,
        )
        await self._store.retry(delivery.id, error, retry_at=now + delay, now=now)
        self._count("retried", delivery)
        self._wake.set()  # the loop's next wake-up may now be sooner
        return DeliveryState.PENDING

    async def _refused(self, delivery: Delivery, error: str) -> DeliveryState:
        """Telegram refused the message itself (not a passing failure): retrying cannot help."""
        if delivery.message.transient:
            await self._store.end(delivery.id, DeliveryState.DROPPED, error, now=self._clock())
            self._count("dropped", delivery)
            return DeliveryState.DROPPED
        await self._give_up(delivery, f"Telegram refused it: {error}")
        return DeliveryState.GIVEN_UP

    def _count(self, outcome: str, delivery: Delivery) -> None:
        """One delivery outcome for /metrics, by the kind of message (card, status, …)."""
        if self._metrics is not None:
            self._metrics.deliveries.labels(outcome, delivery.kind).inc()

    async def _give_up(self, delivery: Delivery, error: str) -> None:
        logger.error(
            "Message %s (%s) to chat %s given up after %d attempts: %s",
            delivery.id,
            delivery.kind,
            delivery.chat_id,
            delivery.attempts + 1,
            error,
        )
        await self._store.end(delivery.id, DeliveryState.GIVEN_UP, error, now=self._clock())
        self._count("given_up", delivery)
        if delivery.message.confirms is not None:  # its operator is told in a reply
            await self._confirm(delivery, error)
            return
        if self._on_given_up is not None:
            try:
                await self._on_given_up(delivery, error)
            except Exception:
                logger.exception("Telling the operators about message %s failed", delivery.id)


def _seconds(err: RetryAfter) -> float:
    with warnings.catch_warnings():  # PTB announces a type change; both types are read here
        warnings.simplefilter("ignore", PTBDeprecationWarning)
        value = err.retry_after
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


def _markup(message: OutgoingMessage) -> InlineKeyboardMarkup | None:
    if not message.keyboard:
        return None
    return InlineKeyboardMarkup.de_json({"inline_keyboard": message.keyboard})


def _plain(markup: str) -> str:
    """HTML as plain text (the fallback when Telegram could not parse our markup)."""
    return html.unescape(_TAGS.sub("", markup))


def _input_media(
    kind: str, file_id: str, caption: str | None, parse_mode: ParseMode | None
) -> InputMediaPhoto | InputMediaVideo | InputMediaDocument:
    """One item of an album."""
    if kind == "photo":
        return InputMediaPhoto(file_id, caption=caption, parse_mode=parse_mode)
    if kind == "video":
        return InputMediaVideo(file_id, caption=caption, parse_mode=parse_mode)
    return InputMediaDocument(file_id, caption=caption, parse_mode=parse_mode)
