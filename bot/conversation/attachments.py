"""This module contains the answers to what a customer sends besides text: files and contacts.

A photo, video or document sent at any step of a draft is attached (never refused for where
it was sent); the files of an album arrive as separate messages and get one answer, which is
edited as they come in. A shared contact is the answer to the CONTACT step.
"""

from __future__ import annotations

import logging

from telegram import InlineKeyboardMarkup, Message, Update
from telegram.constants import ParseMode
from telegram.error import BadRequest
from telegram.ext import ContextTypes

from bot.complaint import Attachment
from bot.conversation.flow import ComplaintFlow, chat_id_of, send, user_of
from bot.conversation.questions import with_notice
from bot.conversation.route import after
from bot.draft import MAX_ATTACHMENTS, Draft
from bot.i18n import Messages
from bot.messages.evidence import attachment_of, own_phone
from bot.messages.keyboards import start_keyboard
from bot.messages.render import Reply
from bot.steps import Step

logger = logging.getLogger(__name__)


class AttachmentAnswers:
    """The handlers of files and shared contacts, on top of the ComplaintFlow's draft."""

    def __init__(self, flow: ComplaintFlow) -> None:
        self.flow = flow

    async def on_file(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """A photo, video or document: attached to the open draft, and the question asked."""
        message = update.effective_message
        assert message is not None
        lookup = await self.flow.open(update)
        draft = lookup.draft
        t = self.flow.s.messages(user_of(update))
        if draft is None:
            if not lookup.notified:
                await send(update, Reply(t("unexpected.no_conversation"), start_keyboard(t)))
            return
        notices = [self._attach(t, draft, message)]
        if draft.step is Step.PROBLEM and message.caption:
            problem_notice = self.flow.problem_notice(t, message.caption)
            if problem_notice is None:  # the caption is the problem statement
                draft.problem = message.caption.strip()
                draft.advance(after(Step.PROBLEM, draft, self.flow.s.settings))
            else:
                notices.append(problem_notice)
        if draft.step is Step.PHOTOS and notices[0] == "":
            notices = notices[1:]  # the PHOTOS question itself counts the files
        elif not notices[0]:
            notices[0] = t("photos.kept", count=len(draft.attachments))
        reply = self.flow.question(t, draft)
        notice = "\n".join(filter(None, notices))
        if notice:
            reply = with_notice(notice, reply)
        await self._answer(update, draft, message, reply)

    def _attach(self, t: Messages, draft: Draft, message: Message) -> str:
        """Adds the message's file to the draft; "" when added, else why it was not."""
        attachment = attachment_of(message)
        if not isinstance(attachment, Attachment):
            return t(attachment)
        if any(a.fileUniqueId == attachment.fileUniqueId for a in draft.attachments):
            return ""  # the same file again (a forward of it): kept once
        if len(draft.attachments) >= MAX_ATTACHMENTS:
            return t("photos.too_many", maximum=MAX_ATTACHMENTS)
        draft.attachments.append(attachment)
        return ""

    async def _answer(self, update: Update, draft: Draft, message: Message, reply: Reply) -> None:
        """Saves the draft and answers; the later files of an album edit the first answer."""
        album = message.media_group_id or ""
        if album and album == draft.album and draft.album_answer is not None:
            await self.flow.save(update, draft)
            if await self._edit(update, draft.album_answer, reply):
                return
        draft.album = album
        draft.album_answer = None
        await self.flow.save(update, draft)
        sent = await send(update, reply)
        if album:
            draft.album_answer = sent.message_id
            await self.flow.save(update, draft)

    async def _edit(self, update: Update, message_id: int, reply: Reply) -> bool:
        """Edits the album's answer in place; False when it cannot be (then a new one is sent)."""
        if reply.keyboard is not None and not isinstance(reply.keyboard, InlineKeyboardMarkup):
            return False
        try:
            await update.get_bot().edit_message_text(
                reply.text,
                chat_id=chat_id_of(update),
                message_id=message_id,
                parse_mode=ParseMode.HTML,
                reply_markup=reply.keyboard,
            )
        except BadRequest as err:
            if "not modified" in str(err).lower():
                return True
            logger.debug("The album's answer could not be edited: %s", err)
            return False
        return True

    async def on_contact(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """A shared contact: the customer's own phone number answers the CONTACT step."""
        message = update.effective_message
        assert message is not None
        lookup = await self.flow.open(update)
        draft = lookup.draft
        if draft is None or draft.step is not Step.CONTACT:
            if not lookup.notified:
                await self.flow.on_unexpected(update, context)
            return
        t = self.flow.s.messages(user_of(update))
        phone = own_phone(message)
        if phone is None:
            await self.flow.reject_answer(update, draft, t("contact.not_yours"))
            return
        draft.phone = phone
        draft.advance(after(Step.CONTACT, draft, self.flow.s.settings))
        await self.flow.save(update, draft)
        await self.flow.ask_next(update, t, draft, left=Step.CONTACT)
