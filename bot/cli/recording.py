"""This module contains the Recorder: a console session written as a transcript that replays.

The session runs on an empty database of its own, so the transcript depends on nothing but
itself. What the bot says unprompted (a draft closed after a long pause) is recorded after a
`wait` step of the time that had passed, so the replay moves time on as the session did.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml

from bot.config import Settings
from bot.loopback.telegram import ApiCall

# Settings that change what the bot says in a conversation, kept in a recording that uses them.
CONVERSATION_SETTINGS = ("conversation_timeout_minutes", "complaint_categories", "order_id_pattern")


def conversation_settings(settings: Settings) -> dict[str, str]:
    """The conversation's settings that differ from their defaults, as a transcript names them."""
    defaults = Settings.model_fields
    kept = {}
    for name in CONVERSATION_SETTINGS:
        value = getattr(settings, name)
        field_info = defaults[name]
        default = field_info.get_default(call_default_factory=True)
        if value != default:
            kept[name.upper()] = (
                ",".join(f"{k}={v}" for k, v in value.items())
                if isinstance(value, dict)
                else f"{value:g}"
                if isinstance(value, float)
                else str(value)
            )
    return kept


def plain(text: str) -> str:
    """HTML as plain text."""
    return html.unescape(re.sub(r"<[^>]+>", "", text))


@dataclass
class Recorder:
    """Collects the session as transcript steps."""

    customer: dict[str, Any]
    clock: Any  # () -> float, seconds
    # The settings the conversation depends on, where they are not the defaults.
    settings: dict[str, str] = field(default_factory=dict)
    steps: list[dict[str, Any]] = field(default_factory=list)
    _last_action: float = 0.0
    _answering: bool = False

    def user(self, kind: str, value: str | dict[str, Any]) -> None:
        """The person typed a message or pressed a button."""
        self.steps.append({kind: value})
        self._last_action = self.clock()
        self._answering = True

    def answered(self) -> None:
        """The bot has gone quiet after the person's action: what comes next is unprompted."""
        self._answering = False

    def bot(self, call: ApiCall) -> None:
        """The bot showed something in the chat."""
        if not self._answering:
            waited = max(1, round(self.clock() - self._last_action))
            self.steps.append({"wait": f"{waited}s"})
            self._last_action = self.clock()
            self._answering = True
        if call.method == "answerCallbackQuery":
            self.steps.append({"bot": {"toast": call.text}})
            return
        first_line = plain(call.text).strip().splitlines()[0] if call.text.strip() else ""
        expected: dict[str, Any] = {"text_contains": first_line, "buttons": call.buttons}
        if call.method == "sendPhoto":
            expected["photo"] = True
        self.steps.append({"bot": expected})

    def write(self, path: Path) -> None:
        """Writes the transcript (YAML)."""
        when = datetime.now(tz=UTC).strftime("%Y-%m-%d %H:%M UTC")
        document: dict[str, Any] = {"title": f"Recorded in the console on {when}"}
        if self.settings:
            document["settings"] = self.settings
        document["customer"] = self.customer
        document["steps"] = self.steps
        path.write_text(yaml.safe_dump(document, allow_unicode=True, sort_keys=False), "utf-8")
