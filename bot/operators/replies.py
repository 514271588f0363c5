"""This module contains OperatorReplies: an operator answers a customer from the operator chat.

An operator replies (Telegram's reply) to a message of a complaint's thread in the operator
chat, or writes `/reply 100042 text`. The customer is owed "Re: complaint 100042 (order …)"
with the text or the photo; it is written with the thread's message and the update in one
transaction, so it is relayed once, and delivered until Telegram takes it. The operator's
message then gets a mark, or a reply saying why the customer could not be reached.
"""

from __future__ import annotations

import logging

from telegram import Message, Update
from telegram.constants import ParseMode
from telegram.error import TelegramError
from telegram.ext import ContextTypes

from bot.complaint import Attachment
from bot.i18n import Messages
from bot.messages.evidence import attachment_of
from bot.messages.keyboards import write_keyboard
from bot.messages.render import CAPTION_LIMIT, fit
from bot.messages.results import keyboard_rows
from bot.operators.chat import OPERATOR_LANGUAGE, OperatorChat
from bot.services import Services
from bot.storage.deliveries import MediaItem, NewDelivery, OutgoingMessage
from bot.storage.ledger import LedgerEntry
from bot.storage.pseudonyms import OPERATOR_REPLY
from bot.storage.threads import ThreadMessage
from bot.workers.announcements import Announcements

logger = logging.getLogger(__name__)


class OperatorReplies:
    """The handlers of operators' answers in OPERATOR_CHAT_ID."""

    def __init__(
        self, services: Services, operator: OperatorChat, announcements: Announcements
    ) -> None:
        self.s = services
        self._operator = operator
        self._announcements = announcements
        self._t: Messages = services.translator.for_language(OPERATOR_LANGUAGE)

    async def on_reply(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """A message that replies to one of the bot's messages about a complaint is relayed;
        anything else in the chat stays among the operators."""
        message = update.effective_message
        if message is None or not self._answers_the_bot(message):
            return
        replied = message.reply_to_message
        assert replied is not None
        complaint_id = await self.s.threads.complaint_of_message(
            self._operator.chat_id, replied.message_id
        )
        entry = await self.s.ledger.get(complaint_id) if complaint_id is not None else None
        if entry is None or entry.complaint_number is None:
            return
        await self._relay(update, message, entry, message.text or message.caption or "")

    async def on_reply_command(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """`/reply NUMBER text`: relayed to the customer of that complaint."""
        message = update.effective_message
        if message is None:
            return
        # "/reply", the number, and the text as the operator typed it (line breaks kept).
        parts = (message.text or "").split(None, 2)
        if len(parts) < 3:
            await self._answer(message, self._t("operator.reply_usage"))
            return
        number, text = parts[1], parts[2]
        entry = await self.s.ledger.find_by_number(self.s.backend.name, number)
        if entry is None:
            await self._answer(message, self._t("operator.reply_unknown", number=number))
            return
        await self._relay(update, message, entry, text)

    def _answers_the_bot(self, message: Message) -> bool:
        """Whether the message is a Telegram reply to one of the bot's own messages (in a
        forum, a message in a topic "replies" to the topic's first message: not an answer)."""
        replied = message.reply_to_message
        if replied is None or replied.forum_topic_created is not None:
            return False
        return replied.from_user is not None and replied.from_user.id == message.get_bot().id

    async def _relay(self, update: Update, message: Message, entry: LedgerEntry, text: str) -> None:
        attachment = attachment_of(message)
        files = (attachment,) if isinstance(attachment, Attachment) else ()
        if not text.strip() and not files:
            await self._answer(message, self._t("operator.reply_usage"))
            return
        author = message.from_user.first_name if message.from_user is not None else "operator"
        said = ThreadMessage(
            complaint_id=entry.id,
            author="operator",
            author_name=author,
            text=text.strip(),
            attachments=files,
            created_at=self.s.clock(),
        )
        owed = self._to_customer(entry, said, (message.chat_id, message.message_id))
        relayed = await self.s.delivery.owe(
            self.s.threads.add(
                said, source_chat_id=message.chat_id, source_message_id=message.message_id
            ),
            self.s.updates.statement(update.update_id),
            owed=[owed],
        )
        if relayed:
            self.s.updates.recorded(update.update_id)
            logger.info(
                "Operator %s answered complaint %s",
                message.from_user and message.from_user.id,
                entry.id,
            )

    def _to_customer(
        self, entry: LedgerEntry, said: ThreadMessage, confirms: tuple[int, int]
    ) -> NewDelivery:
        """ "Re: complaint N (order X): …" in the customer's language, with the photo if any."""
        t = self._announcements.messages_for(entry)
        about = {"number": entry.complaint_number or "", "order_id": entry.order_id}
        keyboard = keyboard_rows(write_keyboard(t, entry.id))
        if said.attachments:
            item = said.attachments[0]
            caption = (
                t("reply.from_operators", text=said.text, **about)
                if said.text
                else t("reply.file_from_operators", **about)
            )
            message = OutgoingMessage(
                text="",
                caption=fit(caption, CAPTION_LIMIT),
                media=[MediaItem(kind=item.kind, file_id=item.fileId)],
                keyboard=keyboard,
                confirms=confirms,
            )
        else:
            message = OutgoingMessage(
                text=fit(t("reply.from_operators", text=said.text, **about)),
                keyboard=keyboard,
                confirms=confirms,
            )
        return NewDelivery(
            user_id=entry.user_id,
            chat_id=entry.chat_id,
            kind=OPERATOR_REPLY,
            message=message,
            complaint_id=entry.id,
        )

    async def _answer(self, message: Message, text: str) -> None:
        """A short answer to the operator (best effort: it is about their own message)."""
        try:
            await message.reply_text(text, parse_mode=ParseMode.HTML)
        except TelegramError as err:
            logger.info("Could not answer in the operator chat: %s", err)
