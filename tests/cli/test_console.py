"""The console: a person chats with the real bot in a terminal, and can record the session."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

from bot.cli.console import run_console
from tests.helpers.driver import BotHarness, make_settings
from tests.helpers.targets import InProcessTarget
from tests.helpers.transcript import load_transcript, replay

TYPED = ["/complaint", "748596", "The kettle leaks from the bottom.", "1", "1", "/mycomplaints"]


async def _chat(
    tmp_path: Path, lines: list[str], record: Path | None = None, **settings_: Any
) -> str:
    settings = make_settings(tmp_path / "console.sqlite3", telegram_bot_token=None, **settings_)
    stdin = io.StringIO("".join(f"{line}\n" for line in [*lines, "/quit"]))
    out = io.StringIO()
    assert await run_console(settings, record=record, stdin=stdin, out=out) == 0
    return out.getvalue()


async def test_a_complaint_filed_in_the_console(tmp_path: Path) -> None:
    screen = await _chat(tmp_path, TYPED)
    assert "Hello Ada" in screen
    assert "[1] Raise a complaint" in screen
    assert "[1] Product-related  [2] Delivery  [3] Payment  [4] Other" in screen
    assert "[1] Submit  [2] Edit  [3] Cancel" in screen
    assert "Complaint number: 100001" in screen
    assert "[1] Check status  [2] New complaint" in screen
    assert "order 748596" in screen  # /mycomplaints
    assert "<b>" not in screen  # HTML is rendered, not shown


async def test_a_recorded_session_replays_green(tmp_path: Path) -> None:
    recording = tmp_path / "recorded.yaml"
    await _chat(tmp_path, TYPED, record=recording)
    transcript = load_transcript(recording)
    assert ("press", "Submit") in transcript.steps

    harness = BotHarness(make_settings(tmp_path / "replay.sqlite3"))
    await harness.start()
    try:
        await replay(transcript, InProcessTarget(harness, None))
    finally:
        await harness.stop()


async def test_the_share_my_phone_number_button_is_pressed_with_k(tmp_path: Path) -> None:
    recording = tmp_path / "contact.yaml"
    typed = ["/complaint", "748596", "The kettle leaks from the bottom.", "2", "k", "1"]
    screen = await _chat(tmp_path, typed, record=recording, ask_contact="optional")
    assert "keyboard: [k] 📱 Share my phone number" in screen
    assert "Contact: +420777123456" in screen  # the summary
    assert "Complaint number: 100001" in screen

    transcript = load_transcript(recording)
    assert ("send", {"kind": "contact", "own": True}) in transcript.steps
    harness = BotHarness(make_settings(tmp_path / "replay.sqlite3", ask_contact="optional"))
    await harness.start()
    try:
        await replay(transcript, InProcessTarget(harness, None))
    finally:
        await harness.stop()
