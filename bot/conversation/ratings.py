"""This module contains RatingAnswers: the star buttons under a finished complaint, and the comment.

A press is checked like [Check status]: the complaint must be the presser's own and finished.
The rating, the wait for a comment and the operators' post are one transaction; the comment
is the customer's next text while no draft is open (a handler that runs before the draft's).
A press while a draft is open asks for no comment: the next text answers the draft's question.
"""

from __future__ import annotations

import contextlib
import logging

from telegram import Message, Update
from telegram.constants import ParseMode
from telegram.error import BadRequest
from telegram.ext import ApplicationHandlerStop, ContextTypes

from bot.backends.base import FINAL_STATUSES
from bot.conversation.flow import ComplaintFlow, send, user_of
from bot.conversation.presses import answer_press
from bot.i18n import Messages
from bot.messages.callbacks import Action, Press, decode
from bot.messages.keyboards import rating_comment_keyboard
from bot.messages.operator_posts import OperatorPosts
from bot.messages.render import Reply
from bot.services import Services
from bot.storage.deliveries import NewDelivery
from bot.storage.ledger import LedgerEntry, LedgerState
from bot.storage.ratings import Rating, RatingStore

logger = logging.getLogger(__name__)

# The longest comment kept (a Telegram message holds 4096; the operators' post quotes it).
COMMENT_LIMIT = 2000
# PTB handler group of the comment check: before the draft's text handler (group 0).
COMMENT_GROUP = -1


def finished(entry: LedgerEntry) -> bool:
    """Whether the complaint is resolved, rejected or closed (only those are rated)."""
    return entry.state is LedgerState.REGISTERED and (entry.status_code or "") in FINAL_STATUSES


