"""This module contains the Recorder: a console session written as a transcript that replays.

The session runs on an empty database of its own, so the transcript depends on nothing but
itself. What the bot says unprompted (a draft closed after a long pause) is recorded after a
`wait` step of the time that had passed, so the replay moves time on as the session did.
"""

from __future__ import annotations

import html
import json
import re
import tempfile
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml

from bot.config import Settings
from bot.loopback.telegram import ApiCall

# The settings that shape a conversation: a recording names each of them as the session had
# it (not only where it differs from a default, since the tests' defaults are not the shop's).
CONVERSATION_SETTINGS = (
    "complaint_categories",
    "order_id_pattern",
    "photo_categories",
    "ask_photos",
    "complaint_resolutions",
    "ask_contact",
    "conversation_timeout_minutes",
    "default_language",
    "operator_chat_id",
    "operator_hours",
    "follow_ups_per_hour",
)
# A recording's `defaults:`: settings it does not name take the shipped defaults on replay.
SHIPPED_DEFAULTS = "shipped"


def conversation_settings(settings: Settings) -> dict[str, str]:
    """Every setting that shapes the conversation, as the session had it, written as the
    environment gives it (a transcript's `settings:`); unset ones are left out."""
    kept: dict[str, str] = {}
    for name in CONVERSATION_SETTINGS:
        value: Any = getattr(settings, name)
        if name == "photo_categories" and value is None:
            value = sorted(settings.photo_category_codes) or None
        if value is None:
            continue
        kept[name.upper()] = setting_text(value)
    return kept


def setting_text(value: object) -> str:
    """A setting's value as an environment variable holds it."""
    if isinstance(value, dict):
        if any(("," in f"{k}{v}") or ("=" in f"{k}{v}") for k, v in value.items()):
            return json.dumps(value, ensure_ascii=False)
        return ",".join(f"{k}={v}" for k, v in value.items())
    if isinstance(value, list | tuple | frozenset):
        return ",".join(str(item) for item in value)
    if isinstance(value, float):
        return f"{value:g}"
    text = getattr(value, "text", None)  # WorkingHours keeps the text it was read from
    return str(text) if isinstance(text, str) and text else str(value)


def stable_part(file_name: str) -> str:
    """What of a file's name a replay on another day finds again: `mydata-` of
    `mydata-2026-05-01.json` (the name up to its first digit), else the whole name."""
    match = re.match(r"\D+", file_name)
    return match[0] if match else file_name


def record_path_problem(path: Path, *, force: bool) -> str | None:
    """Why a recording could not be written at `path` once the session is over (None: it can
    be), so that nobody types a whole session for nothing."""
    if path.is_dir():
        return f"{path} is a folder; name a file in it, e.g. {path / 'session.yaml'}"
    if path.exists() and not force:
        return f"{path} exists; add --force to overwrite it"
    folder = path.parent
    if not folder.is_dir():
        return f"{path}: the folder {folder} does not exist"
    try:
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".recording-"):
            pass
    except OSError as err:
        return f"{path}: the folder {folder} cannot be written ({err.strerror})"
    return None


def plain(text: str) -> str:
    """HTML as plain text."""
    return html.unescape(re.sub(r"<[^>]+>", "", text))


@dataclass
class Recorder:
    """Collects the session as transcript steps."""

    customer: dict[str, Any]
    clock: Any  # () -> float, seconds
    # The settings the conversation depends on (conversation_settings).
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

    def bot(self, call: ApiCall, file_name: str | None = None) -> None:
        """The bot showed something in the chat (`file_name`: of the file it sent)."""
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
        if call.method == "sendDocument":
            expected = {"document": {"name": stable_part(file_name or "")}, **expected}
        self.steps.append({"bot": expected})

    def write(self, path: Path) -> None:
        """Writes the transcript (YAML)."""
        when = datetime.now(tz=UTC).strftime("%Y-%m-%d %H:%M UTC")
        document: dict[str, Any] = {"title": f"Recorded in the console on {when}"}
        # What it does not name replays with the shipped defaults, not the tests' own.
        document["defaults"] = SHIPPED_DEFAULTS
        if self.settings:
            document["settings"] = self.settings
        document["customer"] = self.customer
        document["steps"] = self.steps
        path.write_text(yaml.safe_dump(document, allow_unicode=True, sort_keys=False), "utf-8")
