"""The console as a person uses it: Ctrl-C, numbers, and recordings that replay anywhere."""

from __future__ import annotations

import asyncio
import signal
import time
from pathlib import Path

import yaml

from bot.storage.sqlite import SqliteDatabase
from tests.helpers.driver import BotHarness
from tests.helpers.processes import BotProcess, until
from tests.helpers.targets import InProcessTarget
from tests.helpers.transcript import load_transcript, replay, transcript_settings


async def _console(tmp_path: Path, *args: str, **settings: object) -> BotProcess:
    process = BotProcess(tmp_path, {"telegram_bot_token": "", **settings}, "console")
    await process.start("console", *args, stdin=True)
    await until(lambda: "Hello Ada" in process.output(), "the greeting")
    return process


async def test_ctrl_c_leaves_at_once_and_keeps_the_recording(tmp_path: Path) -> None:
    recording = tmp_path / "session.yaml"
    console = await _console(tmp_path, "--record", str(recording))
    await console.type("/complaint")
    await until(lambda: "order ID" in console.output(), "the first question")
    started = time.monotonic()
    assert await console.stop(signal.SIGINT) == 0
    assert time.monotonic() - started < 3
    assert "Traceback" not in console.output()
    assert f"Recorded the session in {recording}" in console.output()
    steps = yaml.safe_load(recording.read_text())["steps"]
    assert {"user": "/complaint"} in steps


async def test_a_number_without_such_a_button_is_said_not_sent(tmp_path: Path) -> None:
    console = await _console(tmp_path)
    await console.type("9")
    await until(lambda: "there is no button 9: type 1 to 1" in console.output(), "the hint")
    await console.type("/quit")
    assert await console.exit_status() == 0
    assert "I did not understand" not in console.output()


async def test_a_recording_replays_whatever_the_console_database_held(tmp_path: Path) -> None:
    """Recorded on a database where the console's customer already chose Czech and filed a
    complaint, and with a draft closed after a pause: the recording replays on a fresh bot."""
    database = SqliteDatabase(tmp_path / "data" / "complaints.sqlite3")
    await database.open()
    await database.execute(
        "INSERT INTO customers (user_id, language, notifications, updated_at) "
        "VALUES (424242, 'cs', 1, 0)"
    )
    await database.close()
    recording = tmp_path / "session.yaml"
    console = await _console(
        tmp_path,
        "--record",
        str(recording),
        database_path=tmp_path / "data" / "complaints.sqlite3",
        conversation_timeout_minutes=0.05,
    )
    await console.type("/complaint")
    await until(lambda: "order ID" in console.output(), "the first question (in English)")
    await until(lambda: "closed" in console.output(), "the draft closed after 3 s", seconds=15)
    await console.type("/mycomplaints")
    await until(lambda: "not raised any complaints" in console.output(), "the empty list")
    await console.type("/quit")
    assert await console.exit_status() == 0

    transcript = load_transcript(recording)
    assert transcript.settings["conversation_timeout_minutes"] == "0.05"
    assert any(kind == "wait" for kind, _ in transcript.steps)
    harness = BotHarness(transcript_settings(transcript, tmp_path / "replay.sqlite3"))
    await harness.start()
    try:
        await replay(transcript, InProcessTarget(harness, None))
    finally:
        await harness.stop()
    await asyncio.sleep(0)
