"""This module contains the commands around the draft: /start, /help, /mycomplaints, /status.

It also routes button presses, and answers in group chats with a link to the private chat.
"""

from __future__ import annotations

import logging

from telegram import Update
from telegram.constants import ParseMode
from telegram.ext import ContextTypes

from bot.backends.base import BackendError, ComplaintStatus, StatusCode
from bot.conversation.flow import ComplaintFlow, send, user_of
from bot.conversation.follow_ups import CustomerFollowUps
from bot.conversation.presses import answer_press
from bot.conversation.withdrawals import CustomerWithdrawals
from bot.deeplinks import verify_payload
from bot.i18n import Messages, plural_count
from bot.messages import render
from bot.messages.callbacks import WITHDRAW_ACTIONS, Action, decode
from bot.messages.keyboards import complaints_keyboard, result_keyboard, start_keyboard
from bot.messages.render import Reply
from bot.receipts import is_news
from bot.services import Services
from bot.storage.ledger import LedgerEntry, LedgerState
from bot.storage.link_orders import LinkOrders

logger = logging.getLogger(__name__)

MY_COMPLAINTS_LIMIT = 10
# The messages of a complaint's thread shown with its status.
THREAD_SHOWN = 3


class CustomerCommands:
    """/start, /help, /mycomplaints, /status, the button router and the group-chat answer."""

    def __init__(self, services: Services, flow: ComplaintFlow) -> None:
        self.s = services
        self.flow = flow
        # [Write about this complaint] (set when there is an operator chat).
        self.follow_ups: CustomerFollowUps | None = None
        # [Withdraw] (set when the backend or the operators can be told).
        self.withdrawals: CustomerWithdrawals | None = None

    async def start(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """/start: the greeting and [Raise a complaint]; a signed deep link starts a draft."""
        user = user_of(update)
        t = self.s.messages(user)
        secret = self.s.settings.deep_link_secret
        payload = (context.args or [""])[0]
        if secret is not None and payload:
            link = verify_payload(payload, secret.get_secret_value())
            genuine = link is not None and self.s.settings.order_id_regex.fullmatch(link.order_id)
            if link is not None and genuine and not link.expired(self.s.clock()):
                notice = t("deeplink.greeting", name=user.first_name, order_id=link.order_id)
                linked = None
                if link.token is not None:
                    # Gone (another database, say): the order alone still starts the draft.
                    linked = await LinkOrders(self.s.database).get(link.token, link.order_id)
                await self.flow.begin_with_order(update, link.order_id, notice, linked)
                return
            if link is not None and genuine:
                logger.info("Expired start link from user %s", user.id)
                why = t("deeplink.expired", order_id=link.order_id)
            else:
                logger.info("Unverifiable start link from user %s", user.id)
                why = t("deeplink.unverified")
            greeting = t("start.greeting", name=user.first_name)
            await send(update, Reply(f"{why}\n\n{greeting}", start_keyboard(t)))
            return
        greeting = t("start.greeting", name=user.first_name)
        lookup = await self.flow.open(update)
        if lookup.draft is not None and lookup.draft.has_answers:
            await send(update, self.flow.unfinished(t, lookup.draft, greeting))
            return
        await send(update, Reply(greeting, start_keyboard(t)))

    async def help(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """/help, in every step; the current question follows when a draft is open."""
        t = self.s.messages(user_of(update))
        minutes = self.s.settings.conversation_timeout_minutes
        draft_open = t.plural("help.draft_open", plural_count(minutes), minutes=f"{minutes:g}")
        text = f"{t('help.text')}\n\n{draft_open}"
        if not await self.flow.repeat_question(update, text):
            await send(update, Reply(text))

    async def my_complaints(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """/mycomplaints: the customer's own complaints, newest first."""
        user = user_of(update)
        t = self.s.messages(user)
        entries = await self.s.ledger.for_customer(user.id, limit=MY_COMPLAINTS_LIMIT)
        categories = self.s.settings.complaint_categories
        await send(
            update,
            Reply(render.complaint_list(t, entries, categories), complaints_keyboard(entries)),
        )

    async def status(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """/status <number>: one of the customer's own complaints."""
        user = user_of(update)
        t = self.s.messages(user)
        number = (context.args or [""])[0].strip().lstrip("#")[:64]
        if not number:
            latest = await self.s.ledger.for_customer(user.id, limit=1)
            example = (
                latest[0].complaint_number if latest and latest[0].complaint_number else "100001"
            )
            await send(update, Reply(t("status.usage", example=example)))
            return
        entry = await self.s.ledger.find_for_customer(user.id, number)
        if entry is None:
            await send(update, Reply(t("status.not_found", number=number)))
            return
        await send(update, await self._complaint(t, entry))

    async def on_button(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Every button press: decoded, then routed; unknown data gets a polite no."""
        query = update.callback_query
        assert query is not None
        t = self.s.messages(query.from_user)
        press = decode(query.data)
        if press is None:
            await answer_press(query, t("unexpected.stale_button"))
            await self.flow.repeat_question(update, t("unexpected.stale_button"))
            return
        if press.action is Action.NEW:
            await self.flow.begin(update, context)
        elif press.action is Action.STATUS:
            await self._status_button(update, int(press.token), t)
        elif press.action is Action.WRITE:
            if self.follow_ups is None:  # no operator chat (any more): nobody would read it
                await answer_press(query, t("unexpected.stale_button"))
                return
            await self.follow_ups.on_write(update, press)
        elif press.action in WITHDRAW_ACTIONS:
            if self.withdrawals is None:
                await answer_press(query, t("unexpected.stale_button"))
                return
            await self.withdrawals.on_press(update, press)
        else:
            await self.flow.on_draft_button(update, press)

    async def _status_button(self, update: Update, ledger_id: int, t: Messages) -> None:
        query = update.callback_query
        assert query is not None
        entry = await self.s.ledger.get(ledger_id)
        if entry is None or entry.user_id != query.from_user.id:
            await answer_press(query, t("unexpected.stale_button"))
            await self.flow.repeat_question(update, t("unexpected.stale_button"))
            return
        await answer_press(query)
        await send(update, await self._complaint(t, entry))

    async def _complaint(self, t: Messages, entry: LedgerEntry) -> Reply:
        """One complaint: its status, the latest messages of its thread, and its buttons."""
        text = await self._describe(t, entry)
        thread = await self.s.threads.messages(entry.id, last=THREAD_SHOWN)
        if thread:
            text = render.fit("\n\n".join([text, render.thread_lines(t, thread)]))
        write = self.follow_ups is not None and entry.complaint_number is not None
        withdraw = False
        if self.withdrawals is not None:
            if await self.withdrawals.requested(entry):
                text = "\n\n".join([text, t("withdraw.pending")])
            # Asked after the status is read: a complaint decided just now offers no [Withdraw].
            fresh = await self.s.ledger.get(entry.id)
            withdraw = fresh is not None and await self.withdrawals.may_withdraw(fresh)
        return Reply(text, result_keyboard(t, entry.id, write=write, withdraw=withdraw))

    async def _describe(self, t: Messages, entry: LedgerEntry) -> str:
        """The status of a complaint: asked of the backend when it is registered there."""
        number = entry.complaint_number or ""
        if entry.state is LedgerState.PENDING:
            return t("status.pending", order_id=entry.order_id)
        if entry.state is not LedgerState.REGISTERED or entry.receipt is None:
            word = render.entry_status(t, entry)
            return t("status.result", number=number or "–", order_id=entry.order_id, status=word)
        if entry.backend != self.s.backend.name:
            # Registered with a backend no longer configured: the last status we know.
            return render.status_reply(t, entry, _known_status(entry))
        try:
            status = await self.s.backend.status(entry.receipt, entry.envelope)
        except BackendError as err:
            logger.warning("Status of complaint %s unavailable: %s", entry.id, err.detail)
            word = render.entry_status(t, entry)
            return t("status.unavailable", number=number, status=word)
        if is_news(status, told_code=entry.status_code, told_detail=entry.status_detail):
            # The customer sees this status now, so nobody announces it again.
            await self.s.ledger.set_status(entry, status, now=self.s.clock())
        return render.status_reply(t, entry, status)

    async def group_chat(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """A command in a group: one answer pointing to the private chat.

        Commands addressed to another bot (`/start@other_bot`) are none of our business.
        """
        message = update.effective_message
        if message is None:
            return
        command = (message.text or "").split(maxsplit=1)[0] if message.text else ""
        _, _, addressee = command.partition("@")
        if addressee and addressee.casefold() != (context.bot.username or "").casefold():
            return
        t = self.s.messages(update.effective_user)
        link = f"https://t.me/{context.bot.username}"
        await message.reply_text(
            t("group.private_only", link=link),
            parse_mode=ParseMode.HTML,
            disable_web_page_preview=True,
        )


def _known_status(entry: LedgerEntry) -> ComplaintStatus:
    try:
        code = StatusCode(entry.status_code or StatusCode.RECEIVED)
    except ValueError:
        code = StatusCode.UNKNOWN
    return ComplaintStatus(code=code, text=entry.status_text)
