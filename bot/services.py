"""This module contains Services: what handlers need, built once by the composition root."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeAlias

from telegram import User
from telegram.ext import Application, ContextTypes, ExtBot, JobQueue

from bot.backends.base import ComplaintBackend
from bot.complaint import Customer
from bot.concurrency import CustomerLocks
from bot.config import Settings
from bot.i18n import Messages, Translator, language_tag
from bot.media_links import MediaLinks
from bot.storage.conversations import ConversationStore
from bot.storage.customers import CustomerPreferences
from bot.storage.database import Database
from bot.storage.leases import Leases
from bot.storage.ledger import Ledger
from bot.storage.threads import ThreadStore
from bot.storage.updates import UpdateLog
from bot.workers.delivery import DeliveryWorker
from bot.workers.outbox import OutboxWorker

BotApplication: TypeAlias = Application[
    ExtBot[None],
    ContextTypes.DEFAULT_TYPE,
    dict[Any, Any],
    dict[Any, Any],
    dict[Any, Any],
    JobQueue[ContextTypes.DEFAULT_TYPE],
]


@dataclass(frozen=True, slots=True)
class Services:
    """The bot's collaborators, passed to handlers explicitly (no bot_data lookups)."""

    settings: Settings
    database: Database
    translator: Translator
    conversations: ConversationStore
    ledger: Ledger
    backend: ComplaintBackend
    outbox: OutboxWorker
    delivery: DeliveryWorker
    leases: Leases
    updates: UpdateLog
    locks: CustomerLocks
    preferences: CustomerPreferences
    threads: ThreadStore
    clock: Callable[[], float]
    # The name this process claims work under in the database.
    holder: str
    # Signed links to complaints' files (None unless MEDIA_BASE_URL is set).
    media_links: MediaLinks | None = None

    def language_of(self, user: User | None) -> str | None:
        """The customer's language: their /language choice, else their Telegram app's."""
        if user is None:
            return None
        return self.preferences.get(user.id).language or user.language_code

    def messages(self, user: User | None) -> Messages:
        """The catalogue for a customer's language."""
        return self.translator.for_language(self.language_of(user))

    def language_code(self, user: User) -> str:
        """The envelope's languageCode: the customer's language as a full tag (`cs-CZ`)."""
        return language_tag(self.language_of(user), self.settings.default_language)


def customer_of(user: User) -> Customer:
    """The domain's view of a Telegram user."""
    return Customer(
        user_id=user.id,
        first_name=user.first_name,
        last_name=user.last_name,
        username=user.username,
        language_code=user.language_code,
    )
