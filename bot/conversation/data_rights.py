"""This module contains DataRights: /mydata, /forgetme, finishing erasures, and retention."""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import html
import json
import logging
from datetime import UTC, datetime

from telegram import InputFile, Update
from telegram.constants import ParseMode
from telegram.error import BadRequest
from telegram.ext import ContextTypes

from bot.config import ConfigError
from bot.conversation.flow import chat_id_of, send, user_of
from bot.conversation.presses import answer_press
from bot.i18n import Messages
from bot.messages.callbacks import FORGET_SIGNATURE_DIGITS, Action, decode
from bot.messages.keyboards import forget_keyboard
from bot.messages.render import Reply
from bot.services import Services
from bot.storage.customer_data import RETENTION_BATCH, CustomerData
from bot.storage.erasures import Erasure, Erasures, WaitingErasure
from bot.storage.media_cache import FileCache
from bot.storage.ratings import RatingStore

logger = logging.getLogger(__name__)

DAY_SECONDS = 86400.0
# Telegram takes documents of up to 50 MB from a bot.
MAX_DOCUMENT_BYTES = 50 * 1024 * 1024
# Rounds run by one instance at a time (leases), for at most this long.
ROUND_SECONDS = 300.0


def export_json(document: dict[str, object]) -> bytes:
    """The export as the customer gets it: readable JSON, their own script kept (UTF-8)."""
    return json.dumps(document, ensure_ascii=False, indent=2).encode()


