"""This module contains /notifications and /language: the customer's own choices."""

from __future__ import annotations

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.error import BadRequest
from telegram.ext import ContextTypes

from bot.conversation.flow import ComplaintFlow, send, user_of
from bot.conversation.presses import answer_press
from bot.messages.callbacks import Action, encode
from bot.messages.render import Reply
from bot.services import Services


class PreferenceCommands:
    """Turning status notifications on and off, and choosing the language."""

    def __init__(self, services: Services, flow: ComplaintFlow) -> None:
        self.s = services
        self.flow = flow

    async def toggle_notifications(
        self, update: Update, context: ContextTypes.DEFAULT_TYPE
    ) -> None:
        """/notifications: off when on, on when off."""
        user = user_of(update)
        enabled = not self.s.preferences.get(user.id).notifications
        await self.s.preferences.set_notifications(user.id, enabled, now=self.s.clock())
        t = self.s.messages(user)
        await send(update, Reply(t("notifications.on" if enabled else "notifications.off")))

    async def choose_language(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """/language: one button per shipped catalogue, each named in its own language."""
        t = self.s.messages(user_of(update))
        translator = self.s.translator
        buttons = [
            InlineKeyboardButton(
                translator.for_language(code)("language.name"),
                callback_data=encode(Action.LANGUAGE, code),
            )
            for code in translator.languages
        ]
        await send(update, Reply(t("language.choose"), InlineKeyboardMarkup([buttons])))

    async def on_language_button(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """A language button: remember the choice and answer in the new language."""
        query = update.callback_query
        assert query is not None
        # PTB lets a press without data past the handler's pattern: check the action here too.
        action, _, code = str(query.data or "").partition(":")
        if action != Action.LANGUAGE or code not in self.s.translator.languages:
            stale = self.s.messages(query.from_user)("unexpected.stale_button")
            await answer_press(query, stale)
            await self.flow.repeat_question(update, stale)
            return
        await self.s.preferences.set_language(query.from_user.id, code, now=self.s.clock())
        t = self.s.messages(query.from_user)
        await answer_press(query)
        try:
            await query.edit_message_text(t("language.set"))
        except BadRequest as err:
            if "not modified" not in err.message.lower():  # a second tap on the same button
                raise
            return
        await self.flow.repeat_question(update, "")  # the open question, in the new language
