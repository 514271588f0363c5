"""This module contains CustomerFollowUps: a customer writes to the operators about a complaint.

After [Write about this complaint], the customer's next message (text, a photo, an album) is
relayed to the operator chat, into the complaint's thread; a Telegram reply to any message of
the bot about a complaint is relayed the same way. The message, the thread's record and the
update are written in one transaction, so a message is relayed once. These handlers run in a
group before the draft's: what is not a follow-up goes on to the complaint conversation.
"""

from __future__ import annotations

import logging
import math
from datetime import UTC, datetime

from telegram import Message, Update, User
from telegram.ext import ApplicationHandlerStop, ContextTypes

from bot.complaint import Attachment
from bot.conversation.flow import send
from bot.conversation.presses import answer_press
from bot.i18n import Messages
from bot.messages.callbacks import Press
from bot.messages.evidence import attachment_of
from bot.messages.keyboards import write_keyboard
from bot.messages.operator_posts import OperatorPosts
from bot.messages.render import Reply
from bot.services import Services
from bot.storage.deliveries import MediaItem
from bot.storage.ledger import LedgerEntry
from bot.storage.threads import ThreadMessage

logger = logging.getLogger(__name__)

# How long the further photos of an album still belong to a message already relayed.
ALBUM_SECONDS = 30.0
# FOLLOW_UPS_PER_HOUR counts the messages of the last hour.
HOUR_SECONDS = 3600.0