class RatingAnswers:
    """Stores ratings and their comments, and owes the operators a post about each."""

    def __init__(
        self,
        services: Services,
        flow: ComplaintFlow,
        operator: OperatorPosts | None,
        ratings: RatingStore,
    ) -> None:
        self.s = services
        self.flow = flow
        self._operator = operator
        self._ratings = ratings

    # -- presses ---------------------------------------------------------------------------

    async def on_press(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """[1 ★] … [5 ★] or [Skip]: only on the presser's own finished complaint."""
        query = update.callback_query
        assert query is not None
        t = self.s.messages(query.from_user)
        press = decode(query.data)
        if press is None or press.action not in (Action.RATE, Action.RATING_SKIP):
            await self._refuse(update, t)
            return
        entry = await self.s.ledger.get(int(press.token))
        if entry is None or entry.user_id != query.from_user.id:
            logger.info("Rating press of user %s on a complaint not theirs", query.from_user.id)
            await self._refuse(update, t)
            return
        if press.action is Action.RATING_SKIP:
            await self._skip(update, entry, t)
        elif finished(entry):
            await self._rate(update, entry, press, t)
        else:
            await self._refuse(update, t)

    async def _rate(self, update: Update, entry: LedgerEntry, press: Press, t: Messages) -> None:
        query = update.callback_query
        assert query is not None
        stars, now = int(press.argument), self.s.clock()
        # While a draft is open the customer's next text answers its question, so no comment
        # is asked for (it could not be told from an answer): the rating is stored and the
        # draft's question follows.
        drafting = (await self.flow.open(update)).draft is not None
        until = now if drafting else now + self.s.settings.conversation_timeout_seconds
        existing = await self._ratings.get(entry.id)
        if existing is None:
            change = self._ratings.first(
                entry.id, entry.user_id, stars, now=now, comment_until=until
            )
        elif existing.changeable(now):
            change = self._ratings.change(existing, stars, now=now, comment_until=until)
        else:
            await answer_press(query, t("rating.already"))
            return
        changed = existing is not None
        owed = (
            [self._operator.rated(entry, stars, changed=changed)]
            if self._operator is not None
            else []
        )
        claimed = await self.s.delivery.write(
            change,
            self._ratings.others_done(entry.user_id, entry.id),
            self.s.updates.statement(update.update_id),
            owed=owed,
        )
        if claimed is None:  # another press was stored meanwhile (another instance)
            await self._refuse(update, t)
            return
        self.s.updates.recorded(update.update_id)
        logger.info("Complaint %s rated %s by its customer", entry.id, stars)
        if changed:
            await answer_press(query, t("rating.changed_toast", stars=stars))
            number = entry.complaint_number or ""
            text = t("rating.changed", number=number, stars=stars)
        else:
            await answer_press(query, t("rating.thanks_toast"))
            text = t("rating.ask_comment")
        if not (drafting and await self.flow.repeat_question(update, t("rating.thanks_drafting"))):
            await send(update, Reply(text, rating_comment_keyboard(t, entry.id)))
        await self.s.delivery.deliver_all(claimed)

    async def _skip(self, update: Update, entry: LedgerEntry, t: Messages) -> None:
        query = update.callback_query
        assert query is not None
        skipped = await self.s.delivery.write(
            self._ratings.skip(entry.id, entry.user_id, now=self.s.clock()),
            self.s.updates.statement(update.update_id),
            owed=(),
        )
        if skipped is None:  # commented, skipped or timed out already
            await self._refuse(update, t)
            return
        self.s.updates.recorded(update.update_id)
        await answer_press(query)
        try:
            await query.edit_message_text(t("rating.skipped"), parse_mode=ParseMode.HTML)
        except BadRequest:
            await send(update, Reply(t("rating.skipped")))

    async def _refuse(self, update: Update, t: Messages) -> None:
        """A forged, foreign or spent button: the polite no every other button gives."""
        query = update.callback_query
        assert query is not None
        await answer_press(query, t("unexpected.stale_button"))
        with contextlib.suppress(BadRequest):
            await self.flow.repeat_question(update, t("unexpected.stale_button"))

    # -- the comment -----------------------------------------------------------------------

    async def _awaited(self, user_id: int, now: float) -> Rating | None:
        """The rating whose comment the customer's next text is: none once they have filed
        another complaint since (their text is about that one now)."""
        rating = await self._ratings.awaiting_comment(user_id, now=now)
        if rating is None:
            return None
        latest = await self.s.ledger.for_customer(user_id, limit=1)
        if latest and latest[0].created_at > rating.changed_at:
            return None
        return rating

    async def on_cancel(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """/cancel while a comment is awaited: no comment (an open draft is cancelled by the
        conversation's own /cancel instead)."""
        user = user_of(update)
        if not self._ratings.may_await(user.id):
            return
        # The wait first: it is rarely there, and an open draft is what a text usually meets.
        rating = await self._awaited(user.id, self.s.clock())
        if rating is None or await self.s.conversations.load(user.id) is not None:
            return
        skipped = await self.s.delivery.write(
            self._ratings.skip(rating.complaint_id, user.id, now=self.s.clock()),
            self.s.updates.statement(update.update_id),
            owed=(),
        )
        if skipped is None:
            return
        self.s.updates.recorded(update.update_id)
        await send(update, Reply(self.s.messages(user)("rating.skipped")))
        raise ApplicationHandlerStop

    async def on_text(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """The comment on a rating, when one is awaited and no draft is open; otherwise the
        text goes on to the draft's handler."""
        user = user_of(update)
        if not self._ratings.may_await(user.id):
            return  # the usual case: no query at all
        now = self.s.clock()
        # (The wait is looked up first: on a shared database it is rarely there, and one query
        # then settles it; the draft is read only when a comment is awaited.)
        rating = await self._awaited(user.id, now)
        if rating is None:
            return
        if await self.s.conversations.load(user.id) is not None:
            return  # a draft is open: the text answers its question
        entry = await self.s.ledger.get(rating.complaint_id)
        message = update.effective_message
        text = (message.text or "").strip() if isinstance(message, Message) else ""
        if entry is None or not text:
            return
        comment = text[:COMMENT_LIMIT]
        owed: list[NewDelivery] = []
        if self._operator is not None:
            owed.append(self._operator.rated(entry, rating.stars, comment))
        claimed = await self.s.delivery.write(
            self._ratings.comment(rating, comment, now=now),
            self.s.updates.statement(update.update_id),
            owed=owed,
        )
        if claimed is None:
            return  # the wait ended meanwhile: an ordinary text after all
        self.s.updates.recorded(update.update_id)
        logger.info("Comment on the rating of complaint %s stored", entry.id)
        await send(update, Reply(self.s.messages(user)("rating.comment_thanks")))
        await self.s.delivery.deliver_all(claimed)
        raise ApplicationHandlerStop
