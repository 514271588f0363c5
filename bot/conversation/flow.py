"""This module contains the ComplaintFlow: the handlers that walk a customer through a draft.

Each customer's step and draft live in the database (ConversationStore) and are written at
every step, so a restart continues where the customer was. Updates of one customer arrive
here in order (PerCustomerUpdateProcessor), so a load-change-save never races itself.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from pydantic import ValidationError
from telegram import InlineKeyboardMarkup, Message, ReplyKeyboardRemove, Update, User
from telegram.constants import ParseMode
from telegram.error import BadRequest
from telegram.ext import ContextTypes

from bot.complaint import Attachment, ContactInfo, build_envelope
from bot.config import DEFAULT_ORDER_ID_PATTERN
from bot.conversation import claims
from bot.conversation.presses import answer_press
from bot.conversation.questions import question, with_notice
from bot.conversation.route import advance_after_resolution, after, editable, may_skip
from bot.draft import (
    PROBLEM_MAX_LENGTH,
    PROBLEM_MIN_LENGTH,
    Draft,
    clean_order_id,
    problem_length_error,
)
from bot.i18n import Messages, plural_count
from bot.messages import render, results
from bot.messages.callbacks import Action, Press
from bot.messages.evidence import email_of
from bot.messages.keyboards import start_keyboard, unfinished_keyboard
from bot.messages.render import Reply
from bot.services import Services, customer_of
from bot.steps import Step
from bot.storage.conversations import StoredConversation
from bot.storage.deliveries import Delivery
from bot.storage.ledger import NewComplaint
from bot.storage.link_orders import LinkOrder

logger = logging.getLogger(__name__)

# Which buttons belong to which step; any other pairing is a stale or forged press.
VALID_PRESSES: dict[Action, frozenset[Step]] = {
    Action.CATEGORY: frozenset({Step.CATEGORY}),
    Action.PHOTOS_DONE: frozenset({Step.PHOTOS}),
    Action.REMOVE_FILES: frozenset({Step.PHOTOS}),
    Action.RESOLUTION: frozenset({Step.RESOLUTION}),
    Action.SKIP: claims.CLAIM_STEPS,
    Action.PICK_ITEM: frozenset({Step.ITEMS}),
    Action.ITEMS_DONE: frozenset({Step.ITEMS}),
    Action.SUBMIT: frozenset({Step.CONFIRM}),
    Action.EDIT: frozenset({Step.CONFIRM}),
    Action.CANCEL: frozenset({Step.CONFIRM}),
    Action.EDIT_FIELD: frozenset({Step.CHOOSE_EDIT}),
    Action.BACK: frozenset({Step.CHOOSE_EDIT}),
    Action.CONTINUE: frozenset(Step),
    Action.START_OVER: frozenset(Step),
}
# Sweeps of idle drafts look at this many conversations at a time, one process at a time.
IDLE_SWEEP_BATCH = 200
IDLE_SWEEP_LEASE = "idle-sweep"


@dataclass(frozen=True, slots=True)
class Lookup:
    """A customer's open draft, if any; `notified` when they were just told it ended."""

    draft: Draft | None
    notified: bool = False


def idempotency_key(user_id: int, token: str) -> str:
    """The ledger key of a draft: one complaint per draft, however often Submit is pressed."""
    return f"tg:{user_id}:{token}"


async def send(update: Update, reply: Reply) -> Message:
    """Sends a reply in the update's chat."""
    return await update.get_bot().send_message(
        chat_id_of(update), reply.text, parse_mode=ParseMode.HTML, reply_markup=reply.keyboard
    )


