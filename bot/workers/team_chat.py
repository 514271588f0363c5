"""This module contains TeamChat: whether the operator chat takes the bot's posts, and why not.

A post to the operator chat that Telegram refuses because of the chat (the bot was removed, it
may not post, the complaint's topic was deleted) is no fault of the post: it is kept and tried
again, slowly, until the chat works again (a week at most), instead of being given up. The
change of state is logged once and shown in /metrics, so an operator notices without the log
filling up.
"""

from __future__ import annotations

import logging

from bot.metrics import Metrics
from bot.workers.backoff import RetryPolicy

logger = logging.getLogger(__name__)

# Someone has to notice and fix the chat: try every few minutes, for up to a week.
TEAM_CHAT_RETRY = RetryPolicy(base_seconds=30.0, max_seconds=600.0, give_up_seconds=7 * 86400.0)
# Telegram's words (lower case) when the bot may not post in a chat it is still in.
_NO_RIGHTS = ("not enough rights", "chat_write_forbidden", "have no rights")


def refuses_posting(description: str) -> bool:
    """Whether a 400 answer means the chat does not let the bot post (not the post's fault)."""
    text = description.lower()
    return any(words in text for words in _NO_RIGHTS)


def topic_deleted(description: str) -> bool:
    """Whether a 400 answer means the forum topic sent to is gone."""
    text = description.lower()
    return "thread not found" in text or "topic_deleted" in text or "topic_closed" in text


class TeamChat:
    """The operator chat's state as the delivery worker sees it; logs and counts changes."""

    def __init__(self, chat_id: int, metrics: Metrics | None = None) -> None:
        self.chat_id = chat_id
        self._metrics = metrics
        self._refusing: str | None = None  # why, while the chat refuses the bot's posts
        if metrics is not None:
            metrics.operator_chat_up.set(1)

    @property
    def refusing(self) -> bool:
        return self._refusing is not None

    def refused(self, reason: str, description: str) -> None:
        """Telegram refused a post because of the chat (`reason`: removed, no_rights)."""
        if self._metrics is not None:
            self._metrics.operator_chat_refusals.labels(reason).inc()
            self._metrics.operator_chat_up.set(0)
        if self._refusing == reason:
            return
        self._refusing = reason
        logger.error(
            "The operator chat (OPERATOR_CHAT_ID) refuses the bot's posts (%s): they wait and "
            "are tried again every few minutes; add the bot back with the right to post",
            description,
        )

    def works(self) -> None:
        """Telegram took a post: the chat works (again)."""
        if self._refusing is None:
            return
        self._refusing = None
        if self._metrics is not None:
            self._metrics.operator_chat_up.set(1)
        logger.warning(
            "The operator chat takes the bot's posts again; the posts that waited go out in order"
        )

    def topic_lost(self) -> None:
        """A complaint's topic was deleted (it gets a new one)."""
        if self._metrics is not None:
            self._metrics.operator_chat_refusals.labels("topic_deleted").inc()