class CustomerFollowUps:
    """The [Write about this complaint] button, and relaying what the customer then writes."""

    def __init__(self, services: Services, operator: OperatorPosts) -> None:
        self.s = services
        self._operator = operator

    async def on_write(self, update: Update, press: Press) -> None:
        """The button: the customer's next message is about this complaint."""
        query = update.callback_query
        assert query is not None
        user = query.from_user
        t = self.s.messages(user)
        entry = await self.s.ledger.get(int(press.token))
        if entry is None or entry.user_id != user.id:
            await answer_press(query, t("unexpected.stale_button"))
            return
        if entry.complaint_number is None:
            await answer_press(query, t("follow_up.unavailable"))
            return
        until = self.s.clock() + self.s.settings.conversation_timeout_seconds
        await self.s.threads.run(
            [
                self.s.threads.start_follow_up(user.id, entry.id, until=until),
                self.s.updates.statement(update.update_id),
            ]
        )
        self.s.updates.recorded(update.update_id)
        await answer_press(query)
        about = {"number": entry.complaint_number, "order_id": entry.order_id}
        await send(update, Reply(t("follow_up.ask", **about)))

    async def on_message(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """A message that follows up a complaint is relayed (and goes no further); any other
        goes on to the complaint conversation."""
        message = update.effective_message
        user = update.effective_user
        if message is None or user is None:
            return
        entry, album = await self._about(message, user)
        if entry is None:
            return
        await self._relay(update, message, user, entry, first_of_album=album is None)
        raise ApplicationHandlerStop

    async def on_cancel(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """/cancel while writing about a complaint: nothing is sent (a draft stays as it is)."""
        user = update.effective_user
        if user is None or not self.s.threads.may_follow_up(user.id):
            return
        if await self.s.threads.follow_up(user.id, now=self.s.clock()) is None:
            return
        await self.s.threads.run(
            [self.s.threads.end_follow_up(user.id), self.s.updates.statement(update.update_id)]
        )
        self.s.updates.recorded(update.update_id)
        await send(update, Reply(self.s.messages(user)("follow_up.cancelled")))
        raise ApplicationHandlerStop

    async def _about(self, message: Message, user: User) -> tuple[LedgerEntry | None, str | None]:
        """The complaint the message is about (None: not a follow-up), and the album it
        continues (None: a new message, acknowledged)."""
        replied = message.reply_to_message
        bot_id = message.get_bot().id
        if replied is not None and replied.from_user is not None and replied.from_user.id == bot_id:
            complaint_id = await self.s.threads.complaint_of_message(
                message.chat_id, replied.message_id
            )
            entry = await self._own(complaint_id, user)
            if entry is not None:
                return entry, None
        if not self.s.threads.may_follow_up(user.id):
            return None, None
        follow_up = await self.s.threads.follow_up(user.id, now=self.s.clock())
        if follow_up is None:
            return None, None
        if follow_up.album and follow_up.album != message.media_group_id:
            return None, None  # the album's message was relayed: this one is not about it
        return await self._own(follow_up.complaint_id, user), follow_up.album or None

    async def _own(self, complaint_id: int | None, user: User) -> LedgerEntry | None:
        entry = await self.s.ledger.get(complaint_id) if complaint_id is not None else None
        if entry is None or entry.user_id != user.id or entry.complaint_number is None:
            return None
        return entry

    async def _relay(
        self,
        update: Update,
        message: Message,
        user: User,
        entry: LedgerEntry,
        *,
        first_of_album: bool,
    ) -> None:
        t = self.s.messages(user)
        if await self._too_many(update, t, user, first_of_album=first_of_album):
            return
        attachment = attachment_of(message)
        files = (attachment,) if isinstance(attachment, Attachment) else ()
        text = (message.text or message.caption or "").strip()
        name = " ".join(part for part in (user.first_name, user.last_name) if part)
        if user.username:
            name = f"{name} (@{user.username})"
        said = ThreadMessage(
            complaint_id=entry.id,
            author="customer",
            author_name=name,
            text=text,
            attachments=files,
            created_at=self.s.clock(),
        )
        threads = self.s.threads
        if message.media_group_id:  # its further photos follow: they belong to this message
            then = threads.start_follow_up(
                user.id,
                entry.id,
                until=self.s.clock() + ALBUM_SECONDS,
                album=message.media_group_id,
            )
        else:
            then = threads.end_follow_up(user.id)
        media = [MediaItem(kind=f.kind, file_id=f.fileId) for f in files]
        posted = await self.s.delivery.owe_and_send(
            threads.add(said, source_chat_id=message.chat_id, source_message_id=message.message_id),
            then,
            self.s.updates.statement(update.update_id),
            owed=[self._operator.customer_wrote(entry, name, text, media)],
        )
        if posted is None:
            return  # relayed before (a redelivered update)
        self.s.updates.recorded(update.update_id)
        logger.info("Customer %s wrote about complaint %s", user.id, entry.id)
        if first_of_album:
            await send(update, Reply(self._sent(t, entry, posted), write_keyboard(t, entry.id)))

    async def _too_many(
        self, update: Update, t: Messages, user: User, *, first_of_album: bool
    ) -> bool:
        """FOLLOW_UPS_PER_HOUR: past it, the customer is told when they may write again and
        the message is not relayed (one customer cannot flood the operator chat)."""
        limit = self.s.settings.follow_ups_per_hour
        if not limit:
            return False
        now = self.s.clock()
        count, oldest = await self.s.threads.customer_messages_since(user.id, now - HOUR_SECONDS)
        if count < limit:
            return False
        minutes = max(1, math.ceil((oldest + HOUR_SECONDS - now) / 60))
        logger.info("Customer %s wrote %s messages within an hour; not relayed", user.id, count)
        if first_of_album:
            text = t.plural("follow_up.too_many", limit, limit=limit, minutes=minutes)
            await send(update, Reply(text))
        return True

    def _sent(self, t: Messages, entry: LedgerEntry, posted: bool) -> str:
        """The acknowledgement: sent (only once Telegram took the post: else received, to be
        posted), and when operators are back if they are away now."""
        number = entry.complaint_number or ""
        if not posted:
            return t("follow_up.received", number=number)
        hours = self.s.settings.operator_hours
        now = datetime.fromtimestamp(self.s.clock(), UTC)
        if hours is None or hours.is_open(now):
            return t("follow_up.sent", number=number)
        back = hours.next_opening(now)
        # Numbers and the zone read the same in every language ("2026-12-07 09:00 CET").
        return t(
            "follow_up.sent_after_hours", number=number, when=back.strftime("%Y-%m-%d %H:%M %Z")
        )
