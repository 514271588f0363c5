"""The console shows what Telegram shows: files the bot sends, every button, and no log lines
in the middle of the conversation."""

from __future__ import annotations

import io
import json
import logging
import sys
import tempfile
from pathlib import Path
from typing import Any

import pytest

from bot.cli.console import console_logging, run_console
from tests.helpers.driver import make_settings

TO_CONTACT = ["/complaint", "748596", "The kettle leaks from the bottom.", "2"]


async def _chat(
    tmp_path: Path, lines: list[str], record: Path | None = None, **settings_: Any
) -> str:
    settings = make_settings(tmp_path / "console.sqlite3", telegram_bot_token=None, **settings_)
    stdin = io.StringIO("".join(f"{line}\n" for line in [*lines, "/quit"]))
    out = io.StringIO()
    assert await run_console(settings, record=record, stdin=stdin, out=out) == 0
    return out.getvalue()


async def test_the_file_mydata_sends_is_saved_beside_the_recording_and_named(
    tmp_path: Path,
) -> None:
    recording = tmp_path / "session.yaml"
    screen = await _chat(tmp_path, ["/mydata"], record=recording)
    (saved,) = (tmp_path / "session.files").iterdir()
    assert saved.name.startswith("mydata-") and saved.suffix == ".json"
    assert f"[document {saved.name}, saved in {saved}]" in screen
    assert json.loads(saved.read_text())  # the customer's data, as Telegram would deliver it


async def test_without_a_recording_the_file_goes_to_a_folder_named_on_the_screen(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))  # the system's temporary folder
    screen = await _chat(tmp_path, ["/mydata"])
    line = next(line for line in screen.splitlines() if "[document mydata-" in line)
    saved = _json_file(line.split(", saved in ")[1].rstrip("]"))
    assert saved.parent.parent == tmp_path


def _json_file(name: str) -> Path:
    """The file, checked to hold JSON."""
    path = Path(name)
    assert json.loads(path.read_text())
    return path


async def test_the_contact_step_shows_skip_and_k2_presses_it(tmp_path: Path) -> None:
    screen = await _chat(tmp_path, [*TO_CONTACT, "k2"], ask_contact="optional")
    assert "keyboard: [k] 📱 Share my phone number  [k2] Skip" in screen
    summary = screen.split("Please check your complaint")[1]
    assert "Contact:" not in summary and "[1] Submit" in summary


async def test_the_log_goes_to_the_file_named_at_start_not_to_the_screen(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    recording = tmp_path / "session.yaml"
    typed = ["/complaint", "748596", "The kettle leaks from the bottom.", "1", "1"]
    screen = await _chat(tmp_path, typed, record=recording)
    log = tmp_path / "session.log"
    assert f"the log goes to {log}" in screen.splitlines()[0]
    assert "Complaint 1 confirmed by user 424242" in log.read_text()
    assert "confirmed by user" not in screen


def test_without_a_file_log_lines_go_above_the_prompt(monkeypatch: pytest.MonkeyPatch) -> None:
    """prompt_toolkit's patch_stdout swaps sys.stderr for a stream that prints above the
    prompt; a handler made before it must write there, not under the prompt."""
    handler = logging.StreamHandler(sys.stderr)
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        with console_logging(None):
            above_the_prompt = io.StringIO()
            monkeypatch.setattr(sys, "stderr", above_the_prompt)
            logging.getLogger("bot.test").warning("Telegram could not be reached")
            logging.getLogger("bot.test").info("a progress line")
            monkeypatch.undo()
    finally:
        root.removeHandler(handler)
    assert above_the_prompt.getvalue() == "Telegram could not be reached\n"