class DataRights:
    """The customer's data rights (export, erasure) and the data's retention."""

    def __init__(self, services: Services, data: CustomerData, ratings: RatingStore) -> None:
        self.s = services
        self.data = data
        self.erasures = Erasures(services.database)
        self._ratings = ratings
        cache_dir = services.settings.media_cache_dir
        self._cache = FileCache(cache_dir) if cache_dir is not None else None

    def _key(self) -> str:
        key = self.s.settings.pseudonym_key
        if key is None:
            raise ConfigError("PSEUDONYM_SECRET: is not set (nor TELEGRAM_BOT_TOKEN)")
        return key

    # -- /mydata ---------------------------------------------------------------------------

    async def my_data(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """/mydata: everything stored about the customer, as a JSON file."""
        user = user_of(update)
        t = self.s.messages(user)
        now = self.s.clock()
        content = export_json(await self.data.export(user.id, now=now))
        if len(content) > MAX_DOCUMENT_BYTES:
            logger.warning("The data of user %s exceed what Telegram takes", user.id)
            await send(update, Reply(t("mydata.too_big")))
            return
        day = datetime.fromtimestamp(now, UTC).date().isoformat()
        await update.get_bot().send_document(
            chat_id_of(update),
            InputFile(content, filename=f"mydata-{day}.json"),
            caption=t("mydata.caption"),
            parse_mode=ParseMode.HTML,
        )
        logger.info("User %s exported their data", user.id)

    # -- /forgetme -------------------------------------------------------------------------

    async def forget_me(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """/forgetme: what is erased, and [Yes, forget me] [No]."""
        user = user_of(update)
        t = self.s.messages(user)
        asked_at = str(int(self.s.clock()))
        signature = self._signature(user.id, asked_at)
        await send(update, Reply(t("forgetme.ask"), forget_keyboard(t, asked_at, signature)))

    def _signature(self, user_id: int, asked_at: str) -> str:
        """Binds a [Yes, forget me] button to its customer and time: a forged or copied press
        (another customer's, made-up data) does not verify."""
        digest = hmac.new(
            self._key().encode(), f"forget:{user_id}:{asked_at}".encode(), hashlib.sha256
        )
        return digest.hexdigest()[:FORGET_SIGNATURE_DIGITS]

    async def on_press(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """[Yes, forget me] (verified, then the erasure) or [No]."""
        query = update.callback_query
        assert query is not None
        user = query.from_user
        t = self.s.messages(user)
        press = decode(query.data)
        if press is not None and press.action is Action.KEEP:
            await answer_press(query)
            await self._edit(update, t("forgetme.kept"))
            return
        now = self.s.clock()
        if (
            press is None
            or press.action is not Action.FORGET
            or not hmac.compare_digest(press.argument, self._signature(user.id, press.token))
            or not 0 <= now - int(press.token) <= self.s.settings.conversation_timeout_seconds
        ):
            logger.info("Refused a forget press of user %s (forged or expired)", user.id)
            await answer_press(query, t("unexpected.stale_button"))
            return
        erasure = await self.forget(user.id, now=now)
        await answer_press(query)
        await self._edit(update, self._told(t, erasure))
        logger.info("User %s asked to be forgotten", user.id)

    async def forget(self, user_id: int, *, now: float) -> Erasure:
        """Erases the customer (bot/storage/erasures.py) and what this process keeps of
        them in memory and in the media cache."""
        erasure = await self.erasures.request(user_id, self._key(), now=now)
        self._forget_in_memory(user_id)
        self._discard_files(erasure)
        return erasure

    async def _resume(self, waiting: WaitingErasure, *, now: float) -> Erasure:
        """A round of an erasure under way; one asked from the CLI also empties this
        process's memory of the customer (only of data from before: nothing new is lost,
        the memory holds hints the database has too)."""
        erasure = await self.erasures.resume(waiting, self._key(), now=now)
        if waiting.in_memory:
            self._forget_in_memory(waiting.user_id)
        self._discard_files(erasure)
        return erasure

    def _forget_in_memory(self, user_id: int) -> None:
        self.s.preferences.forget(user_id)
        self.s.conversations.forget(user_id)
        self.s.threads.forget(user_id)
        self._ratings.forget(user_id)

    def _discard_files(self, erasure: Erasure) -> None:
        if self._cache is not None and erasure.files:
            deleted = self._cache.discard(erasure.files)
            if deleted:
                logger.info("Deleted %s erased files from MEDIA_CACHE_DIR", deleted)

    def _told(self, t: Messages, erasure: Erasure) -> str:
        """What the customer is told: done, what still waits, what the shop's backend keeps."""
        parts = [t("forgetme.done")]
        if erasure.pending:
            parts.append(t("forgetme.pending"))
        if erasure.open:
            parts.append(t("forgetme.open"))
        if erasure.remote_orders:
            orders = ", ".join(html.escape(order) for order in erasure.remote_orders)
            parts.append(t("forgetme.backend", orders=orders))
        return "\n\n".join(parts)

    async def _edit(self, update: Update, text: str) -> None:
        """Replaces the question (and its buttons) by the answer; a new message when the
        question can no longer be edited."""
        query = update.callback_query
        assert query is not None
        try:
            await query.edit_message_text(text, parse_mode=ParseMode.HTML)
        except BadRequest:
            with contextlib.suppress(BadRequest):
                await send(update, Reply(text))

    # -- rounds ----------------------------------------------------------------------------

    async def finish_erasures(self, context: ContextTypes.DEFAULT_TYPE | None = None) -> int:
        """Continues the erasures under way (a complaint registered, finished or told since,
        or an operator's `customer forget`), each only on data from before its request;
        returns how many are complete now (they are not run again)."""
        now = self.s.clock()
        if not await self.s.leases.acquire(
            "erasures", self.s.holder, now=now, until=now + ROUND_SECONDS
        ):
            return 0
        complete = 0
        try:
            for waiting in await self.erasures.waiting():
                erasure = await self._resume(waiting, now=now)
                complete += erasure.complete
        finally:
            await self.s.leases.release("erasures", self.s.holder)
        return complete

    async def retention(self, context: ContextTypes.DEFAULT_TYPE | None = None) -> int:
        """RETENTION_DAYS: anonymises finished complaints untouched that long and deletes older
        messages sent; returns how many complaints it anonymised."""
        days = self.s.settings.retention_days
        if days is None:
            return 0
        now = self.s.clock()
        if not await self.s.leases.acquire(
            "retention", self.s.holder, now=now, until=now + ROUND_SECONDS
        ):
            return 0
        before = now - days * DAY_SECONDS
        total = 0
        try:
            while True:
                done = await self.data.anonymise_finished(before=before, key=self._key(), now=now)
                total += done
                if done < RETENTION_BATCH:
                    break
            pruned = await self.data.prune_deliveries(before=before)
            await self.s.updates.prune()
        finally:
            await self.s.leases.release("retention", self.s.holder)
        logger.info("Retention: %s complaints anonymised, %s old messages deleted", total, pruned)
        return total
