"""This module contains CustomerWithdrawals: [Withdraw] on a complaint not yet decided.

The press asks to confirm; [Yes, withdraw it] writes the withdrawal (once per complaint) with
the update in one transaction, and the WithdrawalWorker tells the backend: BizKitHub's
set-status, the local desk's status, or, where the API has no way, the operator chat.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable

from telegram import Update
from telegram.constants import ParseMode
from telegram.error import BadRequest

from bot.backends.base import FINAL_STATUSES, StatusCode
from bot.conversation.flow import send
from bot.conversation.presses import answer_press
from bot.messages.callbacks import Action, Press
from bot.messages.keyboards import withdraw_keyboard
from bot.messages.render import Reply
from bot.services import Services
from bot.storage.ledger import LedgerEntry, LedgerState
from bot.storage.withdrawals import WithdrawalStore

logger = logging.getLogger(__name__)


class CustomerWithdrawals:
    """[Withdraw], its confirmation, and whether a complaint offers it."""

    def __init__(
        self,
        services: Services,
        store: WithdrawalStore,
        *,
        wake: Callable[[], None],
        offered: bool,
    ) -> None:
        self.s = services
        self._store = store
        self._wake = wake  # the worker that tells the backend
        # The backend can be told, or there is an operator chat to tell: else not offered.
        self._offered = offered

    async def may_withdraw(self, entry: LedgerEntry) -> bool:
        """Whether the complaint is registered, not yet decided, and not withdrawn already."""
        if not self._offered or entry.state is not LedgerState.REGISTERED:
            return False
        if entry.receipt is None or entry.backend != self.s.backend.name:
            return False
        try:
            code = StatusCode(entry.status_code or StatusCode.RECEIVED)
        except ValueError:
            code = StatusCode.UNKNOWN
        return code not in FINAL_STATUSES and await self._store.get(entry.id) is None

    async def requested(self, entry: LedgerEntry) -> bool:
        """Whether the customer asked to withdraw it and the backend is still being told."""
        withdrawal = await self._store.get(entry.id)
        return withdrawal is not None and withdrawal.state == "pending"

    async def on_press(self, update: Update, press: Press) -> None:
        """[Withdraw], [Yes, withdraw it] or [No, keep it]."""
        query = update.callback_query
        assert query is not None
        t = self.s.messages(query.from_user)
        entry = await self.s.ledger.get(int(press.token))
        if entry is None or entry.user_id != query.from_user.id:
            await answer_press(query, t("unexpected.stale_button"))
            return
        about = {"number": entry.complaint_number or "", "order_id": entry.order_id}
        if press.action is Action.WITHDRAW_NO:
            await answer_press(query)
            await self._replace(update, Reply(t("withdraw.kept", **about)))
            return
        if not await self.may_withdraw(entry):
            await answer_press(query, t("withdraw.not_possible"))
            return
        if press.action is Action.WITHDRAW:
            await answer_press(query)
            await send(update, Reply(t("withdraw.ask", **about), withdraw_keyboard(t, entry.id)))
            return
        written = await self.s.database.batch(
            self._store.request(entry.id, entry.backend, now=self.s.clock()),
            self.s.updates.statement(update.update_id),
        )
        if written is None:  # a second press, or another instance was quicker
            await answer_press(query, t("withdraw.not_possible"))
            return
        self.s.updates.recorded(update.update_id)
        logger.info("Customer %s withdraws complaint %s", query.from_user.id, entry.id)
        self._wake()
        await answer_press(query)
        await self._replace(update, Reply(t("withdraw.requested", **about)))

    async def _replace(self, update: Update, reply: Reply) -> None:
        """The question's message becomes the answer (a new message if it cannot be edited)."""
        query = update.callback_query
        assert query is not None
        try:
            await query.edit_message_text(reply.text, parse_mode=ParseMode.HTML)
        except BadRequest:
            with contextlib.suppress(BadRequest):
                await query.edit_message_reply_markup(reply_markup=None)
            await send(update, reply)
