"""This module contains OperatorThreads: where a complaint's messages go in the operator chat.

In a forum supergroup each registered complaint gets its own topic (created with its first
post, named with its number and order); in any other chat its thread is a chain of replies to
the complaint's post. Posts about complaints without a number (rejected, failed) stay in the
chat itself.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from telegram import Bot
from telegram.error import BadRequest

from bot.i18n import Messages
from bot.storage.deliveries import Delivery
from bot.storage.ledger import Ledger
from bot.storage.threads import ThreadStore

logger = logging.getLogger(__name__)

# Telegram's limit on a topic's name.
TOPIC_NAME_LIMIT = 128


class OperatorThreads:
    """The delivery worker's placement of operator-chat messages about a complaint."""

    def __init__(
        self,
        bot: Bot,
        chat_id: int,
        threads: ThreadStore,
        ledger: Ledger,
        t: Messages,
        clock: Callable[[], float],
    ) -> None:
        self._bot = bot
        self.chat_id = chat_id
        self._threads = threads
        self._ledger = ledger
        self._t = t
        self._clock = clock
        self._forum: bool | None = None  # asked of Telegram once

    async def place(self, delivery: Delivery) -> tuple[int | None, int | None]:
        """The topic (forum) or the post to reply to (other chats) of the delivery's complaint."""
        if delivery.chat_id != self.chat_id or delivery.complaint_id is None:
            return None, None
        entry = await self._ledger.get(delivery.complaint_id)
        if entry is None or entry.complaint_number is None:
            return None, None
        if await self._is_forum():
            topic = await self._threads.topic(self.chat_id, entry.id)
            if topic is None:
                name = self._t(
                    "operator.topic", number=entry.complaint_number, order_id=entry.order_id
                )
                topic = await self._create_topic(entry.id, name)
            if topic is not None:
                return topic, None
        if delivery.kind == "operator-registered":
            return None, None  # the post is the thread's first message
        return None, await self._threads.root_post(self.chat_id, entry.id)

    async def topic_lost(self, delivery: Delivery) -> bool:
        """The delivery's topic was deleted in Telegram: forgets it, so `place` opens a new
        one (True), unless the complaint has none recorded or already another (False: the
        delivery fails as it would anyway, so this happens once per deleted topic)."""
        if delivery.chat_id != self.chat_id or delivery.complaint_id is None:
            return False
        topic = await self._threads.topic(self.chat_id, delivery.complaint_id)
        if topic is None:
            return False
        return await self._threads.drop_topic(self.chat_id, delivery.complaint_id, topic)

    async def _is_forum(self) -> bool:
        if self._forum is None:
            try:
                chat = await self._bot.get_chat(self.chat_id)
            except BadRequest as err:
                logger.warning(
                    "OPERATOR_CHAT_ID: Telegram does not know the chat (%s)", err.message
                )
                self._forum = False
            else:
                self._forum = bool(chat.is_forum)
        return self._forum

    async def _create_topic(self, complaint_id: int, name: str) -> int | None:
        """A new topic, or None when the bot may not create one (then: replies instead)."""
        try:
            topic = await self._bot.create_forum_topic(
                self.chat_id, name[:TOPIC_NAME_LIMIT].strip() or str(complaint_id)
            )
        except BadRequest as err:
            logger.warning(
                "Could not create a topic in the operator chat (%s); complaints are threaded as "
                "replies instead (make the bot an admin allowed to manage topics)",
                err.message,
            )
            self._forum = False
            return None
        return await self._threads.keep_topic(
            self.chat_id, complaint_id, topic.message_thread_id, self._clock()
        )
