"""Every transcript in tests/transcripts/ replayed through the real Application.

Transcripts marked `loopback: true` also run against `python -m bot` as a separate process,
polling a loopback Bot API over HTTP: start-up, networking and shutdown included.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.loopback.telegram import LoopbackTelegram
from tests.helpers.driver import BotHarness, FakeClock, make_settings
from tests.helpers.targets import InProcessTarget, ProcessTarget
from tests.helpers.transcript import (
    ScriptedHttp,
    all_transcripts,
    load_transcript,
    prepare_telegram,
    replay,
)

TRANSCRIPTS = all_transcripts()
LOOPBACK = [path for path in TRANSCRIPTS if load_transcript(path).loopback]


def test_enough_transcripts_ship() -> None:
    assert len(TRANSCRIPTS) >= 15


@pytest.mark.parametrize("path", TRANSCRIPTS, ids=lambda p: p.stem)
async def test_transcript(path: Path, tmp_path: Path) -> None:
    transcript = load_transcript(path)
    uses_http = transcript.settings.get("complaint_backend", "local") != "local"
    http = ScriptedHttp() if uses_http else None
    settings = make_settings(tmp_path / "bot.sqlite3", **transcript.settings)
    clock = FakeClock()
    telegram = LoopbackTelegram(clock=clock)
    prepare_telegram(transcript, telegram)
    harness = BotHarness(
        settings, http_client=http.client() if http else None, clock=clock, telegram=telegram
    )
    await harness.start()
    try:
        await replay(transcript, InProcessTarget(harness, http))
    finally:
        await harness.stop()


@pytest.mark.parametrize("path", LOOPBACK, ids=lambda p: p.stem)
async def test_transcript_against_the_bot_process(path: Path, tmp_path: Path) -> None:
    transcript = load_transcript(path)
    target = ProcessTarget(tmp_path, transcript.settings)
    prepare_telegram(transcript, target.telegram)
    await target.start()
    try:
        await replay(transcript, target)
    finally:
        await target.stop()