class ComplaintFlow:
    """The draft steps: order ID, problem, category, confirm (with edit), cancel, timeout."""

    def __init__(self, services: Services) -> None:
        self.s = services
        self.categories = services.settings.complaint_categories

    def question(self, t: Messages, draft: Draft) -> Reply:
        """What the customer is asked at the draft's current step."""
        return question(t, draft, self.s.settings)

    # -- entry -----------------------------------------------------------------------------

    async def begin(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """/complaint or [Raise a complaint]: a fresh draft, asking for the order ID; a draft
        with answers in it is never dropped without asking."""
        user = user_of(update)
        if update.callback_query is not None:
            await answer_press(update.callback_query)
        lookup = await self.open(update)
        if lookup.notified:
            pass  # it expired just now, and the customer was told: start afresh below
        elif lookup.draft is not None and lookup.draft.has_answers:
            await send(update, self.unfinished(self.s.messages(user), lookup.draft))
            return
        await self._start_draft(update)

    def unfinished(self, t: Messages, draft: Draft, greeting: str = "") -> Reply:
        """ "You have an unfinished complaint about order …" with [Continue] [Start over]."""
        if draft.order_id:
            text = t("draft.unfinished", order_id=draft.order_id)
        else:
            text = t("draft.unfinished_no_order")
        if greeting:
            text = f"{greeting}\n\n{text}"
        return Reply(text, unfinished_keyboard(t, draft.token))

    async def _start_draft(self, update: Update) -> None:
        user = user_of(update)
        draft = Draft.new(language=user.language_code)
        await self.save(update, draft)
        await send(update, self.question(self.s.messages(user), draft))

    async def begin_with_order(
        self, update: Update, order_id: str, notice: str, linked: LinkOrder | None = None
    ) -> None:
        """A signed deep link: the order is known, so the draft starts at the problem; the
        order's items (offered at ITEMS) and hash, when the link carried them."""
        user = user_of(update)
        draft = Draft.new(language=user.language_code)
        draft.order_id = order_id
        draft.from_deep_link = True
        if linked is not None:
            draft.offered, draft.order_hash = list(linked.items), linked.order_hash
        draft.step = Step.PROBLEM
        await self.save(update, draft)
        await send(update, with_notice(notice, self.question(self.s.messages(user), draft)))

    # -- messages --------------------------------------------------------------------------

    async def on_text(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """A text answer to the current question."""
        user = user_of(update)
        t = self.s.messages(user)
        lookup = await self.open(update)
        if lookup.draft is None:
            if not lookup.notified:
                await send(update, Reply(t("unexpected.no_conversation"), start_keyboard(t)))
            return
        draft, text = lookup.draft, _text_of(update)
        step = draft.step
        notice = self._take_answer(t, draft, text)
        if notice is not None:
            await self.reject_answer(update, draft, notice)
            return
        await self.save(update, draft)
        await self.ask_next(update, t, draft, left=step)

    def _take_answer(self, t: Messages, draft: Draft, text: str) -> str | None:
        """Takes a typed answer into the draft and moves on; the notice if it is not valid."""
        settings = self.s.settings
        match draft.step:
            case Step.ORDER_ID:
                order_id = clean_order_id(text, settings.order_id_regex)
                if order_id is None:
                    return t(self._invalid_order_key())
                if order_id != draft.order_id:
                    draft.leave_link()  # the shop's link no longer names this order
                draft.order_id = order_id
            case Step.PROBLEM:
                notice = self.problem_notice(t, text)
                if notice is not None:
                    return notice
                draft.problem = text.strip()
            case Step.CATEGORY:
                code = self._named(t, text, self.categories, render.category_label)
                if code is None:
                    return t("category.use_buttons")
                draft.category = code
            case Step.PHOTOS:
                return t("photos.use_buttons")
            case Step.RESOLUTION:
                resolutions = settings.complaint_resolutions
                code = self._named(t, text, resolutions, render.resolution_label)
                if code is None:
                    return t("resolution.use_buttons")
                draft.resolution = code
                advance_after_resolution(draft, settings)
                return None
            case Step.ITEMS | Step.AMOUNT | Step.REFUND_ACCOUNT:
                notice = claims.take_claim(t, draft, text, settings)
                if notice is not None:
                    return notice
            case Step.CONTACT:
                skipped = text.strip().casefold() == t("button.skip").casefold()
                if not (skipped and settings.ask_contact == "optional"):
                    email = email_of(text)
                    if email is None:
                        return t("contact.bad_email")
                    draft.email = email
            case Step.CONFIRM | Step.CHOOSE_EDIT:
                return t("confirm.use_buttons")
        draft.advance(after(draft.step, draft, settings))
        return None

    def problem_notice(self, t: Messages, text: str) -> str | None:
        """Why the problem statement cannot be taken (too short or long), or None."""
        problem_error = problem_length_error(text)
        if problem_error is None:
            return None
        return t(
            f"problem.{problem_error}",
            minimum=PROBLEM_MIN_LENGTH,
            maximum=PROBLEM_MAX_LENGTH,
            length=len(text.strip()),
        )

    async def ask_next(self, update: Update, t: Messages, draft: Draft, *, left: Step) -> None:
        """Asks the draft's question after an answer given at step `left`.

        Leaving the CONTACT step takes its reply keyboard away first (a message cannot carry
        both that and the summary's buttons).
        """
        if left is Step.CONTACT and draft.step is not Step.CONTACT:
            await send(update, Reply(t("contact.thanks"), ReplyKeyboardRemove()))
        await send(update, self.question(t, draft))

    async def on_unexpected(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """A sticker, photo, voice, unknown command or edited message: repeat the question."""
        user = user_of(update)
        t = self.s.messages(user)
        if update.edited_message is not None:
            notice = t("unexpected.edited")
        elif _text_of(update).startswith("/"):
            notice = t("unexpected.unknown_command")
        else:
            notice = t("unexpected.not_text")
        lookup = await self.open(update)
        if lookup.draft is not None:
            await self.reject_answer(update, lookup.draft, notice)
        elif not lookup.notified and update.edited_message is None:
            await send(
                update, Reply(f"{notice} {t('unexpected.no_conversation')}", start_keyboard(t))
            )

    async def cancel(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """/cancel, in any step."""
        user = user_of(update)
        t = self.s.messages(user)
        lookup = await self.open(update)
        if lookup.notified:
            return
        if lookup.draft is None:
            await send(update, Reply(t("cancel.nothing")))
            return
        await self.s.conversations.delete(user.id)
        # At the CONTACT step, the "share my phone number" keyboard goes too.
        keyboard = ReplyKeyboardRemove() if lookup.draft.step is Step.CONTACT else None
        await send(update, Reply(t("cancel.done"), keyboard))

    async def repeat_question(self, update: Update, prefix: str) -> bool:
        """Sends `prefix` and the current question if a draft is open; False if none is.

        A draft past its timeout is not open (the customer is told it expired), even when the
        sweep has not got to it yet.
        """
        user = user_of(update)
        draft = (await self.open(update)).draft
        if draft is None:
            return False
        reply = self.question(self.s.messages(user), draft)
        await send(update, with_notice(prefix, reply) if prefix else reply)
        return True

    # -- buttons ---------------------------------------------------------------------------

    async def on_draft_button(self, update: Update, press: Press) -> None:
        """A press on a draft's button: a choice, Skip/Done, Submit, Edit, a field, Back, Cancel."""
        query = update.callback_query
        assert query is not None
        user = query.from_user
        t = self.s.messages(user)
        lookup = await self.open(update)
        draft = lookup.draft
        if draft is None or not self._press_fits(press, draft):
            await self._stale_press(update, press, draft, t)
            return
        match press.action:
            case Action.SUBMIT:
                await self._submit(update, draft, t)
                return
            case Action.START_OVER:
                draft = Draft.new(language=user.language_code)
            case Action.CONTINUE:
                pass  # the current question again, in place of the offer
            case Action.CANCEL:
                await self.s.conversations.delete(user.id)
                await answer_press(query)
                await self._replace(update, Reply(t("cancel.done")))
                return
            case Action.CATEGORY:
                draft.category = press.argument
                draft.advance(after(Step.CATEGORY, draft, self.s.settings))
            case Action.PHOTOS_DONE:  # [Skip] or [Done]
                draft.album = ""
                draft.advance(after(Step.PHOTOS, draft, self.s.settings))
            case Action.REMOVE_FILES:
                draft.attachments = []
                draft.album = ""
            case Action.RESOLUTION:
                draft.resolution = press.argument
                advance_after_resolution(draft, self.s.settings)
            case Action.SKIP:
                claims.skip(draft)
                draft.advance(after(draft.step, draft, self.s.settings))
            case Action.PICK_ITEM:
                claims.toggle(draft, int(press.argument))
            case Action.ITEMS_DONE:
                claims.take_picked(draft)
                draft.advance(after(Step.ITEMS, draft, self.s.settings))
            case Action.EDIT:
                draft.step = Step.CHOOSE_EDIT
            case Action.EDIT_FIELD:
                draft.editing = True
                draft.step = Step(press.argument)
            case Action.BACK:
                draft.step = Step.CONFIRM
        await self.save(update, draft)
        await answer_press(query)
        await self._replace(update, self.question(t, draft))

    def _press_fits(self, press: Press, draft: Draft) -> bool:
        if press.token != draft.token or draft.step not in VALID_PRESSES.get(press.action, ()):
            return False
        match press.action:
            case Action.CATEGORY:
                return press.argument in self.categories
            case Action.RESOLUTION:
                return press.argument in self.s.settings.complaint_resolutions
            case Action.EDIT_FIELD:
                return press.argument in editable(draft, self.s.settings)
            case Action.PHOTOS_DONE:
                # [Skip] is not offered when photos are required (unless editing them).
                required = self.s.settings.ask_photos == "required" and not draft.editing
                return not press.argument and (bool(draft.attachments) or not required)
            case Action.REMOVE_FILES:
                return not press.argument and draft.editing and bool(draft.attachments)
            case Action.SKIP:
                return not press.argument and may_skip(draft.step, self.s.settings)
            case Action.PICK_ITEM:
                index = press.argument
                return index.isascii() and index.isdigit() and int(index) < len(draft.offered)
            case Action.ITEMS_DONE:
                return not press.argument and bool(draft.picked)
        return not press.argument

    async def _stale_press(
        self, update: Update, press: Press, draft: Draft | None, t: Messages
    ) -> None:
        """An old or forged button: say so briefly and repeat the current question."""
        query = update.callback_query
        assert query is not None
        if press.action is Action.SUBMIT:
            key = idempotency_key(query.from_user.id, press.token)
            if await self.s.ledger.get_by_key(key) is not None:
                await answer_press(query, t("submit.already"))
                if draft is not None:  # a newer draft is open: ask its question again
                    await send(update, self.question(t, draft))
                return
        await answer_press(query, t("unexpected.stale_button"))
        if draft is not None:
            await send(update, self.question(t, draft))

    def _linked(self, attachments: tuple[Attachment, ...]) -> tuple[Attachment, ...]:
        """The files, each with a signed link when MEDIA_BASE_URL is set (backend staff open
        it from the backend's own screen)."""
        links = self.s.media_links
        return links.with_links(attachments) if links is not None and attachments else attachments

    async def _submit(self, update: Update, draft: Draft, t: Messages) -> None:
        """Writes the complaint to the ledger, then acknowledges; the outbox files it."""
        query = update.callback_query
        assert query is not None
        user = query.from_user
        amount, account = claims.draft_claim(draft, self.s.settings)
        envelope = build_envelope(
            customer_of(user),
            order_id=draft.order_id,
            problem=draft.problem,
            category=draft.category,
            interest_type=self.s.settings.middleware_interest_type,
            language_code=self.s.language_code(user),
            resolution=draft.resolution,
            attachments=self._linked(tuple(draft.attachments)),
            contact=ContactInfo(phone=draft.phone or None, email=draft.email or None),
            items=draft.items,
            amount=amount,
            refund_account=account,
            order_hash=draft.order_hash if draft.from_deep_link else "",
        )
        message_id = query.message.message_id if query.message is not None else None
        # The complaint, the end of the draft and the update: one transaction.
        entry = await self.s.ledger.record(
            NewComplaint(
                key=idempotency_key(user.id, draft.token),
                user_id=user.id,
                chat_id=chat_id_of(update),
                backend=self.s.backend.name,
                envelope=envelope,
                message_id=message_id,
                from_deep_link=draft.from_deep_link,
            ),
            now=self.s.clock(),
            also=[
                self.s.conversations.deletion(user.id),
                self.s.updates.statement(update.update_id),
            ],
        )
        self.s.updates.recorded(update.update_id)
        if entry is None:  # recorded by an earlier press whose reply was lost
            await answer_press(query, t("submit.already"))
            return
        logger.info("Complaint %s confirmed by user %s", entry.id, user.id)
        self.s.outbox.wake()
        # Acknowledged at once with a toast; the summary is replaced by the card when the
        # backend answers, or by "Submitting…" if that takes more than a moment (the outbox
        # does that), which saves a Bot API call on every complaint while the backend is quick.
        # A press answered too late (the bot was down) gets no toast: the card still comes.
        await answer_press(query, t("submit.submitting_toast"))

    # -- inactivity ------------------------------------------------------------------------

    async def expire_idle(self, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Job: ends drafts idle for CONVERSATION_TIMEOUT_MINUTES and tells their customers
        (and forgets updates Telegram can no longer deliver again).

        One process sweeps at a time (a lease); each draft is deleted only if unchanged since
        it was read, together with the message that tells its customer.
        """
        holder = self.s.delivery.holder
        now = self.s.clock()
        if not await self.s.leases.acquire(IDLE_SWEEP_LEASE, holder, now=now, until=now + 300):
            return
        try:
            cutoff = now - self.s.settings.conversation_timeout_seconds
            for stored in await self.s.conversations.idle_since(cutoff, limit=IDLE_SWEEP_BATCH):
                async with self.s.locks.hold(stored.user_id):
                    notice = await self._expire(stored, cutoff)
                # Sent outside the customer's lock: the delivery takes it itself.
                await self.s.delivery.deliver_all(notice)
            await self.s.updates.prune()
        finally:
            await self.s.leases.release(IDLE_SWEEP_LEASE, holder)

    async def _expire(self, stored: StoredConversation, cutoff: float) -> list[Delivery]:
        """Ends the draft if still idle, writing the message owed; returns it to send."""
        current = await self.s.conversations.load(stored.user_id)
        if current is None or current.updated_at >= cutoff:
            return []  # the customer answered meanwhile
        draft = self._decode(current.draft_json)
        t = self.s.translator.for_language(draft.language if draft else None)
        notice = results.draft_expired(
            t,
            user_id=current.user_id,
            chat_id=current.chat_id,
            minutes=self.s.settings.conversation_timeout_minutes,
        )
        claimed = await self.s.delivery.write(self.s.conversations.expire(current), owed=[notice])
        self.s.conversations.forget(current.user_id)
        if claimed is None:
            return []  # changed meanwhile (another process)
        logger.info("Draft of user %s expired after inactivity", current.user_id)
        return claimed

    def _expired_text(self, t: Messages) -> str:
        minutes = self.s.settings.conversation_timeout_minutes
        return t.plural("timeout.expired", plural_count(minutes), minutes=f"{minutes:g}")

    # -- the draft in the database ---------------------------------------------------------

    async def open(self, update: Update) -> Lookup:
        """The customer's open draft; tells them if it expired or could not be read."""
        user = user_of(update)
        stored = await self.s.conversations.load(user.id)
        if stored is None:
            return Lookup(None)
        t = self.s.messages(user)
        timeout = self.s.settings.conversation_timeout_seconds
        if stored.updated_at < self.s.clock() - timeout:
            # The sweep has not got to it yet (or the bot was down): it has expired all the same.
            await self.s.conversations.delete(user.id)
            await send(update, Reply(self._expired_text(t)))
            return Lookup(None, notified=True)
        draft = self._decode(stored.draft_json)
        if draft is None:
            logger.error("Draft of user %s could not be read; starting over", user.id)
            await self.s.conversations.delete(user.id)
            await send(update, Reply(t("draft.lost"), start_keyboard(t)))
            return Lookup(None, notified=True)
        return Lookup(draft)

    @staticmethod
    def _decode(draft_json: str) -> Draft | None:
        try:
            return Draft.model_validate_json(draft_json)
        except ValidationError:
            return None

    async def save(self, update: Update, draft: Draft) -> None:
        """Writes the draft and its step, with the update that caused it (processed once)."""
        user = user_of(update)
        await self.s.conversations.save(
            user.id,
            chat_id_of(update),
            draft.step,
            draft.model_dump_json(),
            now=self.s.clock(),
            also=[self.s.updates.statement(update.update_id)],
        )
        self.s.updates.recorded(update.update_id)

    async def reject_answer(self, update: Update, draft: Draft, notice: str) -> None:
        """Explains what was wrong and asks the same question again (the draft stays)."""
        user = user_of(update)
        await self.save(update, draft)  # the customer is active: keep it open
        reply = self.question(self.s.messages(user), draft)
        await send(update, with_notice(notice, reply))

    def _invalid_order_key(self) -> str:
        """The explanation quotes example IDs only when they fit: with the default pattern."""
        if self.s.settings.order_id_pattern == DEFAULT_ORDER_ID_PATTERN:
            return "order.invalid"
        return "order.invalid_custom"

    @staticmethod
    def _named(
        t: Messages,
        text: str,
        choices: Mapping[str, str],
        label_of: Callable[[Messages, Mapping[str, str], str], str],
    ) -> str | None:
        """The choice whose code or label (configured or translated) was typed, not pressed."""
        wanted = text.strip().casefold()
        for code, label in choices.items():
            names = {code, label, label_of(t, choices, code)}
            if wanted in {name.casefold() for name in names}:
                return code
        return None

    # -- replying to buttons ---------------------------------------------------------------

    async def _replace(self, update: Update, reply: Reply) -> None:
        """Edits the message whose button was pressed; sends a new one if it cannot be edited
        (or when the reply has a keyboard under the message field, which no edit can add)."""
        query = update.callback_query
        assert query is not None
        keyboard = reply.keyboard
        if keyboard is not None and not isinstance(keyboard, InlineKeyboardMarkup):
            with contextlib.suppress(BadRequest):  # its buttons are spent either way
                await query.edit_message_reply_markup(reply_markup=None)
            await send(update, reply)
            return
        try:
            await query.edit_message_text(
                reply.text, parse_mode=ParseMode.HTML, reply_markup=keyboard
            )
        except BadRequest as err:
            if "not modified" in str(err).lower():
                return
            await send(update, reply)


def user_of(update: Update) -> User:
    """The customer who sent the update."""
    if update.effective_user is None:
        raise ValueError("update without a user")
    return update.effective_user


def _text_of(update: Update) -> str:
    message = update.effective_message
    return (message.text or "") if isinstance(message, Message) else ""


def chat_id_of(update: Update) -> int:
    """The chat to answer in (a private chat's id is the user's)."""
    chat = update.effective_chat
    if chat is not None:
        return chat.id
    user = update.effective_user
    assert user is not None
    return user.id
