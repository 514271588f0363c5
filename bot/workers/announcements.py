"""This module contains Announcements: what each outcome owes, to the customer and operators.

The customer's message comes in their language (their /language choice, else the language
their complaint was written in); the operators' post, when there is an operator chat, follows.
"""

from __future__ import annotations

from collections.abc import Mapping

from bot.backends.base import BackendRejected, ComplaintStatus, Receipt
from bot.i18n import Messages, Translator
from bot.messages import results
from bot.messages.operator_posts import OperatorPosts
from bot.storage.customers import CustomerPreferences
from bot.storage.deliveries import Delivery, NewDelivery
from bot.storage.ledger import LedgerEntry, QuarantinedRow


class Announcements:
    """Builds the messages owed for each outcome; nothing here sends or writes."""

    def __init__(
        self,
        translator: Translator,
        categories: Mapping[str, str],
        preferences: CustomerPreferences,
        operator: OperatorPosts | None,
        *,
        resolutions: Mapping[str, str] | None = None,
    ) -> None:
        self._translator = translator
        self._categories = categories
        self._resolutions = resolutions
        self._preferences = preferences
        self._operator = operator

    async def refresh(self, entry: LedgerEntry) -> None:
        """Reads the customer's choices afresh (on a database several instances share)."""
        await self._preferences.refresh(entry.user_id)

    def messages_for(self, entry: LedgerEntry) -> Messages:
        """The customer's catalogue for a complaint."""
        chosen = self._preferences.get(entry.user_id).language
        return self._translator.for_language(chosen or entry.language)

    def registered(self, entry: LedgerEntry, receipt: Receipt) -> list[NewDelivery]:
        """The card with the number, and the operators' post (with the complaint's files)."""
        t = self.messages_for(entry)
        owed = [
            results.card(
                t, entry, receipt, self._categories, self._resolutions, write=self._conversing
            )
        ]
        if self._operator is not None:
            owed.extend(self._operator.registered(entry, receipt))
        return owed

    def submitting(self, entry: LedgerEntry) -> list[NewDelivery]:
        """ "Submitting…" while the backend takes its time."""
        notice = results.submitting(self.messages_for(entry), entry)
        return [notice] if notice is not None else []

    def delayed(self, entry: LedgerEntry) -> list[NewDelivery]:
        """Saved, and registered when the backend is back."""
        return [results.delayed(self.messages_for(entry), entry)]

    def outcome_unknown(self, entry: LedgerEntry, detail: str) -> list[NewDelivery]:
        """Set aside for an operator: the customer hears it is delayed (once), the operators
        what to check."""
        owed = [] if entry.told_delayed else self.delayed(entry)
        if self._operator is not None:
            owed.append(self._operator.outcome_unknown(entry, detail))
        return owed

    def rejected(self, entry: LedgerEntry, error: BackendRejected) -> list[NewDelivery]:
        """Why the backend refused it, and the operators' post."""
        owed = [results.rejected(self.messages_for(entry), entry, error.reason, error.field)]
        if self._operator is not None:
            owed.append(self._operator.rejected(entry, error))
        return owed

    def failed(self, entry: LedgerEntry, detail: str) -> list[NewDelivery]:
        """Given up on the backend, and the operators' post."""
        owed = [results.failed(self.messages_for(entry), entry)]
        if self._operator is not None:
            owed.append(self._operator.failed(entry, detail))
        return owed

    def status_changed(self, entry: LedgerEntry, status: ComplaintStatus) -> list[NewDelivery]:
        """A new status, unless the customer turned notifications off."""
        if entry.chat_id == 0:
            return []  # the customer was forgotten (/forgetme): nobody to tell
        if not self._preferences.get(entry.user_id).notifications:
            return []
        t = self.messages_for(entry)
        return [results.status_changed(t, entry, status, write=self._conversing)]

    def withdrawal(self, entry: LedgerEntry, outcome: str, detail: str = "") -> list[NewDelivery]:
        """A withdrawal's outcome (`done`, `handed_over`, `failed`): the customer's message
        (unless they were forgotten), and the operators' post."""
        owed = []
        if entry.chat_id != 0:
            owed.append(results.withdrawal(self.messages_for(entry), entry, f"withdraw.{outcome}"))
        if self._operator is not None:
            owed.append(self._operator.withdrawn(entry, outcome, detail))
        return owed

    @property
    def _conversing(self) -> bool:
        """Whether customers can write to operators about a complaint (an operator chat)."""
        return self._operator is not None

    def quarantined(self, row: QuarantinedRow) -> list[NewDelivery]:
        """A ledger row set aside: the operators must look at it."""
        return [self._operator.quarantined(row)] if self._operator is not None else []

    def undelivered(self, delivery: Delivery, reason: str) -> list[NewDelivery]:
        """A message given up: the operators are told."""
        if self._operator is None:
            return []
        post = self._operator.undelivered(delivery, reason)
        return [post] if post is not None else []
